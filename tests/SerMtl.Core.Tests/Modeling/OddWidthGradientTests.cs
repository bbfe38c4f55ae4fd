using SerMtl.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// Training through convolution widths that are not multiples of 16: every parameter's gradient of the float32 model
/// (feature encoder included, so its convolutions run backward) against the same model in float64, over a padded batch.
/// float64 runs on libtorch's reference kernels, so a float32 kernel that goes wrong in the backward pass shows here.
/// </summary>
public class OddWidthGradientTests
{
    [Theory]
    [InlineData("tiny-odd-group")]
    [InlineData("tiny-odd-layer")]
    public void Backward_PaddedBatch_EveryGradientMatchesTheFloat64Model(string fixture)
    {
        using var single = new ModelFixture(fixture, "model.safetensors");
        using var reference = new ModelFixture(fixture, "model.safetensors");
        reference.Model.to(ScalarType.Float64);
        manual_seed(5);
        using var outputGradient = randn(3, 64, single.Model.Config.HiddenSize); // b.wav has 64 frames, the longest

        var gradients = new List<Dictionary<string, Tensor>>();
        foreach (var model in new[] { single.Model, reference.Model })
        {
            model.eval(); // no dropout; autograd still on, so the training paths (SDPA, backward convolutions) run
            foreach (var p in model.parameters()) p.requires_grad_(true);
            using var scope = NewDisposeScope();
            using var batch = WaveformBatch.Create(single.Waveforms, model.Preprocessing);
            using var output = model.Forward(batch);
            (output.LastHiddenState * outputGradient.to(output.LastHiddenState.dtype)).sum().backward();
            gradients.Add(model.named_parameters().Where(p => p.parameter.grad is not null)
                .ToDictionary(p => p.name, p => p.parameter.grad!.to(ScalarType.Float64).MoveToOuterDisposeScope()));
        }

        var (ours, expected) = (gradients[0], gradients[1]);
        Assert.Equal(expected.Keys.Order(), ours.Keys.Order());
        Assert.Contains(ours.Keys, k => k.StartsWith("feature_extractor.conv_layers.3.conv", StringComparison.Ordinal));
        // Relative to each tensor's own scale, plus a floor relative to the largest gradient: some are zero in exact
        // arithmetic (the key bias: softmax ignores a shift shared by all keys) and float32 leaves rounding there.
        var largest = expected.Values.Max(g => g.abs().max().item<double>());
        foreach (var (name, reference64) in expected)
        {
            var scale = reference64.abs().max().item<double>();
            var diff = (ours[name] - reference64).abs().max().item<double>();
            Assert.True(diff <= 1e-3 * scale + 1e-5 * largest, $"{fixture} {name}: gradient differs from float64 by {diff:G3} (scale {scale:G3}, largest gradient {largest:G3})");
        }
        foreach (var t in gradients.SelectMany(g => g.Values)) t.Dispose();
    }
}
