using SerMtl.Modeling;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// Parity with torchaudio at the real sizes of wav2vec2-base, wav2vec2-base-960h, wav2vec2-large-lv60 and
/// wav2vec2-large-xlsr-53: their real config.json (512-channel feature encoder, 768 / 1024 hidden, 12 / 24 layers, the
/// positional convolution's 16 groups and kernel 128) with seeded random weights, each WAV alone and all three in one
/// padded batch, within 1e-4 of the reference's scale. The checkpoints (3.1 GB) and their float64 reference outputs
/// are not committed: <c>tests/reference/realsize.py</c> writes them (Debian's torch and torchaudio, ~2 min on 2 cores)
/// into the folder named by <c>SERMTL_REALSIZE_DIR</c>, which <c>.ci/run</c> does. Without it the tests skip, unless
/// <c>SERMTL_REQUIRE_REALSIZE=1</c> (set by CI) makes a missing reference a failure.
/// </summary>
public class RealSizeParityTests(ITestOutputHelper output)
{
    /// <summary>Largest |difference| allowed, relative to the largest |value| of the reference tensor.</summary>
    private const double RelativeTolerance = 1e-4;

    public static TheoryData<string> Models => new()
    {
        "wav2vec2-base",
        "wav2vec2-base-960h",
        "wav2vec2-large-lv60",
        "wav2vec2-large-xlsr-53",
    };

    [RealSizeTheory]
    [MemberData(nameof(Models))]
    public void Forward_EachWavAloneAndInAPaddedBatch_MatchesTorchaudio(string name)
    {
        var directory = RealSizeTheoryAttribute.Directory(name);
        using var f = new ModelFixture(directory, "pytorch_model.bin");
        var config = f.Model.Config;
        Assert.All(config.ConvDim, width => Assert.Equal(512, width));
        Assert.Equal(name.Contains("large") ? 1024 : 768, config.HiddenSize);
        Assert.Equal((128, 16), (config.NumConvPosEmbeddings, config.NumConvPosEmbeddingGroups));
        Assert.Equal(3, f.Stems.Length);
        using var _ = no_grad();

        for (var i = 0; i < f.Stems.Length; i++)
        {
            using var scope = NewDisposeScope();
            using var batch = WaveformBatch.Create([f.Waveforms[i]], f.Model.Preprocessing);
            using var alone = f.Model.Forward(batch);
            Check(f, i, alone.ExtractFeatures[0], alone.LastHiddenState[0], $"{name}/{f.Stems[i]}");
        }

        using (var scope = NewDisposeScope())
        {
            using var batch = WaveformBatch.Create(f.Waveforms, f.Model.Preprocessing);
            using var batched = f.Model.Forward(batch);
            var frames = batched.FrameLengths.data<long>().ToArray();
            for (var i = 0; i < f.Stems.Length; i++)
                Check(f, i, batched.ExtractFeatures[i].narrow(0, 0, frames[i]), batched.LastHiddenState[i].narrow(0, 0, frames[i]), $"{name}/{f.Stems[i]} (batched)");
        }
    }

    private void Check(ModelFixture f, int index, Tensor convFeatures, Tensor lastHiddenState, string what)
    {
        foreach (var (expected, actual, part) in new[]
                 {
                     (f.ExpectedConvFeatures(f.Stems[index]), convFeatures, "conv features"),
                     (f.ExpectedLastHiddenState(f.Stems[index]), lastHiddenState, "last hidden state"),
                 })
        {
            Assert.True(expected.shape.SequenceEqual(actual.shape), $"{what} {part}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
            var scale = expected.abs().max().item<float>();
            var difference = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
            output.WriteLine($"{what} {part}: max |difference| {difference:G3}, {difference / scale:G3} of the scale {scale:G3}");
            Assert.True(difference <= RelativeTolerance * scale, $"{what} {part}: max |difference| {difference:G4} > {RelativeTolerance:G2} x {scale:G4}");
        }
    }
}

/// <summary>A theory over the real-size reference folders; skipped when they were not generated (see <see cref="RealSizeParityTests"/>).</summary>
internal sealed class RealSizeTheoryAttribute : TheoryAttribute
{
    private static readonly string? Root = Environment.GetEnvironmentVariable("SERMTL_REALSIZE_DIR") is { Length: > 0 } d ? d : null;

    public RealSizeTheoryAttribute()
    {
        if (Root is null && Environment.GetEnvironmentVariable("SERMTL_REQUIRE_REALSIZE") != "1")
            Skip = "SERMTL_REALSIZE_DIR is not set: generate the references with tests/reference/realsize.py (Debian's python3-torch and python3-torchaudio)";
    }

    /// <summary>The reference folder of <paramref name="name"/>; fails (not skips) when it is required and missing.</summary>
    public static string Directory(string name)
    {
        Assert.True(Root is not null, "SERMTL_REQUIRE_REALSIZE=1 but SERMTL_REALSIZE_DIR is not set");
        var path = Path.GetFullPath(Path.Combine(Root!, name));
        Assert.True(File.Exists(Path.Combine(path, "expected.safetensors")), $"no real-size reference in {path}: run tests/reference/realsize.py {Root}");
        return path;
    }
}
