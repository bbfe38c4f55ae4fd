using SerMtl.Kernels;
using SerMtl.Modeling;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// The kernel check of <see cref="Convolution.Conv1d"/>: every convolution the model runs goes through it, so it is swept
/// over channel counts 1-70 and larger odd ones, kernels 1/2/3/10, strides 1/2/5, groups, padding, batch 1 and 3, short
/// and long inputs, float32 and bfloat16, forward and backward, against libtorch's float64 convolution on the same data
/// (float64 does not go through the oneDNN kernels that fail), each shape several times with fresh data, since the
/// failures it routes around are nondeterministic. The same shapes through raw <c>conv1d</c> are counted and printed,
/// and every shape raw libtorch got wrong must be one the entry point routes around.
/// </summary>
public class ConvolutionSweepTests(ITestOutputHelper output)
{
    /// <summary>Runs of the entry point per shape, each on fresh data (raw libtorch runs once per shape, for the report).</summary>
    private const int Repeats = 2;

    private static readonly int RawReportLimit = int.TryParse(Environment.GetEnvironmentVariable("SERMTL_SWEEP_REPORT"), out var n) ? n : 40;

    /// <summary>One convolution to check: channels are per group; <paramref name="InputGradient"/> false for an input that needs none (the waveform).</summary>
    private sealed record Shape(long InPerGroup, long OutPerGroup, long Kernel, long Stride, long Groups, long Padding, long Batch, long Length, bool InputGradient = true)
    {
        public override string ToString() =>
            $"C_in {InPerGroup * Groups} -> C_out {OutPerGroup * Groups}, K {Kernel}, stride {Stride}, groups {Groups}, padding {Padding}, batch {Batch}, length {Length}" +
            (InputGradient ? "" : ", no input gradient");
    }

    private static readonly long[] Kernels = [1, 2, 3, 10];
    private static readonly long[] Strides = [1, 2, 5];

    /// <summary>Channels 1-70 and larger odd counts, groups 1, each kernel and stride, batch and length varied by channel.</summary>
    private static IEnumerable<Shape> PlainShapes()
    {
        var channels = Enumerable.Range(1, 70).Select(c => (long)c).Concat([80, 100, 112, 127, 250, 500, 513]);
        foreach (var c in channels)
            foreach (var k in Kernels)
                foreach (var s in Strides)
                {
                    // Output channels: the same count, or a neighbour, so input and output alignment vary independently.
                    var outChannels = (c + k) % 3 == 0 ? c : c % 2 == 0 ? c + 3 : Math.Max(1, c - 1);
                    yield return new Shape(c, outChannels, k, s, 1, (c + s) % 4 == 0 ? k / 2 : 0, c % 2 == 0 ? 3 : 1, 96 + 37 * (c % 7));
                }
    }

    /// <summary>Grouped convolutions (the positional convolution's kind: stride 1, padding K / 2) and long inputs.</summary>
    private static IEnumerable<Shape> OtherShapes()
    {
        foreach (var groups in new long[] { 2, 4, 16 })
            foreach (var perGroup in new long[] { 1, 3, 8, 9, 12, 17, 20, 24, 40, 48 })
                foreach (var k in new long[] { 2, 3, 16, 128 })
                {
                    if (k == 128 && perGroup * groups > 400) continue;
                    yield return new Shape(perGroup, perGroup, k, 1, groups, k / 2, perGroup % 2 == 0 ? 2 : 1, k == 128 ? 180 : 75);
                }
        foreach (var c in new long[] { 1, 20, 24, 40, 100, 512 })
            yield return new Shape(c, c == 1 ? 24 : c, c == 1 ? 10 : 3, c == 1 ? 5 : 2, 1, 0, 2, c <= 40 ? 16000 : 3200);
        // The wav2vec2 feature encoder's real shapes: the waveform layer and the 512-channel layers (kernel 3 and 2, stride 2).
        yield return new Shape(1, 512, 10, 5, 1, 0, 2, 8000);
        foreach (var c in new long[] { 24, 33, 512 })
            yield return new Shape(1, c, 10, 5, 1, 0, 2, 8000, InputGradient: false); // training the waveform layer
        yield return new Shape(512, 512, 3, 2, 1, 0, 1, 1600);
        yield return new Shape(512, 512, 2, 2, 1, 0, 2, 400);
    }

    [Fact]
    public void Conv1d_Float32_Forward_MatchesFloat64() => Sweep(ScalarType.Float32, backward: false);

    [Fact]
    public void Conv1d_Float32_Backward_MatchesFloat64() => Sweep(ScalarType.Float32, backward: true);

    [Fact]
    public void Conv1d_BFloat16_Forward_MatchesFloat64() => Sweep(ScalarType.BFloat16, backward: false);

    [Fact]
    public void Conv1d_BFloat16_Backward_MatchesFloat64() => Sweep(ScalarType.BFloat16, backward: true);

    private void Sweep(ScalarType dtype, bool backward)
    {
        var shapes = PlainShapes().Concat(OtherShapes()).ToArray();
        var failures = new List<string>();
        var rawFailures = new List<Shape>();
        var routedAround = 0;
        var seed = 1000;
        foreach (var shape in shapes)
        {
            var rawWrong = false;
            for (var r = 0; r < Repeats; r++)
            {
                using var scope = NewDisposeScope();
                var data = Operands.Create(shape, seed++);
                var reference = data.Run(ScalarType.Float64, backward, useEntryPoint: false);
                var ours = data.Run(dtype, backward, useEntryPoint: true);
                if (Compare(reference, ours, dtype) is { } problem)
                    failures.Add($"{shape} (repeat {r}): {problem}");
                if (r == 0 && Compare(reference, data.Run(dtype, backward, useEntryPoint: false), dtype) is not null)
                    rawWrong = true;
            }
            if (rawWrong) rawFailures.Add(shape);
            if (PathFor(shape, dtype, backward) != ConvolutionPath.Native) routedAround++;
        }

        output.WriteLine($"{dtype} {(backward ? "forward + backward" : "forward")}: {shapes.Length} shapes x {Repeats}; " +
                         $"raw libtorch conv1d wrong on {rawFailures.Count} (one run each), Convolution.Conv1d routes {routedAround} around libtorch's kernel, wrong on {failures.Count}");
        foreach (var shape in rawFailures.Take(RawReportLimit)) output.WriteLine($"  raw libtorch wrong: {shape}");
        Assert.True(failures.Count == 0, $"Convolution.Conv1d differs from float64 on {failures.Count} runs:\n" + string.Join("\n", failures.Take(20)));
        var unrouted = rawFailures.Where(s => PathFor(s, dtype, backward) == ConvolutionPath.Native).ToArray();
        Assert.True(unrouted.Length == 0, "raw libtorch was wrong on shapes the entry point sends to it:\n" + string.Join("\n", unrouted.Take(20)));
    }

    private static ConvolutionPath PathFor(Shape shape, ScalarType dtype, bool backward)
    {
        using var scope = NewDisposeScope();
        using var grad = backward ? enable_grad() : no_grad();
        var x = zeros(shape.Batch, shape.InPerGroup * shape.Groups, shape.Length, dtype).requires_grad_(backward && shape.InputGradient);
        var w = zeros(shape.OutPerGroup * shape.Groups, shape.InPerGroup, shape.Kernel, dtype);
        return Convolution.ChoosePath(x, w, dilation: 1, shape.Groups);
    }

    /// <summary>Largest |difference| allowed: float32 ~1e-4 of unit-scale data; bfloat16 its rounding of inputs, weights and output.</summary>
    private static string? Compare(Result reference, Result actual, ScalarType dtype)
    {
        var (absolute, relative) = dtype == ScalarType.BFloat16 ? (0.03, 1.0 / 64) : (1e-4, 1e-4);
        foreach (var (name, expected, got) in reference.Tensors.Zip(actual.Tensors, (e, a) => (e.Name, e.Value, a.Value)))
        {
            var scale = expected.abs().max().item<double>();
            var diff = (got.to(ScalarType.Float64) - expected).abs().max().item<double>();
            if (!(diff <= absolute + relative * scale))
                return $"{name}: max |difference| {diff:G3} (scale {scale:G3})";
        }
        return null;
    }

    private sealed record Result(List<(string Name, Tensor Value)> Tensors);

    /// <summary>Unit-scale input, weight scaled by 1 / sqrt(fan-in), bias, and an incoming gradient, all in float32.</summary>
    private sealed record Operands(Shape Shape, Tensor X, Tensor Weight, Tensor Bias, Tensor OutputGradient)
    {
        public static Operands Create(Shape s, int seed)
        {
            var generator = new TorchSharp.torch.Generator((ulong)seed);
            var x = randn([s.Batch, s.InPerGroup * s.Groups, s.Length], generator: generator);
            var weight = randn([s.OutPerGroup * s.Groups, s.InPerGroup, s.Kernel], generator: generator) / Math.Sqrt(s.InPerGroup * s.Kernel);
            var bias = randn([s.OutPerGroup * s.Groups], generator: generator);
            var frames = (s.Length + 2 * s.Padding - s.Kernel) / s.Stride + 1;
            var gradient = randn([s.Batch, s.OutPerGroup * s.Groups, frames], generator: generator);
            return new Operands(s, x, weight, bias, gradient);
        }

        /// <summary>
        /// The convolution in <paramref name="dtype"/> (float64 always on libtorch's own kernel), with gradients of input,
        /// weight and bias when <paramref name="backward"/>. bfloat16 operands are rounded from the float32 data, so a bfloat16
        /// run differs from the float64 one by that rounding too, which <see cref="Compare"/> allows for.
        /// </summary>
        public Result Run(ScalarType dtype, bool backward, bool useEntryPoint)
        {
            using var grad = backward ? enable_grad() : no_grad();
            var x = X.to(dtype, copy: true).requires_grad_(backward && Shape.InputGradient); // copies: each run gets its own leaves and gradients
            var weight = Weight.to(dtype, copy: true).requires_grad_(backward);
            var bias = Bias.to(dtype, copy: true).requires_grad_(backward);
            var y = useEntryPoint
                ? Convolution.Conv1d(x, weight, bias, stride: Shape.Stride, padding: Shape.Padding, groups: Shape.Groups)
                : nn.functional.conv1d(x, weight, bias, stride: Shape.Stride, padding: Shape.Padding, groups: Shape.Groups);
            var tensors = new List<(string, Tensor)> { ("output", y.detach().to(ScalarType.Float64)) };
            if (backward)
            {
                y.backward([OutputGradient.to(dtype)]);
                if (Shape.InputGradient) tensors.Add(("input gradient", x.grad!.to(ScalarType.Float64)));
                tensors.Add(("weight gradient", weight.grad!.to(ScalarType.Float64)));
                tensors.Add(("bias gradient", bias.grad!.to(ScalarType.Float64)));
            }
            return new Result(tensors);
        }
    }
}
