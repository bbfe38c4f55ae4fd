using System.Runtime.ExceptionServices;
using SerMtl.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// Gradient checkpointing of one transformer layer: the forward pass keeps only the layer's input (and the random
/// generator's state); the backward pass runs the layer again with autograd on and back-propagates through that copy,
/// which adds the parameters' gradients and gives the input's. Dropout draws the same masks again: on the CPU the
/// generator's state is put back for the recomputation and restored after it; on other devices (whose generator
/// TorchSharp does not expose) the layer runs on a stream reseeded from a number drawn on the CPU, both times.
/// </summary>
internal sealed class RecomputedLayer : autograd.SingleTensorFunction<RecomputedLayer>
{
    /// <summary>The first exception a recomputation threw since the last <see cref="ThrowIfRecomputationFailed"/>.</summary>
    private static ExceptionDispatchInfo? _failure;

    public override string Name => nameof(RecomputedLayer);

    /// <summary>
    /// Rethrows what a recomputation threw during the last backward pass (out of memory, say). libtorch calls
    /// <see cref="backward"/> from native code, which an exception must not cross (it would end the process), so the
    /// failure is kept, the layer's input gets no gradient, and the caller of <c>backward()</c> rethrows it here.
    /// </summary>
    public static void ThrowIfRecomputationFailed() => Interlocked.Exchange(ref _failure, null)?.Throw();

    /// <summary>
    /// x: [B, T, H] (requires grad); attendable: [B, 1, 1, T] bool or null; positionBias: WavLM's [heads, T, T] or
    /// null (its gradient, which reaches the first layer's table, is returned too). Returns the layer's output, whose
    /// gradient function is this recomputation.
    /// </summary>
    public static Tensor Apply(EncoderLayer layer, Tensor x, Tensor? attendable, Tensor? positionBias) => apply(x, attendable, positionBias, layer);

    /// <summary>vars: x, attendable (or null), position bias (or null), layer. Runs without autograd (the caller switched it off).</summary>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (x, attendable, positionBias, layer) = ((Tensor)vars[0], vars[1] as Tensor, vars[2] as Tensor, (EncoderLayer)vars[3]);
        ctx.save_for_backward([x, attendable ?? empty(0), positionBias ?? empty(0)]);
        ctx.save_data("optional", (attendable is not null, positionBias is not null));
        // An undefined output gradient (no loss depends on the output, or a later recomputation failed) stays
        // undefined: TorchSharp would make zeros from a tensor it caches in the forward's dispose scope, gone by then.
        ctx.set_materialize_grads(false);
        ctx.save_data("layer", layer);
        ctx.save_data("compute", MixedPrecision.ComputeType);
        byte[]? rngState = null; // kept as managed bytes: no native tensor to outlive the forward pass's dispose scopes
        long? seed = null;
        if (x.device_type == DeviceType.CPU)
        {
            using var state = random.get_rng_state();
            rngState = state.data<byte>().ToArray();
        }
        else
        {
            seed = randint(long.MaxValue, [1], ScalarType.Int64).item<long>();
            cuda.manual_seed(seed.Value);
        }
        ctx.save_data("rng", (rngState, seed));
        using var scope = NewDisposeScope();
        return layer.call(x, attendable, positionBias).MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        try
        {
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!, null!, null!];
            var (inputGrad, biasGrad) = Recompute(ctx, gradOutput);
            return [inputGrad, null!, biasGrad!, null!];
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            return [null!, null!, null!, null!];
        }
    }

    /// <summary>Runs the layer again with autograd, back-propagates <paramref name="gradOutput"/> through it and returns the gradients of the input and the position bias (null when it has none or needs none).</summary>
    private static (Tensor Input, Tensor? PositionBias) Recompute(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var layer = (EncoderLayer)ctx.get_data("layer");
        var compute = (ScalarType?)ctx.get_data("compute");
        var (rngState, seed) = ((byte[]?, long?))ctx.get_data("rng");
        var (hasMask, hasBias) = ((bool, bool))ctx.get_data("optional");
        var input = saved[0].detach().requires_grad_(true);
        var attendable = hasMask ? saved[1] : null;
        var positionBias = hasBias ? saved[2].detach().requires_grad_(saved[2].requires_grad) : null;

        Tensor? resume = null;
        if (rngState is not null)
        {
            resume = random.get_rng_state();
            random.set_rng_state(tensor(rngState, ScalarType.Byte));
        }
        else cuda.manual_seed(seed!.Value);
        try
        {
            using var grad = enable_grad();
            using var precision = compute is { } type ? MixedPrecision.Use(type) : null;
            var output = layer.call(input, attendable, positionBias);
            output.backward([gradOutput]);
        }
        finally
        {
            if (resume is not null) random.set_rng_state(resume);
        }
        return (input.grad!.MoveToOuterDisposeScope(), positionBias?.grad?.MoveToOuterDisposeScope());
    }
}
