using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Kernels;

/// <summary>
/// <c>y = x Wᵀ + b</c> through the fastest CPU kernel libtorch has for it, with the weight the caller's
/// <c>nn.Linear</c> owns (same parameter, so gradients and optimizer updates reach it and nothing can go stale).
/// </summary>
/// <remarks>
/// libtorch's float32 <c>linear</c>/<c>matmul</c> go to MKL's SGEMM, which on AMD CPUs takes a generic code path,
/// while the same product as a 1x1 convolution runs on oneDNN's JIT kernels, about three times as fast where this
/// was measured (README, Performance; <c>sermtl bench</c> prints torch's GEMM rate). So float32 products on the CPU are
/// written as a 1x1 <c>conv1d</c> over a view of the rows (no copy: x [N, in] viewed as [1, in, N] is the
/// convolution's channels-last input) with the weight viewed as [out, in, 1]. libtorch only sends a 1x1 convolution
/// to oneDNN with more than one thread unless it is dilated or strided, so on one thread the kernel is given
/// dilation 2, which changes nothing for a 1x1 kernel. bfloat16 <c>linear</c> already runs on oneDNN/AMX-class
/// kernels and stays as it is, as does every other dtype and device.
/// </remarks>
internal static class FastLinear
{
    /// <summary>
    /// x: [..., in]; weight: [out, in]; bias: [out] or null. Returns [..., out], contiguous. Inside
    /// <see cref="MixedPrecision.Use"/> float32 operands are cast to the compute type first.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        x = MixedPrecision.Cast(x);
        weight = MixedPrecision.Cast(weight);
        bias = MixedPrecision.CastOrNull(bias);
        if (x.device_type != DeviceType.CPU || x.dtype != ScalarType.Float32 || weight.dtype != ScalarType.Float32 || x.dim() < 2 || x.numel() <= Convolution.NativeConvolutionLimit)
            return nn.functional.linear(x, weight, bias).MoveToOuterDisposeScope();

        var inFeatures = x.shape[^1];
        var outFeatures = weight.shape[0];
        var rows = x.numel() / inFeatures;
        var outShape = x.shape.ToArray();
        outShape[^1] = outFeatures;
        var dilation = get_num_threads() == 1 ? 2L : 1L;
        var columns = x.reshape(1, rows, inFeatures).transpose(1, 2);                                    // [1, in, N] view
        var y = Convolution.Conv1d(columns, weight.unsqueeze(-1), bias, dilation: dilation)              // [1, out, N]
            .transpose(1, 2).reshape(outShape);                                                          // [..., out] view
        return y.contiguous().MoveToOuterDisposeScope();
    }
}
