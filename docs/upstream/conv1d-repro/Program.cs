// Reproducer: libtorch 2.10's CPU conv1d (oneDNN) against float64, through TorchSharp 0.107.
//
//   dotnet run -c Release [-- REPEATS]
//
// Prints every (dtype, pass, C_in, C_out, kernel, stride) whose output or gradients differ from the float64 result of
// the same convolution on the same data, and exits with 1 when any does. The data is unit-scale, the weight scaled
// by 1 / sqrt(C_in * K), so a right answer differs by ~1e-6 (float32) or ~1e-2 (bfloat16).
using static TorchSharp.torch;

var repeats = args.Length > 0 ? int.Parse(args[0]) : 3;
set_num_threads(Math.Min(2, Environment.ProcessorCount));
Console.WriteLine($"CPU: {CpuName()}; threads {get_num_threads()}; {repeats} runs per shape, each on fresh data");

var wrong = 0;
var total = 0;
foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
foreach (var backward in new[] { false, true })
{
    var pass = backward ? "forward+backward" : "forward";
    var failing = new List<string>();
    foreach (var channels in new long[] { 1, 3, 12, 16, 17, 20, 24, 32, 40, 48, 64, 80, 100, 512 })
    foreach (var kernel in new long[] { 1, 2, 3, 10 })
    foreach (var stride in new long[] { 1, 2, 5 })
    {
        var worst = 0.0;
        var bad = 0;
        for (var r = 0; r < repeats; r++)
        {
            using var scope = NewDisposeScope();
            manual_seed(1000 * channels + 10 * kernel + r);
            var x = randn(3, channels, 1000);
            var w = randn(channels, channels, kernel) / Math.Sqrt(channels * kernel);
            var g = randn(3, channels, (1000 - kernel) / stride + 1);
            var (y, dx, dw) = Run(x, w, g, stride, dtype, backward);
            var (yRef, dxRef, dwRef) = Run(x, w, g, stride, ScalarType.Float64, backward);
            var tolerance = dtype == ScalarType.BFloat16 ? 0.05 : 1e-3;
            var d = Difference(y, yRef);
            if (backward) d = Math.Max(d, Math.Max(Difference(dx!, dxRef!), Difference(dw!, dwRef!) / Math.Max(1, dwRef!.abs().max().item<double>())));
            total++;
            if (!(d <= tolerance)) { bad++; wrong++; worst = double.IsNaN(d) || double.IsNaN(worst) ? double.NaN : Math.Max(worst, d); }
        }
        if (bad > 0) failing.Add($"C={channels} K={kernel} stride={stride}: {bad}/{repeats} wrong, max |diff| {worst:G3}");
    }
    Console.WriteLine($"{dtype} {pass}: {failing.Count} shapes wrong");
    foreach (var line in failing) Console.WriteLine("  " + line);
}
Console.WriteLine($"{wrong} of {total} convolutions differ from float64");
return wrong == 0 ? 0 : 1;

// conv1d(x, w, stride) in dtype; with backward, the gradients of x and w for the incoming gradient g.
static (Tensor Y, Tensor? Dx, Tensor? Dw) Run(Tensor x, Tensor w, Tensor g, long stride, ScalarType dtype, bool backward)
{
    using var mode = backward ? enable_grad() : no_grad();
    var xs = x.to(dtype, copy: true).requires_grad_(backward);
    var ws = w.to(dtype, copy: true).requires_grad_(backward);
    var y = nn.functional.conv1d(xs, ws, stride: stride);
    if (!backward) return (y, null, null);
    y.backward([g.to(dtype)]);
    return (y.detach(), xs.grad, ws.grad);
}

static double Difference(Tensor a, Tensor reference) =>
    (a.to(ScalarType.Float64) - reference.to(ScalarType.Float64)).abs().max().item<double>();

static string CpuName() =>
    File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "?"
        : Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "?";
