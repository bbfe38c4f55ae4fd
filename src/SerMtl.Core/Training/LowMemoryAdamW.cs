using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>
/// TorchSharp's <see cref="AdamW"/> with the same update, options and state dict, but a leaner step, and optionally
/// bfloat16 moments.
/// <list type="bullet">
/// <item>Contiguous float32 CPU parameters are updated by <see cref="AdamWKernel"/> in one pass over memory; other
/// parameters (CUDA) by libtorch operations, one parameter at a time in its own dispose scope. TorchSharp's own step
/// keeps every parameter's temporaries (√v and √v / √(1 - β₂ᵗ)) until it ends: for wav2vec2-base 2 × 95 M floats,
/// about 750 MB at the step's peak.</item>
/// <item>With bfloat16 state the moments take half the memory (for wav2vec2-base with the feature encoder frozen,
/// 360 MB instead of 720 MB). They are updated in float32 and stored by stochastic rounding, with noise drawn from a
/// stream fixed by the seed, the parameter and its update count, so a resumed run rounds as an uninterrupted one.</item>
/// </list>
/// </summary>
internal sealed class LowMemoryAdamW : AdamW
{
    private readonly ScalarType _stateType;
    private readonly ulong _seed;
    private Generator? _generator;

    /// <summary>Same as <see cref="AdamW(IEnumerable{AdamW.ParamGroup}, double, double, double, double, double, bool, bool)"/>.</summary>
    public LowMemoryAdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : this(groups, lr, beta1, beta2, eps, weightDecay, ScalarType.Float32, seed: 0)
    {
    }

    /// <summary>As above, with moments stored in <paramref name="stateType"/> (float32 or bfloat16); <paramref name="seed"/> seeds bfloat16's stochastic rounding.</summary>
    /// <exception cref="ArgumentException"><paramref name="stateType"/> is neither float32 nor bfloat16.</exception>
    public LowMemoryAdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay,
        ScalarType stateType, ulong seed)
        : base(Array.Empty<ParamGroup>(), lr, beta1, beta2, eps, weightDecay, amsgrad: false, maximize: false)
    {
        if (stateType is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"AdamW moments are stored in float32 or bfloat16, not {stateType}", nameof(stateType));
        _stateType = stateType;
        _seed = seed;
        // The base constructor was given no groups: its add_param_group would allocate float32 moments for all of them.
        foreach (var group in groups) add_param_group(group);
    }

    /// <summary>The dtype of the moments.</summary>
    public ScalarType StateType => _stateType;

    /// <summary>Adds the group with zeroed moments in <see cref="StateType"/>; options left unset take the optimizer's defaults.</summary>
    public override void add_param_group(TorchSharp.Modules.ParamGroup param_group)
    {
        ArgumentNullException.ThrowIfNull(param_group);
        var defaults = (Options)_defaults;
        param_group.Options ??= new Options();
        var options = (Options)param_group.Options;
        options.LearningRate ??= defaults.LearningRate;
        options.beta1 ??= defaults.beta1;
        options.beta2 ??= defaults.beta2;
        options.eps ??= defaults.eps;
        options.weight_decay ??= defaults.weight_decay;
        options.amsgrad ??= defaults.amsgrad;
        options.maximize ??= defaults.maximize;
        options.InitialLearningRate = options.LearningRate!.Value;
        _parameter_groups.Add(param_group);
        foreach (var param in param_group.Parameters)
        {
            _state[param.Handle] = new State(param)
            {
                step = 0,
                exp_avg = zeros_like(param, dtype: _stateType).DetachFromDisposeScope(),
                exp_avg_sq = zeros_like(param, dtype: _stateType).DetachFromDisposeScope(),
            };
        }
    }

    /// <summary>One AdamW update of every parameter that has a gradient (decoupled weight decay, bias-corrected moments).</summary>
    /// <exception cref="NotSupportedException">A group asks for AMSGrad or maximisation, which this step does not implement.</exception>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        Tensor? loss = null;
        if (closure is not null)
        {
            using var grad = enable_grad();
            loss = closure();
        }

        using var noGrad = no_grad();
        var threads = Math.Max(1, get_num_threads());
        var index = 0UL;
        foreach (var group in _parameter_groups)
        {
            var options = (Options)group.Options;
            if (options.amsgrad == true || options.maximize == true)
                throw new NotSupportedException("LowMemoryAdamW implements plain AdamW (no AMSGrad, no maximize)");
            var (beta1, beta2, eps) = (options.beta1!.Value, options.beta2!.Value, options.eps!.Value);
            var (lr, weightDecay) = (options.LearningRate!.Value, options.weight_decay!.Value);
            foreach (var param in group.Parameters)
            {
                var paramIndex = index++;
                using var scope = NewDisposeScope();
                var grad = param.grad;
                if (grad is null) continue;
                var state = (State)_state[param.Handle];
                state.step += 1;
                var seed = AdamWKernel.Mix(AdamWKernel.Mix(_seed, paramIndex), (ulong)state.step);
                if (AdamWKernel.Supports(param, grad, state.exp_avg, state.exp_avg_sq))
                    AdamWKernel.Step(param, grad, state.exp_avg, state.exp_avg_sq, AdamWFactors.For(lr, beta1, beta2, eps, weightDecay, state.step), seed, threads);
                else
                    StepWithTensorOperations(param, grad, state, lr, beta1, beta2, eps, weightDecay, seed);
            }
        }
        return loss!;
    }

    /// <summary>
    /// The update as libtorch operations (the same operations, in the same order, as TorchSharp's step, with the
    /// quotient taken in place); bfloat16 moments are computed in float32 and stored by <see cref="StochasticRound"/>.
    /// </summary>
    private void StepWithTensorOperations(Tensor param, Tensor grad, State state, double lr, double beta1, double beta2, double eps, double weightDecay, ulong seed)
    {
        var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
        var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
        var compact = state.exp_avg.dtype != param.dtype;
        var expAvg = compact ? state.exp_avg.to(param.dtype) : state.exp_avg;
        var expAvgSq = compact ? state.exp_avg_sq.to(param.dtype) : state.exp_avg_sq;

        param.mul_(Scalars.Of(1 - lr * weightDecay));
        expAvg.mul_(Scalars.Of(beta1)).add_(grad, alpha: Scalars.Of(1 - beta1));
        expAvgSq.mul_(Scalars.Of(beta2)).addcmul_(grad, grad, value: Scalars.Of(1 - beta2));
        var denominator = expAvgSq.sqrt().div_(Scalars.Of(Math.Sqrt(biasCorrection2))).add_(Scalars.Of(eps), Scalars.Of(1L));
        param.addcdiv_(expAvg, denominator, value: Scalars.Of(-lr / biasCorrection1));
        if (!compact) return;

        if (_generator is null || _generator.device != param.device) _generator = new Generator((ulong)_seed, param.device);
        _generator.manual_seed((long)(seed >> 1));
        state.exp_avg.copy_(StochasticRound(expAvg, state.exp_avg.dtype, _generator));
        state.exp_avg_sq.copy_(StochasticRound(expAvgSq, state.exp_avg_sq.dtype, _generator));
    }

    /// <summary>
    /// <paramref name="x"/> rounded to <paramref name="type"/> (bfloat16, 8 significant bits) toward or away from zero
    /// at random, away with probability equal to the distance from the lower neighbour in units of the spacing. With
    /// x = m·2^e (|m| in [0.5, 1)), |m|·256 lies in [128, 256) and the neighbours are its floor and ceiling times
    /// 2^(e-8), so the result is sign(m)·floor(|m|·256 + u)·2^(e-8) with u uniform in [0, 1): exact in float32 and
    /// representable in bfloat16.
    /// </summary>
    internal static Tensor StochasticRound(Tensor x, ScalarType type, Generator generator)
    {
        using var scope = NewDisposeScope();
        var (mantissa, exponent) = frexp(x);
        var sign = mantissa.sign();
        var uniform = rand(x.shape, x.dtype, x.device, generator: generator);
        var rounded = mantissa.abs_().mul_(Scalars.Of(256L)).add_(uniform, Scalars.Of(1L)).floor_().mul_(sign).ldexp_(exponent.sub_(Scalars.Of(8L)));
        return rounded.to(type).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _generator?.Dispose();
        base.Dispose(disposing);
    }
}
