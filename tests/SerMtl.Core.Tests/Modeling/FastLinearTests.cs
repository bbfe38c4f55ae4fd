using SerMtl.Kernels;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

public class FastLinearTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Apply_Float32_EqualsLinearWithTheSameGradients(int threads)
    {
        var previous = get_num_threads();
        set_num_threads(threads); // one thread takes the dilated-kernel route into oneDNN
        try
        {
            manual_seed(1);
            using var scope = NewDisposeScope();
            var x = randn(3, 7, 24).requires_grad_(true);
            var w = randn(40, 24).requires_grad_(true);
            var b = randn(40).requires_grad_(true);
            var upstream = randn(3, 7, 40);

            var y = FastLinear.Apply(x, w, b);
            Assert.Equal(new long[] { 3, 7, 40 }, y.shape);
            Assert.True(y.is_contiguous());
            (y * upstream).sum().backward();
            var (gx, gw, gb) = (x.grad!.clone(), w.grad!.clone(), b.grad!.clone());
            foreach (var t in new[] { x, w, b }) t.grad!.zero_();

            var expected = nn.functional.linear(x, w, b);
            (expected * upstream).sum().backward();
            TensorAssert.Close(expected, y, 1e-4, "output");
            TensorAssert.Close(x.grad!, gx, 1e-4, "input gradient");
            TensorAssert.Close(w.grad!, gw, 1e-4, "weight gradient");
            TensorAssert.Close(b.grad!, gb, 1e-4, "bias gradient");
        }
        finally
        {
            set_num_threads(previous);
        }
    }

    [Fact]
    public void Apply_NoBiasTwoDimensionalAndBFloat16_EqualLinear()
    {
        manual_seed(2);
        using var scope = NewDisposeScope();
        var x = randn(5, 16);
        var w = randn(8, 16);
        TensorAssert.Close(nn.functional.linear(x, w), FastLinear.Apply(x, w, null), 1e-4, "float32 [N, in]");
        var xb = x.to(ScalarType.BFloat16);
        var wb = w.to(ScalarType.BFloat16);
        var yb = FastLinear.Apply(xb, wb, null);
        Assert.Equal(ScalarType.BFloat16, yb.dtype);
        TensorAssert.Close(nn.functional.linear(xb, wb), yb, 1e-2, "bfloat16");
    }

    [Fact]
    public void Apply_EmptyBatch_GivesAnEmptyResult()
    {
        using var scope = NewDisposeScope();
        var y = FastLinear.Apply(zeros(0, 5, 16), randn(8, 16), randn(8));
        Assert.Equal(new long[] { 0, 5, 8 }, y.shape);
    }

    [Fact]
    public void Apply_UnderMixedPrecision_ComputesInBFloat16AndGivesFloat32Gradients()
    {
        manual_seed(3);
        using var scope = NewDisposeScope();
        var x = randn(2, 5, 16);
        var w = randn(8, 16).requires_grad_(true);
        var b = randn(8).requires_grad_(true);
        Tensor y;
        using (MixedPrecision.Use(ScalarType.BFloat16))
            y = FastLinear.Apply(x, w, b);
        Assert.Null(MixedPrecision.ComputeType);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        var expected = nn.functional.linear(x, w, b);
        // bfloat16 keeps 8 significant bits: compare relative to the output's scale.
        var tolerance = 2e-2 * expected.abs().max().item<float>();
        TensorAssert.Close(expected, y.to(ScalarType.Float32), tolerance, "mixed-precision output");
        y.to(ScalarType.Float32).sum().backward();
        Assert.Equal(ScalarType.Float32, w.grad!.dtype);
        Assert.Equal(ScalarType.Float32, b.grad!.dtype);
        TensorAssert.Close(x.sum([0, 1]).unsqueeze(0).expand(8, 16), w.grad!, 0.1, "weight gradient = column sums of x");
    }

    [Fact]
    public void MixedPrecisionUse_RejectsFullPrecisionTypesAndRestoresTheOuterScope()
    {
        Assert.Throws<ArgumentException>(() => MixedPrecision.Use(ScalarType.Float64));
        using (MixedPrecision.Use(ScalarType.BFloat16))
        {
            using (MixedPrecision.Use(ScalarType.Float16))
                Assert.Equal(ScalarType.Float16, MixedPrecision.ComputeType);
            Assert.Equal(ScalarType.BFloat16, MixedPrecision.ComputeType);
        }
        Assert.Null(MixedPrecision.ComputeType);
    }
}
