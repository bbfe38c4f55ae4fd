using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>The per-update constants of one AdamW step of one parameter, as single-precision factors.</summary>
internal readonly record struct AdamWFactors(float Decay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float InverseSqrtBiasCorrection2, float Eps, float NegativeStepSize)
{
    /// <summary>Factors of update number <paramref name="step"/> (1-based), in PyTorch's AdamW formulation.</summary>
    public static AdamWFactors For(double lr, double beta1, double beta2, double eps, double weightDecay, long step) => new(
        (float)(1 - lr * weightDecay), (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2),
        (float)(1 / Math.Sqrt(1 - Math.Pow(beta2, step))), (float)eps, (float)(-lr / (1 - Math.Pow(beta1, step))));
}

/// <summary>
/// One AdamW update of a contiguous float32 CPU parameter in a single pass over memory: weight decay, both moments,
/// the bias-corrected quotient and the parameter change per element, instead of the ten or so whole-tensor operations
/// (each a full read and write) libtorch needs. The moments are float32 or bfloat16; bfloat16 moments are computed in
/// float32 and stored by stochastic rounding (round up with probability equal to the distance from the lower
/// neighbour, in units of the spacing), so that small updates — the second moment changes by 0.1 % a step at
/// β₂ = 0.999, under bfloat16's 0.4 % resolution — survive on average instead of rounding away.
/// </summary>
internal static class AdamWKernel
{
    /// <summary>Elements per unit of parallel work; each unit draws its rounding noise from its own seeded stream.</summary>
    private const int ChunkElements = 1 << 16;

    /// <summary>
    /// Whether <see cref="Step"/> handles these tensors: all on the CPU, contiguous, float32 parameter and gradient,
    /// and small enough for a span over their bytes (under 2 GiB each).
    /// </summary>
    public static bool Supports(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq) =>
        param.numel() <= int.MaxValue / sizeof(float)
        && param.device_type == DeviceType.CPU && grad.device_type == DeviceType.CPU
        && param.dtype == ScalarType.Float32 && grad.dtype == ScalarType.Float32
        && expAvg.dtype == expAvgSq.dtype && expAvg.dtype is ScalarType.Float32 or ScalarType.BFloat16
        && expAvg.device_type == DeviceType.CPU && expAvgSq.device_type == DeviceType.CPU
        && param.is_contiguous() && grad.is_contiguous() && expAvg.is_contiguous() && expAvgSq.is_contiguous()
        && grad.numel() == param.numel() && expAvg.numel() == param.numel() && expAvgSq.numel() == param.numel();

    /// <summary>
    /// Updates <paramref name="param"/>, <paramref name="expAvg"/> and <paramref name="expAvgSq"/> in place, on up to
    /// <paramref name="threads"/> threads. The rounding noise of bfloat16 moments depends only on
    /// <paramref name="seed"/> and the element position, not on the thread count.
    /// </summary>
    public static void Step(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamWFactors f, ulong seed, int threads)
    {
        if (!Supports(param, grad, expAvg, expAvgSq))
            throw new ArgumentException("AdamWKernel.Step needs contiguous CPU tensors: float32 parameter and gradient, float32 or bfloat16 moments of the same size");
        var n = param.numel();
        var chunks = (int)((n + ChunkElements - 1) / ChunkElements);
        var compact = expAvg.dtype == ScalarType.BFloat16;
        void Run(int chunk)
        {
            var start = (int)((long)chunk * ChunkElements);
            var length = (int)Math.Min(ChunkElements, n - start);
            var p = MemoryMarshal.Cast<byte, float>(param.bytes).Slice(start, length);
            var g = MemoryMarshal.Cast<byte, float>(grad.bytes).Slice(start, length);
            if (compact)
                UpdateCompact(p, g, MemoryMarshal.Cast<byte, ushort>(expAvg.bytes).Slice(start, length),
                    MemoryMarshal.Cast<byte, ushort>(expAvgSq.bytes).Slice(start, length), f, Mix(seed, (ulong)chunk));
            else
                Update(p, g, MemoryMarshal.Cast<byte, float>(expAvg.bytes).Slice(start, length),
                    MemoryMarshal.Cast<byte, float>(expAvgSq.bytes).Slice(start, length), f);
        }

        if (chunks == 1 || threads <= 1)
            for (var c = 0; c < chunks; c++) Run(c);
        else
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Run);
    }

    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, AdamWFactors f)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var k = new VectorFactors(f);
            ref var pr = ref MemoryMarshal.GetReference(p);
            ref var gr = ref MemoryMarshal.GetReference(g);
            ref var mr = ref MemoryMarshal.GetReference(m);
            ref var vr = ref MemoryMarshal.GetReference(v);
            for (; i <= p.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var at = (nuint)i;
                var (pn, mn, vn) = k.Apply(Vector.LoadUnsafe(ref pr, at), Vector.LoadUnsafe(ref gr, at), Vector.LoadUnsafe(ref mr, at), Vector.LoadUnsafe(ref vr, at));
                pn.StoreUnsafe(ref pr, at);
                mn.StoreUnsafe(ref mr, at);
                vn.StoreUnsafe(ref vr, at);
            }
        }
        for (; i < p.Length; i++) (p[i], m[i], v[i]) = Apply(f, p[i], g[i], m[i], v[i]);
    }

    private static void UpdateCompact(Span<float> p, ReadOnlySpan<float> g, Span<ushort> m, Span<ushort> v, AdamWFactors f, ulong seed)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var k = new VectorFactors(f);
            var random = NoiseVector(seed);
            var low16 = new Vector<uint>(0xFFFF);
            ref var pr = ref MemoryMarshal.GetReference(p);
            ref var gr = ref MemoryMarshal.GetReference(g);
            ref var mr = ref MemoryMarshal.GetReference(m);
            ref var vr = ref MemoryMarshal.GetReference(v);
            var width = Vector<float>.Count;
            for (; i <= p.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                var at = (nuint)i;
                Vector.Widen(Vector.LoadUnsafe(ref mr, at), out var m0, out var m1);
                Vector.Widen(Vector.LoadUnsafe(ref vr, at), out var v0, out var v1);
                var (p0, mn0, vn0) = k.Apply(Vector.LoadUnsafe(ref pr, at), Vector.LoadUnsafe(ref gr, at), Widened(m0), Widened(v0));
                var (p1, mn1, vn1) = k.Apply(Vector.LoadUnsafe(ref pr, at + (nuint)width), Vector.LoadUnsafe(ref gr, at + (nuint)width), Widened(m1), Widened(v1));
                p0.StoreUnsafe(ref pr, at);
                p1.StoreUnsafe(ref pr, at + (nuint)width);
                var r0 = random = XorShift(random);
                var r1 = random = XorShift(random);
                // Each 32-bit draw gives two 16-bit noises: the low half rounds one moment, the high half the other.
                Vector.Narrow(Rounded(mn0, r0 & low16), Rounded(mn1, r1 & low16)).StoreUnsafe(ref mr, at);
                Vector.Narrow(Rounded(vn0, Vector.ShiftRightLogical(r0, 16)), Rounded(vn1, Vector.ShiftRightLogical(r1, 16))).StoreUnsafe(ref vr, at);
            }
        }
        var state = (uint)(seed >> 32) | 1;
        for (; i < p.Length; i++)
        {
            (p[i], var mn, var vn) = Apply(f, p[i], g[i], ToFloat(m[i]), ToFloat(v[i]));
            state = XorShift(state);
            m[i] = (ushort)((BitConverter.SingleToUInt32Bits(mn) + (state & 0xFFFF)) >> 16);
            v[i] = (ushort)((BitConverter.SingleToUInt32Bits(vn) + (state >> 16)) >> 16);
        }
    }

    /// <summary>The scalar update, in the order PyTorch's AdamW applies it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float P, float M, float V) Apply(AdamWFactors f, float p, float g, float m, float v)
    {
        p *= f.Decay;
        m = m * f.Beta1 + g * f.OneMinusBeta1;
        v = v * f.Beta2 + g * g * f.OneMinusBeta2;
        var denominator = MathF.Sqrt(v) * f.InverseSqrtBiasCorrection2 + f.Eps;
        return (p + f.NegativeStepSize * (m / denominator), m, v);
    }

    private readonly struct VectorFactors(AdamWFactors f)
    {
        private readonly Vector<float> _decay = new(f.Decay), _beta1 = new(f.Beta1), _oneMinusBeta1 = new(f.OneMinusBeta1),
            _beta2 = new(f.Beta2), _oneMinusBeta2 = new(f.OneMinusBeta2), _inverseSqrtBc2 = new(f.InverseSqrtBiasCorrection2),
            _eps = new(f.Eps), _negativeStepSize = new(f.NegativeStepSize);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector<float> P, Vector<float> M, Vector<float> V) Apply(Vector<float> p, Vector<float> g, Vector<float> m, Vector<float> v)
        {
            p *= _decay;
            m = m * _beta1 + g * _oneMinusBeta1;
            v = v * _beta2 + g * g * _oneMinusBeta2;
            var denominator = Vector.SquareRoot(v) * _inverseSqrtBc2 + _eps;
            return (p + _negativeStepSize * (m / denominator), m, v);
        }
    }

    /// <summary>bfloat16 bits (the top half of a float32) widened to float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Widened(Vector<uint> bits) => Vector.AsVectorSingle(Vector.ShiftLeft(bits, 16));

    /// <summary>Stochastic rounding to bfloat16: the float32 bits plus 16 bits of noise, top half kept (in a uint lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Rounded(Vector<float> x, Vector<uint> noise) =>
        Vector.ShiftRightLogical(Vector.AsVectorUInt32(x) + noise, 16);

    private static float ToFloat(ushort bfloat16) => BitConverter.UInt32BitsToSingle((uint)bfloat16 << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> XorShift(Vector<uint> x)
    {
        x ^= Vector.ShiftLeft(x, 13);
        x ^= Vector.ShiftRightLogical(x, 17);
        return x ^ Vector.ShiftLeft(x, 5);
    }

    private static uint XorShift(uint x)
    {
        x ^= x << 13;
        x ^= x >> 17;
        return x ^ (x << 5);
    }

    /// <summary>One xorshift32 state per lane, none zero, from <paramref name="seed"/>.</summary>
    private static Vector<uint> NoiseVector(ulong seed)
    {
        Span<uint> lanes = stackalloc uint[Vector<uint>.Count];
        for (var lane = 0; lane < lanes.Length; lane++) lanes[lane] = (uint)Mix(seed, (ulong)lane) | 1;
        return new Vector<uint>(lanes);
    }

    /// <summary>SplitMix64 of (<paramref name="seed"/>, <paramref name="index"/>): independent streams per chunk and lane.</summary>
    public static ulong Mix(ulong seed, ulong index)
    {
        var z = seed + (index + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
