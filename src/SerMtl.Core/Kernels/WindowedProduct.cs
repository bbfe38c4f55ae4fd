using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Kernels;

/// <summary>
/// A 1-D convolution (no padding, no bias) written as a product of the weight with the input's strided windows, one of
/// the paths <see cref="Convolution.Conv1d"/> picks: for small float32 single utterances (libtorch's NNPACK warning)
/// and the grouped positional convolution in bfloat16 without autograd (a slow kernel).
/// </summary>
internal static class WindowedProduct
{
    /// <summary>
    /// x: [B, C_in, L]; weight: [C_out, C_in / groups, K]. Returns [B, C_out, floor((L - K) / stride) + 1], the same as
    /// <c>conv1d(x, weight, stride: stride, groups: groups)</c>. The windows [B, groups, C_in / groups * K, T] are a
    /// copy unless C_in is 1, so callers keep B small for large inputs.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor weight, long stride, long groups)
    {
        using var scope = NewDisposeScope();
        var (batch, inChannels, length) = (x.shape[0], x.shape[1], x.shape[2]);
        var (outChannels, kernel) = (weight.shape[0], weight.shape[2]);
        var groupChannels = inChannels / groups;
        var frames = (length - kernel) / stride + 1;
        var windows = x.view(batch, groups, groupChannels, length).unfold(3, kernel, stride) // [B, G, C_in / G, T, K] view
            .permute(0, 1, 2, 4, 3).reshape(batch, groups, groupChannels * kernel, frames);  // [B, G, C_in / G * K, T]
        var y = weight.reshape(groups, outChannels / groups, groupChannels * kernel).matmul(windows); // [B, G, C_out / G, T]
        return y.reshape(batch, outChannels, frames).MoveToOuterDisposeScope();
    }
}
