using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>HF <c>feature_projection</c>: LayerNorm over the conv channels, a linear map to the hidden size, dropout.</summary>
internal sealed class FeatureProjection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "layer_norm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "projection")]
    private readonly Linear _projection;

    private readonly double _dropout;

    public FeatureProjection(Wav2Vec2Config config) : base(nameof(FeatureProjection))
    {
        var channels = config.ConvDim[^1];
        _layerNorm = nn.LayerNorm(channels, eps: config.LayerNormEps);
        _projection = nn.Linear(channels, config.HiddenSize);
        _dropout = config.FeatProjDropout;
        RegisterComponents();
    }

    /// <summary>[B, T, C] -> [B, T, H].</summary>
    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        var x = FastLinear.Apply(_layerNorm.call(features), _projection.weight!, _projection.bias);
        return nn.functional.dropout(x, _dropout, training).MoveToOuterDisposeScope();
    }

    /// <summary>HF initialises the projection uniformly in ±1/sqrt(fan_in) and the norm to identity.</summary>
    public void ResetParameters()
    {
        using var _ = no_grad();
        var bound = 1.0 / Math.Sqrt(_projection.weight!.shape[1]);
        nn.init.uniform_(_projection.weight!, -bound, bound);
        nn.init.uniform_(_projection.bias!, -bound, bound);
        _layerNorm.weight!.fill_(Scalars.Of(1L));
        _layerNorm.bias!.zero_();
    }
}
