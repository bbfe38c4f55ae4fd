using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// GroupNorm with one group per channel (normalisation over time, per channel), as in the first convolution of the
/// wav2vec2-base feature encoder, but with the statistics taken over each utterance's valid frames only. HF uses
/// <c>nn.GroupNorm</c> there, whose statistics include the padding, so a padded batch changes every utterance's
/// features; masking makes a batch give each utterance what it gets alone. Parameters are <c>weight</c>/<c>bias</c>
/// [C], as <c>nn.GroupNorm</c> stores them.
/// </summary>
internal sealed class MaskedGroupNorm : nn.Module<Tensor, Tensor?, Tensor>
{
    private const double Eps = 1e-5;

    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    public MaskedGroupNorm(long channels) : base(nameof(MaskedGroupNorm))
    {
        _weight = new Parameter(ones(channels));
        _bias = new Parameter(zeros(channels));
        RegisterComponents();
    }

    public void ResetParameters()
    {
        using var _ = no_grad();
        _weight.fill_(Scalars.Of(1L));
        _bias.zero_();
    }

    /// <summary>x: [B, C, T]; validFrames: [B, T] bool, true on valid frames (a prefix of each row), or null when every frame is valid.</summary>
    public override Tensor forward(Tensor x, Tensor? validFrames)
    {
        var channels = x.shape[1];
        if (validFrames is null)
            return nn.functional.group_norm(x, channels, _weight, _bias, Eps);

        using var scope = NewDisposeScope();
        // Statistics of each utterance over its own valid frames, read through views: x is the model's largest
        // activation ([B, 512, S / 5]), so no masked copy of it is made. Reduced-precision inputs get float32 statistics.
        using var counts = validFrames.sum(-1).cpu();
        var lengths = counts.data<long>().ToArray();
        var means = new Tensor[lengths.Length];
        var variances = new Tensor[lengths.Length];
        for (var b = 0; b < lengths.Length; b++)
        {
            var valid = x[b].narrow(-1, 0, Math.Max(lengths[b], 1));                   // [C, T_b]
            if (valid.dtype is ScalarType.BFloat16 or ScalarType.Float16) valid = valid.to(ScalarType.Float32);
            (variances[b], means[b]) = valid.var_mean(-1, unbiased: false, keepdim: true); // [C, 1], biased as GroupNorm
        }
        var mean = stack(means);                                                       // [B, C, 1]
        var scale = (stack(variances) + Scalars.Of(Eps)).rsqrt() * _weight.unsqueeze(-1);          // [B, C, 1]
        var shift = _bias.unsqueeze(-1) - mean * scale;                                // [B, C, 1]
        // One pass over x: y = x * scale + shift (padding frames are transformed too, and stay padding).
        return shift.to(x.dtype).addcmul(x, scale.to(x.dtype), Scalars.Of(1L)).MoveToOuterDisposeScope();
    }
}
