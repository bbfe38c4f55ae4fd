using static TorchSharp.torch;

namespace SerMtl.Kernels;

/// <summary>
/// Mixed-precision compute for float32 models, the part of PyTorch's autocast that TorchSharp lacks: inside
/// <see cref="Use"/>, on the calling thread, the backbone's matrix products and convolutions cast their float32
/// inputs and weights to the compute type (bfloat16) and return results in it; norms, softmax and residual sums
/// follow their inputs (libtorch accumulates reduced-precision norms in float32), and the backbone hands its outputs
/// back in the parameters' dtype. The parameters stay float32 ("master weights"): autograd converts their gradients
/// back to float32, so the optimizer updates them at full precision. Only the forward pass needs to run inside.
/// </summary>
internal static class MixedPrecision
{
    [ThreadStatic]
    private static ScalarType? _computeType;

    /// <summary>The compute type on this thread, or null when products run in their inputs' dtype.</summary>
    public static ScalarType? ComputeType => _computeType;

    /// <summary>Runs products in <paramref name="computeType"/> on this thread until the result is disposed.</summary>
    /// <exception cref="ArgumentException"><paramref name="computeType"/> is not bfloat16 or float16.</exception>
    public static IDisposable Use(ScalarType computeType)
    {
        if (computeType is not (ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"mixed precision computes in bfloat16 or float16, not {computeType}", nameof(computeType));
        var previous = _computeType;
        _computeType = computeType;
        return new Scope(previous);
    }

    /// <summary><paramref name="t"/> in the compute type when one is active and <paramref name="t"/> is float32; otherwise <paramref name="t"/>.</summary>
    public static Tensor Cast(Tensor t) =>
        _computeType is { } type && t.dtype == ScalarType.Float32 ? t.to(type) : t;

    /// <summary><paramref name="t"/> as <see cref="Cast(Tensor)"/>, null staying null.</summary>
    public static Tensor? CastOrNull(Tensor? t) => t is null ? null : Cast(t);

    private sealed class Scope(ScalarType? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _computeType = previous;
        }
    }
}
