using SerMtl.Kernels;
using Convolution = SerMtl.Kernels.Convolution;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// A grouped Conv1d whose weight is stored weight-normalised, as <c>torch.nn.utils.weight_norm(conv, dim=2)</c>
/// leaves it: <c>weight = weight_g * weight_v / ||weight_v||</c> with the norm over every dim but the kernel dim.
/// Keys: <c>weight_g</c> [1, 1, K], <c>weight_v</c> [C_out, C_in / groups, K], <c>bias</c> [C_out].
/// </summary>
internal sealed class WeightNormConv1d : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight_g")]
    private readonly Parameter _weightG;

    [ComponentName(Name = "weight_v")]
    private readonly Parameter _weightV;

    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    private readonly long _padding;
    private readonly long _groups;

    public WeightNormConv1d(long channels, long kernel, long groups) : base(nameof(WeightNormConv1d))
    {
        _weightG = new Parameter(ones(1, 1, kernel));
        _weightV = new Parameter(empty(channels, channels / groups, kernel));
        _bias = new Parameter(zeros(channels));
        _padding = kernel / 2;
        _groups = groups;
        RegisterComponents();
    }

    /// <summary>The effective convolution weight [C_out, C_in / groups, K].</summary>
    public Tensor Weight()
    {
        using var scope = NewDisposeScope();
        // Recomputed on every call rather than cached (TorchSharp exposes no version counter to tell when weight_v
        // changed in place). The norm is a column sum over a [C_out * C_in / groups, K] view, a third of the time of
        // linalg.vector_norm over dims [0, 1] where measured.
        var kernel = _weightV.shape[2];
        var norm = _weightV.view(-1, kernel).square().sum(dim: 0, type: ScalarType.Float32).sqrt().view(1, 1, kernel); // [1, 1, K]
        return (_weightV * (_weightG / norm).to(_weightV.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>[B, C, T] -> [B, C, T + 1 - K % 2] (padding K / 2 on both sides), through <see cref="Convolution.Conv1d"/>.</summary>
    public override Tensor forward(Tensor x) => Convolution.Conv1d(x, Weight(), _bias, padding: _padding, groups: _groups);

    /// <summary>HF: v ~ N(0, 2·sqrt(1 / (K·C_in))), bias 0, then g = ||v|| so the effective weight starts at v.</summary>
    public void ResetParameters()
    {
        using var _ = no_grad();
        var kernel = _weightV.shape[2];
        var inChannels = _weightV.shape[0]; // HF uses the conv's in_channels (= hidden size), not per group
        nn.init.normal_(_weightV, 0, 2 * Math.Sqrt(1.0 / (kernel * inChannels)));
        _weightG.copy_(_weightV.square().sum([0, 1], keepdim: true).sqrt());
        _bias.zero_();
    }
}

/// <summary>
/// HF <c>encoder.pos_conv_embed</c>: relative positional information from a wide grouped convolution over time,
/// trimmed to the input length (an even kernel with padding K / 2 yields one extra frame, which is dropped), then
/// the feature-encoder activation.
/// </summary>
internal sealed class PositionalConvEmbedding : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "conv")]
    private readonly WeightNormConv1d _conv;

    private readonly bool _dropLastFrame;
    private readonly Activation _activation;

    public PositionalConvEmbedding(Wav2Vec2Config config) : base(nameof(PositionalConvEmbedding))
    {
        _conv = new WeightNormConv1d(config.HiddenSize, config.NumConvPosEmbeddings, config.NumConvPosEmbeddingGroups);
        _dropLastFrame = config.NumConvPosEmbeddings % 2 == 0;
        _activation = config.FeatExtractActivation;
        RegisterComponents();
    }

    /// <summary>[B, T, H] -> [B, T, H]. Frames past an utterance's end must already be zero (as when it runs alone).</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var frames = hidden.shape[1];
        var y = _conv.call(hidden.transpose(1, 2)); // [B, H, T (+1)]
        if (_dropLastFrame) y = y.narrow(2, 0, frames);
        return _activation.ApplyToOwned(y).transpose(1, 2).MoveToOuterDisposeScope();
    }

    public void ResetParameters() => _conv.ResetParameters();
}
