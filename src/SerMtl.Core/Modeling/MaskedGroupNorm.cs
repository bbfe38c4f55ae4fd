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
        _weight.fill_(1);
        _bias.zero_();
    }

    /// <summary>x: [B, C, T]; validFrames: [B, T] bool, true on valid frames, or null when every frame is valid.</summary>
    public override Tensor forward(Tensor x, Tensor? validFrames)
    {
        var channels = x.shape[1];
        if (validFrames is null)
            return nn.functional.group_norm(x, channels, _weight, _bias, Eps);

        using var scope = NewDisposeScope();
        var valid = validFrames.unsqueeze(1);                                    // [B, 1, T]
        var count = valid.sum(-1, keepdim: true, type: x.dtype);                 // [B, 1, 1]
        // masked_fill rather than a product: padding must not leak even when it holds inf/nan.
        var mean = x.masked_fill(valid.logical_not(), 0).sum(-1, keepdim: true) / count;                 // [B, C, 1]
        var centered = x - mean;                                                 // [B, C, T]
        var variance = centered.masked_fill(valid.logical_not(), 0).square().sum(-1, keepdim: true) / count; // biased, as GroupNorm
        var scale = (variance + Eps).rsqrt() * _weight.unsqueeze(-1);            // [B, C, 1]
        return centered.mul(scale).add(_bias.unsqueeze(-1)).MoveToOuterDisposeScope();
    }
}
