using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// HF <c>encoder</c>: positional convolution, <c>layer_norm</c> and the transformer layers (WavLM's with their relative
/// position bias). Post-LN
/// (<c>do_stable_layer_norm: false</c>): x + pos(x), layer norm, dropout, layers. Pre-LN (<c>true</c>):
/// x + pos(x), dropout, layers, final layer norm.
/// </summary>
internal sealed class Wav2Vec2Encoder : nn.Module<Tensor, Tensor?, Tensor>
{
    [ComponentName(Name = "pos_conv_embed")]
    private readonly PositionalConvEmbedding _posConvEmbed;

    [ComponentName(Name = "layer_norm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "layers")]
    private readonly ModuleList<EncoderLayer> _layers;

    private readonly bool _preLayerNorm;
    private readonly double _hiddenDropout;
    private readonly double _layerDrop;
    private readonly bool _wavLM;

    public Wav2Vec2Encoder(Wav2Vec2Config config) : base(nameof(Wav2Vec2Encoder))
    {
        _posConvEmbed = new PositionalConvEmbedding(config);
        _layerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        _layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new EncoderLayer(config, first: i == 0)).ToArray());
        _wavLM = config.IsWavLM;
        _preLayerNorm = config.DoStableLayerNorm;
        _hiddenDropout = config.HiddenDropout;
        _layerDrop = config.LayerDrop;
        RegisterComponents();
    }

    /// <summary>
    /// Recompute each transformer layer in the backward pass instead of keeping its activations (see
    /// <see cref="RecomputedLayer"/>). Applies only where the layer's input requires a gradient.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>hidden: [B, T, H]; validFrames: [B, T] bool or null when nothing is padded. Returns [B, T, H].</summary>
    public override Tensor forward(Tensor hidden, Tensor? validFrames) => Run(hidden, validFrames, null);

    /// <summary>
    /// As <see cref="forward"/>, also adding HF's <c>hidden_states</c> to <paramref name="states"/> when given: the
    /// input of each layer, then the last hidden state (after the final layer norm in stable-layer-norm models), so
    /// num_hidden_layers + 1 tensors [B, T, H] that the caller owns; the last is the returned tensor's equal.
    /// </summary>
    internal Tensor Run(Tensor hidden, Tensor? validFrames, List<Tensor>? states)
    {
        using var scope = NewDisposeScope();
        Tensor? attendable = null;
        var x = hidden;
        if (validFrames is not null)
        {
            // Padded frames are zeroed so the positional convolution sees what it sees past the end of a lone utterance.
            x = x.masked_fill(validFrames.logical_not().unsqueeze(-1), Scalars.Of(0L));
            attendable = validFrames.unsqueeze(1).unsqueeze(1); // [B, 1, 1, T]: key padding mask for every head and query
        }
        x = x + _posConvEmbed.call(x);
        if (!_preLayerNorm) x = _layerNorm.call(x);
        x = nn.functional.dropout(x, _hiddenDropout, training);
        // WavLM: the first layer's table gives one relative position bias that every layer gates (padded keys are
        // masked, so a padded utterance sees the bias it sees alone: it depends on offsets only).
        var positionBias = _wavLM && _layers.Count > 0 ? _layers[0].PositionBias(x.shape[1], x.device) : null;
        for (var i = 0; i < _layers.Count; i++)
        {
            var layer = _layers[i];
            states?.Add(x.alias().MoveToOuterDisposeScope());
            // LayerDrop: in training, skip the whole layer with probability p (drawn from torch's generator); as in
            // HF, never WavLM's first layer.
            if (training && _layerDrop > 0 && !(_wavLM && i == 0) && rand(1).item<float>() < _layerDrop) continue;
            x = GradientCheckpointing && x.requires_grad && is_grad_enabled()
                ? RecomputedLayer.Apply(layer, x, attendable, positionBias)
                : layer.call(x, attendable, positionBias);
        }
        if (_preLayerNorm) x = _layerNorm.call(x);
        states?.Add(x.alias().MoveToOuterDisposeScope());
        return x.MoveToOuterDisposeScope();
    }

    public void ResetParameters(double initializerRange)
    {
        using var _ = no_grad();
        _posConvEmbed.ResetParameters();
        _layerNorm.weight!.fill_(Scalars.Of(1L));
        _layerNorm.bias!.zero_();
        foreach (var layer in _layers) layer.ResetParameters(initializerRange);
    }
}
