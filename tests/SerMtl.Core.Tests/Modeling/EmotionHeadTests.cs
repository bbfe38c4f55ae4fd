using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

public class EmotionHeadTests
{
    private const int Hidden = 12;

    [Theory]
    [InlineData(Pooling.Sum)]
    [InlineData(Pooling.Mean)]
    public void Forward_PaddedWithGarbage_EqualsEachUtteranceAlone(Pooling pooling)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var head = new EmotionHead(Hidden, classCount: 4, pooling);
        head.eval();
        var a = randn(1, 37, Hidden);
        var b = randn(1, 23, Hidden);

        // Batch of both, padded to 41 frames with huge values, NaN and infinity in the padding.
        var batch = full(2, 41, Hidden, float.NaN);
        batch[0, ..37] = a[0];
        batch[0, 37..] = 1e30f;
        batch[1, ..23] = b[0];
        batch[1, 23..30] = float.PositiveInfinity;
        var lengths = tensor(new long[] { 37, 23 });

        // Pooled vectors: bit-for-bit those of each utterance alone.
        var pooled = head.Pool(batch, lengths);
        Assert.True(Same(pooled[0], head.Pool(a, tensor(new long[] { 37 }))[0]));
        Assert.True(Same(pooled[1], head.Pool(b, tensor(new long[] { 23 }))[0]));

        // Logits: bit-for-bit those of the same batch padded with zeros; against each utterance alone only up to
        // the matrix product's rounding, which differs between a [1, H] and a [2, H] input whatever the padding.
        var logits = head.call(batch, lengths);
        var zeroPadded = batch.clone();
        zeroPadded[0, 37..] = 0f;
        zeroPadded[1, 23..] = 0f;
        Assert.True(Same(logits, head.call(zeroPadded, lengths)));
        Assert.True(allclose(logits[0], head.call(a, tensor(new long[] { 37 }))[0], rtol: 1e-6, atol: 1e-6));
        Assert.True(allclose(logits[1], head.call(b, tensor(new long[] { 23 }))[0], rtol: 1e-6, atol: 1e-6));
        Assert.True(logits.isfinite().all().item<bool>());
    }

    [Fact]
    public void Pool_SumAndMean_OverValidFramesOnly()
    {
        using var scope = NewDisposeScope();
        var hidden = arange(2 * 3 * Hidden, dtype: ScalarType.Float32).reshape(2, 3, Hidden);
        var lengths = tensor(new long[] { 2, 3 });
        using var sum = new EmotionHead(Hidden, 4, Pooling.Sum);
        using var mean = new EmotionHead(Hidden, 4, Pooling.Mean);
        var expectedSum = stack([hidden[0, ..2].sum(dim: 0), hidden[1].sum(dim: 0)]);
        Assert.True(Same(sum.Pool(hidden, lengths), expectedSum));
        Assert.True(allclose(mean.Pool(hidden, lengths), expectedSum / tensor(new float[] { 2, 3 }).unsqueeze(1)));
    }

    [Fact]
    public void Pool_ZeroLengthUtterance_IsZeros()
    {
        using var scope = NewDisposeScope();
        using var head = new EmotionHead(Hidden, 4, Pooling.Mean);
        var pooled = head.Pool(full(2, 5, Hidden, float.NaN), tensor(new long[] { 0, 0 }));
        Assert.Equal(0.0f, pooled.abs().max().item<float>());
    }

    [Fact]
    public void Forward_Gradient_ReachesValidFramesOnly()
    {
        using var scope = NewDisposeScope();
        using var head = new EmotionHead(Hidden, 4);
        var hidden = randn(1, 6, Hidden).requires_grad_();
        head.call(hidden, tensor(new long[] { 4 })).sum().backward();
        var grad = hidden.grad!;
        Assert.True(grad[0, ..4].abs().sum().item<float>() > 0);
        Assert.Equal(0.0f, grad[0, 4..].abs().sum().item<float>());
    }

    [Fact]
    public void Forward_LengthOutOfRange_ThrowsWithTheLengths()
    {
        using var head = new EmotionHead(Hidden, 4);
        var e = Assert.Throws<ArgumentException>(() => head.call(zeros(2, 5, Hidden), tensor(new long[] { 3, 6 })));
        Assert.Contains("[3, 6]", e.Message);
        Assert.Contains("[0, 5]", e.Message);
        Assert.Throws<ArgumentException>(() => head.call(zeros(2, 5, Hidden), tensor(new long[] { 3 })));
        Assert.Throws<ArgumentException>(() => head.call(zeros(2, 5, Hidden), tensor(new float[] { 3, 4 })));
    }

    [Fact]
    public void StateDict_HasOnlyWeightAndBias()
    {
        using var head = new EmotionHead(Hidden, 4);
        Assert.Equal(new[] { "bias", "weight" }, head.state_dict().Keys.Order());
        Assert.Equal(new long[] { 4, Hidden }, head.state_dict()["weight"].shape);
    }

    // Same shape and bit-for-bit equal values.
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
