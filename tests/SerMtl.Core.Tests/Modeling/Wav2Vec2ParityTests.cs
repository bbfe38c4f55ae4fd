using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>Parity with the reference implementation's outputs committed beside each fixture checkpoint.</summary>
public class Wav2Vec2ParityTests
{
    private const double Tolerance = 1e-4;

    /// <summary>Every fixture checkpoint in each weights format it is committed in.</summary>
    public static TheoryData<string, string> Checkpoints => new()
    {
        { "tiny-group", "model.safetensors" },
        { "tiny-group", "pytorch_model.bin" },
        { "tiny-layer", "model.safetensors" },
        { "tiny-layer", "pytorch_model.bin" },
        { "tiny-views", "pytorch_model.bin" },
        // Convolution widths that are not multiples of 16 (libtorch's CPU convolution is wrong on some; see Convolution).
        { "tiny-odd-group", "model.safetensors" },
        { "tiny-odd-group", "pytorch_model.bin" },
        { "tiny-odd-layer", "model.safetensors" },
        { "tiny-odd-layer", "pytorch_model.bin" },
    };

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Forward_EachWavAlone_MatchesReference(string fixture, string weightsFile)
    {
        using var f = new ModelFixture(fixture, weightsFile);
        Assert.NotEmpty(f.Stems);
        using var _ = no_grad();
        for (var i = 0; i < f.Stems.Length; i++)
        {
            using var scope = NewDisposeScope();
            using var batch = WaveformBatch.Create([f.Waveforms[i]], f.Model.Preprocessing);
            using var output = f.Model.Forward(batch);
            TensorAssert.Close(f.ExpectedConvFeatures(f.Stems[i]), output.ExtractFeatures[0], Tolerance, $"{fixture}/{f.Stems[i]} conv features");
            TensorAssert.Close(f.ExpectedLastHiddenState(f.Stems[i]), output.LastHiddenState[0], Tolerance, $"{fixture}/{f.Stems[i]} last hidden state");
        }
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Forward_AllWavsInOnePaddedBatch_MatchReference(string fixture, string weightsFile)
    {
        using var f = new ModelFixture(fixture, weightsFile);
        Assert.True(f.Waveforms.Select(w => w.Length).Distinct().Count() > 1, "the fixture WAVs should differ in length so the batch is padded");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var batch = WaveformBatch.Create(f.Waveforms, f.Model.Preprocessing);
        using var output = f.Model.Forward(batch);
        var frames = output.FrameLengths.data<long>().ToArray();
        for (var i = 0; i < f.Stems.Length; i++)
        {
            TensorAssert.Close(f.ExpectedConvFeatures(f.Stems[i]), output.ExtractFeatures[i].narrow(0, 0, frames[i]), Tolerance, $"{fixture}/{f.Stems[i]} conv features (batched)");
            TensorAssert.Close(f.ExpectedLastHiddenState(f.Stems[i]), output.LastHiddenState[i].narrow(0, 0, frames[i]), Tolerance, $"{fixture}/{f.Stems[i]} last hidden state (batched)");
        }
    }
}
