using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// One transformer layer (HF <c>encoder.layers.N</c>). Post-LN (<c>Wav2Vec2EncoderLayer</c>):
/// <c>x = LN(x + drop(attn(x))); x = LN_final(x + ff(x))</c>. Pre-LN (<c>Wav2Vec2EncoderLayerStableLayerNorm</c>):
/// <c>x = x + drop(attn(LN(x))); x = x + ff(LN_final(x))</c>.
/// </summary>
internal sealed class EncoderLayer : nn.Module<Tensor, Tensor?, Tensor?, Tensor>
{
    [ComponentName(Name = "attention")]
    private readonly SelfAttention _attention;

    [ComponentName(Name = "layer_norm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "feed_forward")]
    private readonly FeedForward _feedForward;

    [ComponentName(Name = "final_layer_norm")]
    private readonly LayerNorm _finalLayerNorm;

    private readonly bool _preLayerNorm;
    private readonly double _hiddenDropout;

    /// <param name="config">The architecture.</param>
    /// <param name="first">Whether this is the first layer, which holds WavLM's relative position table.</param>
    public EncoderLayer(Wav2Vec2Config config, bool first = false) : base(nameof(EncoderLayer))
    {
        _attention = new SelfAttention(config, holdsPositionTable: first);
        _layerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        _feedForward = new FeedForward(config);
        _finalLayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        _preLayerNorm = config.DoStableLayerNorm;
        _hiddenDropout = config.HiddenDropout;
        RegisterComponents();
    }

    /// <summary>x: [B, T, H]; attendable: [B, 1, 1, T] bool or null; positionBias: WavLM's [heads, T, T] or null. Returns [B, T, H].</summary>
    public override Tensor forward(Tensor x, Tensor? attendable, Tensor? positionBias)
    {
        using var scope = NewDisposeScope();
        Tensor y;
        if (_preLayerNorm)
        {
            y = x + nn.functional.dropout(_attention.call(_layerNorm.call(x), attendable, positionBias), _hiddenDropout, training);
            y = y + _feedForward.call(_finalLayerNorm.call(y));
        }
        else
        {
            y = _layerNorm.call(x + nn.functional.dropout(_attention.call(x, attendable, positionBias), _hiddenDropout, training));
            y = _finalLayerNorm.call(y + _feedForward.call(y));
        }
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>HF: linear weights ~ N(0, initializer_range), biases 0, norms identity.</summary>
    public void ResetParameters(double initializerRange)
    {
        using var _ = no_grad();
        foreach (var linear in _attention.Projections.Concat(_feedForward.Projections))
        {
            nn.init.normal_(linear.weight!, 0, initializerRange);
            linear.bias!.zero_();
        }
        foreach (var norm in new[] { _layerNorm, _finalLayerNorm })
        {
            norm.weight!.fill_(Scalars.Of(1L));
            norm.bias!.zero_();
        }
        _attention.ResetRelativeParameters(initializerRange);
    }

    /// <summary>WavLM's relative position bias [heads, T, T]; only the first layer holds its table.</summary>
    public Tensor PositionBias(long frames, Device device) => _attention.PositionBias(frames, device);
}
