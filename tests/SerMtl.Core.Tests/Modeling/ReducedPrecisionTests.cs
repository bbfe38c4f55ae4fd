using SerMtl.Kernels;
using SerMtl.Modeling;
using SerMtl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>bfloat16 inference (<c>model.to(BFloat16)</c>) and bfloat16 mixed-precision training of <see cref="SerMtlModel"/>.</summary>
public class ReducedPrecisionTests
{
    private static readonly string[] FourLabels = ["neutral", "happy", "angry", "sad"];

    private static float[][] Waveforms(int seed, params int[] lengths)
    {
        var rng = new Random(seed);
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    /// <summary>Max |a - b| relative to max |a|.</summary>
    private static double RelativeDifference(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        return (e - actual.to(ScalarType.Float64)).abs().max().item<double>() / e.abs().max().item<double>();
    }

    [Fact]
    public void ToBFloat16_PaddedFloat32Batch_RunsEndToEndCloseToFloat32()
    {
        manual_seed(4);
        using var model = SerMtlModel.FromPretrained(TestPaths.TinyGroup, new SerMtlModelOptions { Labels = FourLabels });
        model.eval();
        using var batch = WaveformBatch.Create(Waveforms(1, 12000, 5000, 7000), model.Backbone.Preprocessing);
        using var _ = no_grad();
        using var full = model.Forward(batch);
        model.to(ScalarType.BFloat16);
        using var half = model.Forward(batch); // float32 waveforms, converted by the backbone
        Assert.Equal(ScalarType.BFloat16, half.CtcLogits.dtype);
        Assert.Equal(full.FrameLengths.data<long>().ToArray(), half.FrameLengths.data<long>().ToArray());
        var ctc = RelativeDifference(full.CtcLogits, half.CtcLogits);
        var emotion = RelativeDifference(full.EmotionLogits, half.EmotionLogits);
        Assert.True(ctc < 0.1 && emotion < 0.1, $"relative difference to float32: CTC {ctc:G3}, emotion {emotion:G3}");

        // Padding still does not leak in bfloat16: each utterance alone gives what the batch gives it.
        var frames = half.FrameLengths.data<long>().ToArray();
        var waves = Waveforms(1, 12000, 5000, 7000);
        for (var i = 0; i < waves.Length; i++)
        {
            using var alone = model.Forward(WaveformBatch.Create([waves[i]], model.Backbone.Preprocessing));
            var d = RelativeDifference(alone.CtcLogits[0], half.CtcLogits[i].narrow(0, 0, frames[i]));
            Assert.True(d < 0.05, $"utterance {i}: batched vs alone {d:G3}");
        }
    }

    [Fact]
    public void MixedPrecisionTrainingStep_KeepsFloat32WeightsAndGradientsCloseToFloat32()
    {
        manual_seed(5);
        using var model = SerMtlModel.CreateFromScratch(
            Wav2Vec2Config.FromJsonFile(Path.Combine(TestPaths.TinyGroup, "config.json")) with
            {
                HiddenDropout = 0, AttentionDropout = 0, ActivationDropout = 0, FeatProjDropout = 0, FinalDropout = 0,
                LayerDrop = 0, ApplySpecAugment = false,
            },
            new SerMtlModelOptions { Labels = FourLabels });
        model.train();
        using var batch = WaveformBatch.Create(Waveforms(2, 9000, 6000), model.Backbone.Preprocessing);
        using var labels = tensor(new long[] { 1, 3 });
        using var targets = tensor(new long[] { 5, 6, 7, 8, 9, 10 }, [2, 3]);
        using var targetLengths = tensor(new long[] { 3, 2 });
        var loss = new MultiTaskLoss(0.1);

        Dictionary<string, Tensor> Gradients(bool mixed)
        {
            model.zero_grad();
            using var scope = NewDisposeScope();
            using (mixed ? MixedPrecision.Use(ScalarType.BFloat16) : null)
            {
                using var output = model.Forward(batch);
                Assert.Equal(ScalarType.Float32, output.CtcLogits.dtype);
                loss.Compute(output.EmotionLogits, labels, output.CtcLogits, output.FrameLengths, targets, targetLengths).Total.backward();
            }
            // masked_spec_embed gets no gradient with SpecAugment off.
            return model.named_parameters().Where(p => p.parameter.grad is not null)
                .ToDictionary(p => p.name, p => p.parameter.grad!.clone().MoveToOuterDisposeScope());
        }

        var full = Gradients(mixed: false);
        var mixed = Gradients(mixed: true);
        Assert.Equal(full.Keys, mixed.Keys);
        Assert.Equal(model.named_parameters().Count() - 1, full.Count);
        foreach (var (name, p) in model.named_parameters().Where(p => full.ContainsKey(p.name)))
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            Assert.Equal(ScalarType.Float32, mixed[name].dtype);
            Assert.True(mixed[name].isfinite().all().item<bool>(), $"{name}: non-finite gradient");
        }
        // The whole gradient points the same way as in float32.
        using var a = cat(full.Values.Select(g => g.flatten()).ToArray());
        using var b = cat(mixed.Values.Select(g => g.flatten()).ToArray());
        var cosine = (a.dot(b) / (a.norm() * b.norm())).item<float>();
        Assert.True(cosine > 0.98, $"cosine(float32 gradient, mixed gradient) = {cosine}");
        foreach (var g in full.Values.Concat(mixed.Values)) g.Dispose();
    }
}
