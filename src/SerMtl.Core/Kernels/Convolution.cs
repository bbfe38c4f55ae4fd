using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Kernels;

/// <summary>How <see cref="Convolution.Conv1d"/> computes one convolution.</summary>
internal enum ConvolutionPath
{
    /// <summary>libtorch's <c>conv1d</c> as it is.</summary>
    Native,

    /// <summary>libtorch's <c>conv1d</c> on zero-padded channels, the extra output channels dropped.</summary>
    ChannelPadded,

    /// <summary>A <see cref="WindowedProduct"/> (strided windows times the weight), per utterance.</summary>
    WindowedProduct,
}

/// <summary>
/// Every 1-D convolution the model runs (feature encoder, positional convolution, the 1x1 products of
/// <see cref="FastLinear"/>, float32 and bfloat16, forward and backward) goes through <see cref="Conv1d"/>, which
/// picks a path known to compute it right for its shape.
/// </summary>
/// <remarks>
/// libtorch 2.10's CPU convolution (oneDNN) returns wrong values, nondeterministically and sometimes NaN, for some
/// channel counts. Measured against float64 on an AMD Zen 5 (AVX-512), float32 and bfloat16 alike, kernel &gt; 1,
/// groups 1 (docs/upstream/conv1d-repro reproduces it):
/// <list type="bullet">
/// <item>forward: wrong when the input channels are above 16 and not a multiple of 16 (17, 20, 24, 33, 40, 100, 500);
/// right for 1-16 and multiples of 16. With <c>ONEDNN_MAX_CPU_ISA=AVX2</c> the same happens at multiples of 8.</item>
/// <item>gradient of the input: wrong for small channel counts at stride 1 (1-12 and the misaligned ones) and for odd
/// multiples of 16 (48, 80, 112, ...) at stride 2 and 5; right when input and output channels are multiples of 32.
/// The weight gradient was right everywhere.</item>
/// <item>1x1 kernels and grouped convolutions (groups &gt; 1, e.g. the positional convolution with 8-64 channels per
/// group) were right, forward and backward.</item>
/// </list>
/// In bfloat16 more fails: any channel count, forward and backward, 1x1 kernels included, unless input and output
/// channels are both multiples of 32 (or one input channel with a multiple of 32 out, forward).
/// So a plain convolution (groups 1) on the CPU runs as libtorch's when its channels are already aligned (every real
/// wav2vec2 feature encoder: 1 -> 512 and 512 -> 512) and otherwise on zero-padded channels: float32 input channels to
/// a multiple of 16 for the forward pass, input and output channels to a multiple of 32 when the input needs a
/// gradient; bfloat16 input and output channels to a multiple of 32. Zero channels add nothing to the sums, and
/// autograd drops the gradients of the padding, so the result is the same convolution. One input channel (the waveform
/// layer) needs no padding in the forward pass. The kernel check in the tests (ConvolutionSweepTests) sweeps this entry
/// point against float64 over channels 1-70 and larger odd counts, repeated, and shows the raw libtorch failures it
/// routes around.
/// </remarks>
internal static class Convolution
{
    /// <summary>Channel multiple a forward-only convolution is padded to.</summary>
    internal const long ForwardAlignment = 16;

    /// <summary>Channel multiple (input and output) a convolution whose input needs a gradient is padded to.</summary>
    internal const long BackwardAlignment = 32;

    /// <summary>
    /// The largest float32 batch-1 convolution input (elements) that libtorch hands to its own kernels instead of
    /// oneDNN. It first asks whether NNPACK is usable, and on CPUs NNPACK does not support (AMD EPYC here) libtorch
    /// 2.10 logs "Could not initialize NNPACK! Reason: Unsupported hardware." on every such call. Inputs this small
    /// gain nothing from oneDNN, so they take another path: <c>linear</c> in <see cref="FastLinear"/>, a
    /// <see cref="WindowedProduct"/> here.
    /// </summary>
    internal const long NativeConvolutionLimit = 20480;

    /// <summary>
    /// <c>conv1d(x, weight, bias, stride, padding, dilation, groups)</c>. x: [B, C_in, L]; weight: [C_out, C_in / groups, K];
    /// bias: [C_out] or null. Returns [B, C_out, floor((L + 2 * padding - dilation * (K - 1) - 1) / stride) + 1]. Inside
    /// <see cref="MixedPrecision.Use"/> float32 operands are cast to the compute type first.
    /// </summary>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias, long stride = 1, long padding = 0, long dilation = 1, long groups = 1)
    {
        using var scope = NewDisposeScope();
        x = MixedPrecision.Cast(x);
        weight = MixedPrecision.Cast(weight);
        bias = MixedPrecision.CastOrNull(bias);
        var y = ChoosePath(x, weight, dilation, groups) switch
        {
            ConvolutionPath.WindowedProduct => PerUtteranceProduct(x, weight, bias, stride, padding, groups),
            ConvolutionPath.ChannelPadded => ChannelPadded(x, weight, bias, stride, padding, dilation),
            _ => nn.functional.conv1d(x, weight, bias, stride: stride, padding: padding, dilation: dilation, groups: groups),
        };
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>The path <see cref="Conv1d"/> takes for these operands (already in the compute type) in the current grad mode.</summary>
    internal static ConvolutionPath ChoosePath(Tensor x, Tensor weight, long dilation, long groups)
    {
        if (x.device_type != DeviceType.CPU || x.dtype is not (ScalarType.Float32 or ScalarType.BFloat16))
            return ConvolutionPath.Native;
        var kernel = weight.shape[2];
        // A small float32 single utterance: libtorch would probe NNPACK (a warning per call on this CPU), and the
        // product of such small operands costs nothing. bfloat16 grouped convolutions (the positional convolution)
        // without autograd: the product was about twice as fast as libtorch's kernel where measured; with autograd the
        // windows would be kept for the backward pass.
        if (dilation == 1 && groups == 1 && kernel > 1 && x.dtype == ScalarType.Float32 && x.shape[0] == 1 && x.numel() <= NativeConvolutionLimit)
            return ConvolutionPath.WindowedProduct;
        if (dilation == 1 && groups > 1 && x.dtype == ScalarType.BFloat16 && !is_grad_enabled())
            return ConvolutionPath.WindowedProduct;
        if (groups > 1)
            return ConvolutionPath.Native;
        var (inChannels, outChannels) = PaddedChannels(x, weight);
        return inChannels == x.shape[1] && outChannels == weight.shape[0] ? ConvolutionPath.Native : ConvolutionPath.ChannelPadded;
    }

    /// <summary>
    /// The input and output channels a plain (groups 1) convolution runs with on libtorch's CPU kernel: the operands'
    /// own where they are aligned, otherwise rounded up as measured right (see the remarks on <see cref="Convolution"/>).
    /// </summary>
    internal static (long In, long Out) PaddedChannels(Tensor x, Tensor weight)
    {
        var (inChannels, outChannels, kernel) = (x.shape[1], weight.shape[0], weight.shape[2]);
        var inputGradient = is_grad_enabled() && x.requires_grad;
        if (x.dtype == ScalarType.Float32)
        {
            if (kernel == 1) return (inChannels, outChannels);
            if (inputGradient) return (RoundUp(inChannels, BackwardAlignment), RoundUp(outChannels, BackwardAlignment));
            return (inChannels == 1 ? 1 : RoundUp(inChannels, ForwardAlignment), outChannels);
        }
        // bfloat16: forward and backward need both channel counts aligned (one input channel forward only).
        return (inChannels == 1 && !inputGradient ? 1 : RoundUp(inChannels, BackwardAlignment), RoundUp(outChannels, BackwardAlignment));
    }

    /// <summary>libtorch's convolution with the channels zero-padded to <see cref="PaddedChannels"/>.</summary>
    private static Tensor ChannelPadded(Tensor x, Tensor weight, Tensor? bias, long stride, long padding, long dilation)
    {
        using var scope = NewDisposeScope();
        var (inChannels, outChannels) = (x.shape[1], weight.shape[0]);
        var (paddedIn, paddedOut) = PaddedChannels(x, weight);
        var (extraIn, extraOut) = (paddedIn - inChannels, paddedOut - outChannels);
        var paddedX = extraIn == 0 ? x : nn.functional.pad(x, [0, 0, 0, extraIn]);                    // [B, C_in', L]
        var paddedWeight = nn.functional.pad(weight, [0, 0, 0, extraIn, 0, extraOut]);                 // [C_out', C_in', K]
        var paddedBias = bias is null || extraOut == 0 ? bias : nn.functional.pad(bias, [0, extraOut]); // [C_out']
        var y = nn.functional.conv1d(paddedX, paddedWeight, paddedBias, stride: stride, padding: padding, dilation: dilation);
        return (extraOut == 0 ? y : y.narrow(1, 0, outChannels)).MoveToOuterDisposeScope();               // [B, C_out, T]
    }

    /// <summary>
    /// The convolution as a <see cref="WindowedProduct"/> one utterance at a time (the windows are a copy, ~49 MB in
    /// bfloat16 for a 5 s clip through base's positional convolution).
    /// </summary>
    private static Tensor PerUtteranceProduct(Tensor x, Tensor weight, Tensor? bias, long stride, long padding, long groups)
    {
        using var scope = NewDisposeScope();
        var outputs = new Tensor[x.shape[0]];
        for (var b = 0; b < outputs.Length; b++)
        {
            var one = x.narrow(0, b, 1);
            if (padding > 0) one = nn.functional.pad(one, [padding, padding]);   // [1, C_in, L + 2p]
            outputs[b] = WindowedProduct.Apply(one, weight, stride, groups);    // [1, C_out, T]
        }
        var y = outputs.Length == 1 ? outputs[0] : cat(outputs, 0);
        if (bias is not null) y = y.add_(bias.unsqueeze(-1));
        return y.MoveToOuterDisposeScope();
    }

    private static long RoundUp(long n, long multiple) => (n + multiple - 1) / multiple * multiple;
}
