using System.Numerics;
using System.Runtime.InteropServices;

namespace SerMtl.Data.Audio;

/// <summary>
/// A Kaiser-windowed sinc low-pass for converting <c>from</c> → <c>to</c> Hz, split into the <c>L = to / gcd</c>
/// phases of the rational ratio. Output sample <c>j</c> sits at input position <c>p = j·M/L</c>
/// (<c>M = from / gcd</c>); its value is <c>Σ_i x[i]·h(p − i)</c> with <c>h</c> measured in input samples.
/// </summary>
/// <remarks>
/// When the exact <c>L × taps</c> table would be large (rates whose gcd is small, e.g. 44 101 Hz), the kernel is
/// tabulated at 512 sub-phases per input sample instead and each output linearly interpolates the two nearest
/// rows, which matches the exact response to within about −100 dB.
/// </remarks>
internal sealed class PolyphaseFilter
{
    /// <summary>Passband edge as a fraction of the lower Nyquist frequency; the stopband starts at that Nyquist.</summary>
    internal const double PassbandFraction = 0.9;

    /// <summary>Design stopband attenuation (Kaiser's formulas size the window and choose β from it).</summary>
    internal const double StopbandAttenuationDb = 90;

    private const int MaxExactTableFloats = 1 << 20;
    private const int SubPhases = 512; // rows per input sample when the exact table is too large

    private readonly int _up;        // L
    private readonly int _down;      // M
    private readonly int _reach;     // K: taps cover input offsets k in [-K, K]
    private readonly int _taps;      // 2K + 1
    private readonly double _cutoff; // cycles per input sample
    private readonly double _halfWidth;
    private readonly double _beta;
    private readonly double _i0Beta;
    private readonly bool _exact;    // rows are the L phases; else SubPhases + 1 rows to interpolate between
    private readonly float[] _rows;  // [rows, taps]: row for offset f holds h(f + K − m), m = 0..2K, summing to 1

    public PolyphaseFilter(int fromRate, int toRate)
    {
        var g = Gcd(fromRate, toRate);
        _up = toRate / g;
        _down = fromRate / g;
        FromRate = fromRate;
        ToRate = toRate;

        var nyquist = Math.Min(fromRate, toRate) / 2.0;
        var passEdge = PassbandFraction * nyquist;
        _cutoff = (passEdge + nyquist) / 2 / fromRate;
        var transition = (nyquist - passEdge) / fromRate;
        var length = (StopbandAttenuationDb - 7.95) / (14.36 * transition) + 1;
        _halfWidth = (length - 1) / 2;
        _beta = 0.1102 * (StopbandAttenuationDb - 8.7);
        _i0Beta = BesselI0(_beta);
        _reach = (int)Math.Ceiling(_halfWidth);
        _taps = 2 * _reach + 1;

        _exact = (long)_up * _taps <= MaxExactTableFloats;
        var rows = _exact ? _up : SubPhases + 1;
        _rows = new float[rows * _taps];
        var values = new double[_taps];
        for (var row = 0; row < rows; row++)
        {
            var frac = _exact ? (double)row / _up : (double)row / SubPhases;
            double sum = 0;
            for (var m = 0; m < _taps; m++)
            {
                values[m] = Kernel(frac + _reach - m);
                sum += values[m];
            }
            var target = _rows.AsSpan(row * _taps, _taps);
            for (var m = 0; m < _taps; m++) target[m] = (float)(values[m] / sum);
        }
    }

    public int FromRate { get; }

    public int ToRate { get; }

    /// <summary>Taps per output sample.</summary>
    internal int Taps => _taps;

    /// <summary>True when the exact per-phase table is used (false: interpolated kernel).</summary>
    internal bool UsesExactPhases => _exact;

    public float[] Apply(ReadOnlySpan<float> input)
    {
        var outLength = Resampler.OutputLength(input.Length, FromRate, ToRate);
        var output = new float[outLength];
        if (outLength == 0) return output;

        // The whole signal as one range: zeros before it and after it as far as the windows reach.
        var (from, to) = InputRange(0, outLength); // from = −K
        var padded = new float[to - from];
        input[..(int)Math.Min(input.Length, to)].CopyTo(padded.AsSpan((int)-from));
        ApplyRange(padded, 0, output);
        return output;
    }

    /// <summary>
    /// The input samples output samples [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>)
    /// read: [floor(first·M/L) − K, floor(last·M/L) + K + 1), indices into the unpadded input (negative ones and those past
    /// its end are zeros).
    /// </summary>
    public (long From, long To) InputRange(long first, int count)
    {
        var last = first + Math.Max(count, 1) - 1;
        return (first * _down / _up - _reach, last * _down / _up + _reach + 1);
    }

    /// <summary>
    /// Output samples [<paramref name="first"/>, <paramref name="first"/> + output.Length) of <see cref="Apply"/>, given
    /// the input over <see cref="InputRange"/> (zeros where the signal has none): the same windows and taps, so the
    /// same values, bit for bit, as the whole signal resampled at once.
    /// </summary>
    public void ApplyRange(ReadOnlySpan<float> input, long first, Span<float> output)
    {
        if (output.Length == 0) return;
        var (from, to) = InputRange(first, output.Length);
        if (input.Length != to - from)
            throw new ArgumentException($"expected the {to - from} input samples [{from}, {to}), got {input.Length}", nameof(input));
        long start = first * _down / _up;          // floor(j·M / L) for j = first
        var phase = (int)(first * _down % _up);    // (j·M) mod L
        var origin = start;                        // window of j starts at input index start − K = local index start − origin
        for (var j = 0; j < output.Length; j++)
        {
            var window = input.Slice((int)(start - origin), _taps);
            if (_exact)
            {
                output[j] = Dot(window, _rows.AsSpan(phase * _taps, _taps));
            }
            else
            {
                var position = (double)phase / _up * SubPhases;
                var row = (int)position;
                var w = (float)(position - row);
                var a = Dot(window, _rows.AsSpan(row * _taps, _taps));
                var b = Dot(window, _rows.AsSpan((row + 1) * _taps, _taps));
                output[j] = a + w * (b - a);
            }
            phase += _down;
            if (phase >= _up)
            {
                start += phase / _up;
                phase %= _up;
            }
        }
    }

    /// <summary>The continuous kernel at <paramref name="u"/> input samples from the output position.</summary>
    internal double Kernel(double u)
    {
        var r = Math.Abs(u) / _halfWidth;
        if (r > 1) return 0;
        var x = 2 * _cutoff * u;
        var sinc = Math.Abs(x) < 1e-12 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);
        return 2 * _cutoff * sinc * BesselI0(_beta * Math.Sqrt(1 - r * r)) / _i0Beta;
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var i = 0;
        var sum = 0f;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<float>.Count)
        {
            var va = MemoryMarshal.Cast<float, Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            var acc = Vector<float>.Zero;
            for (var v = 0; v < va.Length; v++) acc += va[v] * vb[v];
            sum = Vector.Sum(acc);
            i = va.Length * Vector<float>.Count;
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>Modified Bessel function of the first kind, order 0 (power series; converges for all x used here).</summary>
    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, half = x / 2;
        for (var k = 1; k < 200; k++)
        {
            term *= half / k;
            var t2 = term * term;
            sum += t2;
            if (t2 < sum * 1e-17) break;
        }
        return sum;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
