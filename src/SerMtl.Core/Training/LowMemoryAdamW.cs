using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>
/// TorchSharp's <see cref="AdamW"/> with the same update, state, options and state dict, but a step that frees each
/// parameter's temporaries before moving to the next. TorchSharp's own step runs every parameter inside one dispose
/// scope, so the two full-size temporaries it makes per parameter (√v and √v / √(1 - β₂ᵗ)) all live until the step
/// ends: for wav2vec2-base that is 2 × 95 M floats, about 750 MB on top of the weights, gradients and moments at the
/// step's peak. Here one temporary of the largest parameter is alive at a time.
/// </summary>
internal sealed class LowMemoryAdamW : AdamW
{
    /// <summary>Same as <see cref="AdamW(IEnumerable{AdamW.ParamGroup}, double, double, double, double, double, bool, bool)"/>.</summary>
    public LowMemoryAdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad: false, maximize: false)
    {
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
        foreach (var group in _parameter_groups)
        {
            var options = (Options)group.Options;
            if (options.amsgrad == true || options.maximize == true)
                throw new NotSupportedException("LowMemoryAdamW implements plain AdamW (no AMSGrad, no maximize)");
            var (beta1, beta2, eps) = (options.beta1!.Value, options.beta2!.Value, options.eps!.Value);
            var (lr, weightDecay) = (options.LearningRate!.Value, options.weight_decay!.Value);
            foreach (var param in group.Parameters)
            {
                using var scope = NewDisposeScope();
                var grad = param.grad;
                if (grad is null) continue;
                var state = (State)_state[param.Handle];
                state.step += 1;
                var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
                var biasCorrection2 = 1 - Math.Pow(beta2, state.step);

                param.mul_(1 - lr * weightDecay);
                state.exp_avg.mul_(beta1).add_(grad, alpha: 1 - beta1);
                state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
                // The same operations, in the same order, as TorchSharp's step, with the quotient taken in place.
                var denominator = state.exp_avg_sq.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(eps);
                param.addcdiv_(state.exp_avg, denominator, value: -lr / biasCorrection1);
            }
        }
        return loss!;
    }
}
