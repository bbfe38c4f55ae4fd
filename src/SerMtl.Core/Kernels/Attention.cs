using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Kernels;

/// <summary>
/// softmax(q kᵀ / √d + mask) v, through the kernel that suits the call: libtorch's fused scaled-dot-product attention
/// with autograd, in training mode or off the CPU, and the three operations written out for CPU inference, where
/// libtorch's CPU SDPA kernel was measured slower (README, Performance). Both take the same inputs and give the same
/// result.
/// </summary>
internal static class Attention
{
    /// <summary>
    /// q, k, v: [B, nH, T, d]; attendable: [B, 1, 1, T] bool (true on valid keys) or null; bias: [B, nH, T, T] added
    /// to the scores (WavLM's position bias) or null; dropout on the weights. <paramref name="training"/> keeps the fused
    /// kernel even without autograd, so that a layer recomputed for its gradient (<c>RecomputedLayer</c>) draws the same
    /// dropout masks as its first run. Returns [B, nH, T, d].
    /// </summary>
    public static Tensor ScaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor? attendable, Tensor? bias, double dropout, bool training)
    {
        if (!(is_grad_enabled() || training || q.device_type != DeviceType.CPU)) return WrittenOut(q, k, v, attendable, bias, dropout);
        if (bias is null) return nn.functional.scaled_dot_product_attention(q, k, v, attendable, dropout);
        using var scope = NewDisposeScope();
        // A float mask is added to the scores: the bias, with -inf on padded keys.
        var mask = attendable is null ? bias : bias.masked_fill(attendable.logical_not(), Scalars.Of(double.NegativeInfinity));
        return nn.functional.scaled_dot_product_attention(q, k, v, mask.to(q.dtype), dropout).MoveToOuterDisposeScope();
    }

    private static Tensor WrittenOut(Tensor q, Tensor k, Tensor v, Tensor? attendable, Tensor? bias, double dropout)
    {
        using var scope = NewDisposeScope();
        var scores = (q * Scalars.Of(1.0 / Math.Sqrt(q.shape[^1]))).matmul(k.transpose(-2, -1)); // [B, nH, T, T]
        if (bias is not null) scores.add_(bias);
        if (attendable is not null) scores.masked_fill_(attendable.logical_not(), Scalars.Of(double.NegativeInfinity));
        var weights = nn.functional.dropout(scores.softmax(-1), dropout, dropout > 0);
        return weights.matmul(v).MoveToOuterDisposeScope();
    }
}
