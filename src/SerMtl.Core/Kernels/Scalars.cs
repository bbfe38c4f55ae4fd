using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Kernels;

/// <summary>
/// Numbers for libtorch calls, kept alive until the call has read them.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns a number into a native <see cref="Scalar"/> that nothing holds: the implicit conversions,
/// and the tensor operators and <c>arange</c> overloads that take numbers. Once the handle is passed to libtorch the
/// managed object is garbage, so a collection started by another thread can run its finalizer, which frees the native
/// value, while libtorch is still reading it. A training run was seen to stop with libtorch's "Unknown scalar type"
/// (issue 17), and a stress test (a thread collecting garbage while the main thread adds a number to a tensor) failed 3
/// times in 818,127 calls; a freed value can also be read as another number, silently. <see cref="Of(double)"/> and
/// <see cref="Of(long)"/> keep each scalar they make referenced from a per-thread ring of the last
/// <see cref="RingSize"/>, long after the call that uses it has returned (the thread cannot make more while it waits in
/// that call); after that the finalizer frees it as before. The build bans the unowned conversions in the libraries
/// (<c>build/BannedSymbols.txt</c>), so model and training code goes through here.
/// </remarks>
internal static class Scalars
{
    internal const int RingSize = 256;

    [ThreadStatic]
    private static Scalar?[]? _ring;

    [ThreadStatic]
    private static int _next;

    /// <summary>A floating-point scalar (libtorch's double), held until this thread has made <see cref="RingSize"/> more.</summary>
    public static Scalar Of(double value) => Keep(value.ToScalar());

    /// <summary>An integer scalar (libtorch's int64, as TorchSharp makes for any integer), held like <see cref="Of(double)"/>.</summary>
    public static Scalar Of(long value) => Keep(value.ToScalar());

    /// <summary>0, 1, …, <paramref name="count"/> − 1 as int64 (what <c>arange(count)</c> gives), with owned bounds.</summary>
    public static Tensor Arange(long count, Device? device = null) => arange(Of(0L), Of(count), Of(1L), device: device);

    private static Scalar Keep(Scalar scalar)
    {
        var ring = _ring ??= new Scalar?[RingSize];
        ring[_next] = scalar;
        _next = (_next + 1) % RingSize;
        return scalar;
    }
}
