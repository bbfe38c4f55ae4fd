using SerMtl.Kernels;
using SerMtl.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// The model's other primitives at odd sizes against float64 formulas written out here (not the modules' own code):
/// the projections (<see cref="FastLinear"/>: libtorch's linear below its size limit, a oneDNN 1x1 convolution above),
/// both attention paths (libtorch's SDPA with autograd, the written-out product without), the per-frame layer norm of
/// layer-norm feature encoders and the masked group norm; float32 and bfloat16, with gradients where training uses them.
/// Like the convolution sweep (<see cref="ConvolutionSweepTests"/>), each case runs on fresh data more than once.
/// </summary>
public class PrimitiveSweepTests
{
    private const int Repeats = 2;

    private static readonly long[] OddWidths = [1, 5, 12, 17, 20, 24, 33, 36, 40, 48, 70, 100, 513, 768];

    private static (double Absolute, double Relative) Tolerance(ScalarType dtype) =>
        dtype == ScalarType.BFloat16 ? (0.03, 1.0 / 32) : (1e-4, 1e-4);

    private static void AssertClose(Tensor expected, Tensor actual, ScalarType dtype, string what)
    {
        var (absolute, relative) = Tolerance(dtype);
        var scale = expected.abs().max().item<double>();
        var diff = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(diff <= absolute + relative * scale, $"{what}: max |difference| {diff:G3} (scale {scale:G3})");
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void FastLinear_OddWidths_MatchesFloat64Product(ScalarType dtype)
    {
        var seed = 1;
        foreach (var inFeatures in OddWidths)
            foreach (var outFeatures in new long[] { 3, 17, 36, 100, 768 })
                foreach (var rows in new long[] { 7, 20480 / (2 * inFeatures) + 13 }) // below and above the 1x1-convolution limit
                    for (var r = 0; r < Repeats; r++)
                    {
                        using var scope = NewDisposeScope();
                        manual_seed(seed++);
                        var x = randn(2, rows, inFeatures);
                        var weight = randn(outFeatures, inFeatures) / Math.Sqrt(inFeatures);
                        var bias = randn(outFeatures);
                        var gradient = randn(2, rows, outFeatures);
                        var what = $"{dtype} [2, {rows}, {inFeatures}] x [{outFeatures}, {inFeatures}]";

                        var (x64, w64, b64) = (x.to(ScalarType.Float64).requires_grad_(), weight.to(ScalarType.Float64).requires_grad_(), bias.to(ScalarType.Float64).requires_grad_());
                        var expected = x64.matmul(w64.t()) + b64;
                        expected.backward([gradient.to(ScalarType.Float64)]);

                        var (xs, ws, bs) = (x.to(dtype, copy: true).requires_grad_(), weight.to(dtype, copy: true).requires_grad_(), bias.to(dtype, copy: true).requires_grad_());
                        var y = FastLinear.Apply(xs, ws, bs);
                        AssertClose(expected.detach(), y.detach(), dtype, what);
                        y.backward([gradient.to(dtype)]);
                        AssertClose(x64.grad!, xs.grad!, dtype, what + " input gradient");
                        AssertClose(w64.grad!, ws.grad!, dtype, what + " weight gradient");
                        AssertClose(b64.grad!, bs.grad!, dtype, what + " bias gradient");
                        using var noGrad = no_grad();
                        AssertClose(expected.detach(), FastLinear.Apply(xs, ws, bs), dtype, what + " without autograd");
                    }
    }

    public static TheoryData<ScalarType, int, int> AttentionCases()
    {
        var data = new TheoryData<ScalarType, int, int>();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var (hidden, heads) in new[] { (20, 5), (36, 4), (100, 4), (768, 12) })
                data.Add(dtype, hidden, heads);
        return data;
    }

    [Theory]
    [MemberData(nameof(AttentionCases))]
    public void SelfAttention_BothPathsOddSizesKeyPadding_MatchFloat64Formula(ScalarType dtype, int hidden, int heads)
    {
        var config = Wav2Vec2Config.Base with { HiddenSize = hidden, NumAttentionHeads = heads, AttentionDropout = 0 };
        foreach (var frames in new long[] { 7, 49, 130 })
            for (var r = 0; r < Repeats; r++)
            {
                using var scope = NewDisposeScope();
                manual_seed(100 * frames + r);
                using var attention = new SelfAttention(config);
                attention.eval();
                using (no_grad())
                    foreach (var p in attention.parameters()) p.normal_(0, 1.0 / Math.Sqrt(hidden));
                var x = randn(2, frames, hidden);
                var lengths = tensor(new[] { frames, frames / 2 + 1 });
                var attendable = (arange(frames).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(1).unsqueeze(1); // [2, 1, 1, T]
                var gradient = randn(2, frames, hidden);
                var what = $"{dtype} hidden {hidden}, {heads} heads, {frames} frames";

                var x64 = x.to(ScalarType.Float64).requires_grad_();
                var expected = ReferenceAttention(attention, x64, attendable, heads);
                expected.backward([gradient.to(ScalarType.Float64)]);

                attention.to(dtype);
                var xs = x.to(dtype, copy: true).requires_grad_();
                var sdpa = attention.call(xs, attendable, null);                      // autograd on: libtorch's SDPA
                AssertClose(expected.detach(), sdpa.detach(), dtype, what + " (SDPA)");
                sdpa.backward([gradient.to(dtype)]);
                AssertClose(x64.grad!, xs.grad!, dtype, what + " (SDPA) input gradient");
                using var noGrad = no_grad();
                AssertClose(expected.detach(), attention.call(xs, attendable, null), dtype, what + " (written out)");
            }
    }

    /// <summary>softmax(q kᵀ / √d, keys masked) v through out_proj, in float64 from the module's weights.</summary>
    private static Tensor ReferenceAttention(SelfAttention attention, Tensor x, Tensor attendable, int heads)
    {
        var p = attention.Projections.ToArray(); // q, k, v, out
        var (b, t, h) = (x.shape[0], x.shape[1], x.shape[2]);
        var d = h / heads;
        Tensor Project(TorchSharp.Modules.Linear l, Tensor input) => input.matmul(l.weight!.to(ScalarType.Float64).t()) + l.bias!.to(ScalarType.Float64);
        Tensor Heads(TorchSharp.Modules.Linear l) => Project(l, x).view(b, t, heads, d).transpose(1, 2);
        var scores = Heads(p[0]).matmul(Heads(p[1]).transpose(-2, -1)) / Math.Sqrt(d);
        scores = scores.masked_fill(attendable.logical_not(), double.NegativeInfinity);
        var context = scores.softmax(-1).matmul(Heads(p[2])).transpose(1, 2).reshape(b, t, h);
        return Project(p[3], context);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void ChannelLayerNorm_OddChannels_MatchesFloat64Formula(ScalarType dtype)
    {
        foreach (var channels in OddWidths.Concat([2, 3, 9, 31, 101, 512]))
            for (var r = 0; r < Repeats; r++)
            {
                using var scope = NewDisposeScope();
                manual_seed(channels * 10 + r);
                using var norm = new ChannelLayerNorm(channels);
                var affine = RandomAffine(norm);
                var x = randn(2, channels, 57) * 3 + 1;
                var x64 = x.to(ScalarType.Float64);
                var (variance, mean) = x64.var_mean(1, unbiased: false, keepdim: true);                             // per frame
                var expected = Normalise(x64, mean, variance, affine);
                norm.to(dtype);
                using var noGrad = no_grad();
                AssertClose(expected, norm.call(x.to(dtype), null), dtype, $"{dtype} layer norm over {channels} channels");
            }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void MaskedGroupNorm_OddChannelsPaddedBatch_MatchesFloat64Formula(ScalarType dtype)
    {
        foreach (var channels in OddWidths)
            for (var r = 0; r < Repeats; r++)
            {
                using var scope = NewDisposeScope();
                manual_seed(channels * 10 + r);
                using var norm = new MaskedGroupNorm(channels);
                var affine = RandomAffine(norm);
                const long frames = 83;
                long[] lengths = [frames, 41, 7];
                var x = randn(3, channels, frames) * 2 - 0.5;
                var valid = arange(frames).unsqueeze(0) < tensor(lengths).unsqueeze(1);                              // [3, T]
                var x64 = x.to(ScalarType.Float64);
                var mask = valid.unsqueeze(1).to(ScalarType.Float64);                                                  // [3, 1, T]
                var count = tensor(lengths).to(ScalarType.Float64).view(3, 1, 1);
                var mean = (x64 * mask).sum(-1, keepdim: true) / count;
                var variance = ((x64 - mean).square() * mask).sum(-1, keepdim: true) / count;
                var expected = Normalise(x64, mean, variance, affine);
                norm.to(dtype);
                using var noGrad = no_grad();
                var actual = norm.call(x.to(dtype), valid);
                AssertClose(expected * mask, actual.to(ScalarType.Float64) * mask, dtype, $"{dtype} masked group norm over {channels} channels (valid frames)");
            }
    }

    /// <summary>Fills a norm's per-channel weight and bias [C] with N(0, 1); returns them in float64, shaped [1, C, 1].</summary>
    private static (Tensor Weight, Tensor Bias) RandomAffine(TorchSharp.torch.nn.Module norm)
    {
        using (no_grad())
            foreach (var p in norm.parameters()) p.normal_();
        var (weight, bias) = (norm.parameters().First(), norm.parameters().Last());
        return (weight.to(ScalarType.Float64).view(1, -1, 1), bias.to(ScalarType.Float64).view(1, -1, 1));
    }

    /// <summary>(x - mean) / sqrt(variance + 1e-5) * weight + bias, the norms' formula, in float64.</summary>
    private static Tensor Normalise(Tensor x, Tensor mean, Tensor variance, (Tensor Weight, Tensor Bias) affine) =>
        (x - mean) / (variance + 1e-5).sqrt() * affine.Weight + affine.Bias;
}
