using SerMtl.Kernels;
using SerMtl.Modeling;
using SerMtl.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// Gradient checkpointing recomputes each transformer layer in the backward pass; the loss, every gradient and the
/// random generator afterwards must be those of the plain pass, dropout, LayerDrop and padding included.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public class GradientCheckpointingTests
{
    private static SerMtlModel Model(bool preLayerNorm, bool wavLM = false)
    {
        Wav2Vec2Config Configure(Wav2Vec2Config c) => c with
        {
            DoStableLayerNorm = preLayerNorm,
            AttentionDropout = 0.2,
            HiddenDropout = 0.2,
            ActivationDropout = 0.2,
            LayerDrop = 0.3,
        };
        if (!wavLM) return TinyCorpus.Model(seed: 3, configure: Configure);
        // The WavLM fixture's backbone (its sequence-classification head dropped) under SerMtl's heads.
        random.manual_seed(3);
        return SerMtlModel.FromPretrained(Path.Combine(TestPaths.Fixtures, "wavlm", "tiny-wavlm-seqcls"),
            new SerMtlModelOptions { Labels = TinyCorpus.Labels, Configure = Configure });
    }

    /// <summary>The loss, each trainable parameter's gradient by name, and the generator's state after backward.</summary>
    private static (double Loss, Dictionary<string, Tensor> Gradients, Tensor RngAfter) Step(SerMtlModel model, bool checkpointing, ScalarType? compute = null)
    {
        model.Backbone.GradientCheckpointing = checkpointing;
        model.train();
        model.zero_grad();
        random.manual_seed(42);
        var waves = new[] { 8000, 5600 }.Select((n, i) => Enumerable.Range(0, n).Select(t => (float)Math.Sin(0.01 * t * (i + 1))).ToArray()).ToList();
        using var inputs = WaveformBatch.Create(waves, model.Backbone.Preprocessing);
        using var scope = NewDisposeScope();
        using var precision = compute is { } type ? MixedPrecision.Use(type) : null;
        using var output = model.Forward(inputs);
        var loss = output.EmotionLogits.pow(2).sum() + output.CtcLogits.log_softmax(-1).select(-1, 1).sum();
        loss.backward();
        var gradients = model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone().DetachFromDisposeScope());
        return (loss.item<float>(), gradients, random.get_rng_state().DetachFromDisposeScope());
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Backward_Checkpointed_GivesThePlainPassGradients(bool preLayerNorm, bool wavLM)
    {
        using var model = Model(preLayerNorm, wavLM);
        var plain = Step(model, checkpointing: false);
        var recomputed = Step(model, checkpointing: true);

        Assert.Equal(plain.Loss, recomputed.Loss);
        Assert.Equal(plain.Gradients.Keys.Order(), recomputed.Gradients.Keys.Order());
        Assert.Contains(plain.Gradients.Keys, k => k.Contains("encoder.layers.0.feed_forward", StringComparison.Ordinal));
        if (wavLM) // the position table gets its gradient through every layer, the recomputed ones included
            Assert.Contains(plain.Gradients.Keys, k => k.Contains("encoder.layers.0.attention.rel_attn_embed", StringComparison.Ordinal));
        foreach (var (name, expected) in plain.Gradients)
        {
            var difference = (expected - recomputed.Gradients[name]).abs().max().item<float>();
            var scale = expected.abs().max().item<float>();
            Assert.True(difference <= 1e-6 * Math.Max(1, scale), $"{name}: gradients differ by {difference} (largest {scale})");
        }
        Assert.True(plain.RngAfter.equal(recomputed.RngAfter).all().item<bool>(), "the generator ends in another state");
    }

    [Fact]
    public void Backward_CheckpointedInMixedPrecision_GivesThePlainPassGradients()
    {
        using var model = Model(preLayerNorm: false);
        var plain = Step(model, checkpointing: false, ScalarType.BFloat16);
        var recomputed = Step(model, checkpointing: true, ScalarType.BFloat16);

        Assert.Equal(plain.Loss, recomputed.Loss);
        foreach (var (name, expected) in plain.Gradients)
        {
            var difference = (expected - recomputed.Gradients[name]).abs().max().item<float>();
            Assert.True(difference <= 1e-6 * Math.Max(1, expected.abs().max().item<float>()), $"{name}: gradients differ by {difference}");
        }
    }

    [Fact]
    public void Backward_RecomputationFails_IsRethrownAfterBackwardInsteadOfEndingTheProcess()
    {
        // libtorch calls the recomputation from native code, which a managed exception must not cross. Make it fail
        // (the layers' weights change dtype between the forward and the backward pass) and expect the error after
        // backward() returns, from ThrowIfRecomputationFailed, and only once.
        using var model = Model(preLayerNorm: false);
        model.Backbone.GradientCheckpointing = true;
        model.train();
        using var inputs = WaveformBatch.Create([Enumerable.Range(0, 6400).Select(t => (float)Math.Sin(0.03 * t)).ToArray()], model.Backbone.Preprocessing);
        using var scope = NewDisposeScope();
        using var output = model.Forward(inputs);
        var loss = output.EmotionLogits.sum();
        model.Backbone.to(ScalarType.Float64);
        loss.backward();
        var error = Assert.ThrowsAny<Exception>(RecomputedLayer.ThrowIfRecomputationFailed);
        Assert.Contains("ouble", error.Message); // the dtype mismatch
        RecomputedLayer.ThrowIfRecomputationFailed(); // cleared
    }

    [Fact]
    public void Forward_Checkpointed_InferenceIsUnchanged()
    {
        using var model = Model(preLayerNorm: false);
        model.eval();
        using var inputs = WaveformBatch.Create([Enumerable.Range(0, 6400).Select(t => (float)Math.Cos(0.02 * t)).ToArray()], model.Backbone.Preprocessing);
        using var plain = model.Forward(inputs);
        model.Backbone.GradientCheckpointing = true;
        using var _ = inference_mode();
        using var checkpointed = model.Forward(inputs);
        Assert.True(plain.EmotionLogits.allclose(checkpointed.EmotionLogits, rtol: 1e-5, atol: 1e-6));
    }
}
