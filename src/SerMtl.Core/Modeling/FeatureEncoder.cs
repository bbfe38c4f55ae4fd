using SerMtl.Kernels;
using Convolution = SerMtl.Kernels.Convolution;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// One convolution of the feature encoder (HF <c>feature_extractor.conv_layers.N</c>): <c>conv</c>, then an optional
/// norm stored as <c>layer_norm</c> (a per-channel GroupNorm in the first layer of group-norm models, a LayerNorm over
/// channels in every layer of layer-norm models), then the activation.
/// </summary>
internal sealed class ConvLayerBlock : nn.Module<Tensor, Tensor?, Tensor>
{
    [ComponentName(Name = "conv")]
    private readonly Conv1d _conv;

    // One field for either norm: TorchSharp's module.to() keys fields by component name, so two may not share one.
    [ComponentName(Name = "layer_norm")]
    private readonly nn.Module<Tensor, Tensor?, Tensor>? _norm;

    private readonly Activation _activation;

    public ConvLayerBlock(long inChannels, long outChannels, long kernel, long stride, bool bias, FeatureNorm? norm, Activation activation)
        : base(nameof(ConvLayerBlock))
    {
        Kernel = kernel;
        Stride = stride;
        OutChannels = outChannels;
        _conv = nn.Conv1d(inChannels, outChannels, kernel, stride: stride, bias: bias);
        _norm = norm switch
        {
            FeatureNorm.Group => new MaskedGroupNorm(outChannels),
            FeatureNorm.Layer => new ChannelLayerNorm(outChannels),
            _ => null,
        };
        _activation = activation;
        RegisterComponents();
    }

    public long Kernel { get; }

    public long OutChannels { get; }

    public long Stride { get; }

    /// <summary>Whether <see cref="forward"/> uses the valid-frame mask (only the masked GroupNorm does).</summary>
    public bool UsesFrameMask => _norm is MaskedGroupNorm;

    /// <summary>x: [B, C_in, S] -> [B, C_out, T]; validFrames [B, T] (this layer's output frames) or null.</summary>
    public override Tensor forward(Tensor x, Tensor? validFrames)
    {
        using var scope = NewDisposeScope();
        var y = Convolve(x);
        if (_norm is not null) y = _norm.call(y, validFrames);
        return _activation.ApplyToOwned(y).MoveToOuterDisposeScope();
    }

    /// <summary>The convolution [B, C_in, S] -> [B, C_out, T], through <see cref="Convolution.Conv1d"/>.</summary>
    private Tensor Convolve(Tensor x) => Convolution.Conv1d(x, _conv.weight!, _conv.bias, stride: Stride);

    /// <summary>Output frames of this layer for <paramref name="inputLength"/> input frames: floor((L - K) / S) + 1.</summary>
    public long OutputLength(long inputLength) => (inputLength - Kernel) / Stride + 1;

    /// <summary>Initialisation of HF's <c>_init_weights</c>: Kaiming-normal conv weights, uniform conv bias, unit norms.</summary>
    public void ResetParameters()
    {
        using var _ = no_grad();
        nn.init.kaiming_normal_(_conv.weight);
        if (_conv.bias is { } b)
        {
            var fanIn = _conv.weight.shape[1] * _conv.weight.shape[2];
            var bound = 1.0 / Math.Sqrt(fanIn);
            nn.init.uniform_(b, -bound, bound);
        }
        (_norm as MaskedGroupNorm)?.ResetParameters();
        (_norm as ChannelLayerNorm)?.ResetParameters();
    }
}

/// <summary>
/// LayerNorm over the channels of each frame of [B, C, T] (HF's <c>Wav2Vec2LayerNormConvLayer</c> transposes around
/// <c>nn.LayerNorm</c>); keys <c>weight</c>/<c>bias</c> [C]. Per frame, so padding cannot leak; the mask is unused.
/// </summary>
internal sealed class ChannelLayerNorm : nn.Module<Tensor, Tensor?, Tensor>
{
    private const double Eps = 1e-5;

    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    public ChannelLayerNorm(long channels) : base(nameof(ChannelLayerNorm))
    {
        _weight = new Parameter(ones(channels));
        _bias = new Parameter(zeros(channels));
        RegisterComponents();
    }

    /// <summary>[B, C, T] -> [B, C, T].</summary>
    public override Tensor forward(Tensor x, Tensor? validFrames)
    {
        using var scope = NewDisposeScope();
        return nn.functional.layer_norm(x.transpose(1, 2), [_weight.shape[0]], _weight, _bias, Eps).transpose(1, 2).MoveToOuterDisposeScope();
    }

    public void ResetParameters()
    {
        using var _ = no_grad();
        _weight.fill_(Scalars.Of(1L));
        _bias.zero_();
    }
}

/// <summary>
/// The convolutional feature encoder (HF <c>feature_extractor</c>): raw waveform [B, S] to frames [B, C, T], one
/// frame per <see cref="Wav2Vec2Config.SamplesPerFrame"/> samples.
/// </summary>
internal sealed class FeatureEncoder : nn.Module<Tensor, long[]?, Tensor>
{
    [ComponentName(Name = "conv_layers")]
    private readonly ModuleList<ConvLayerBlock> _convLayers;

    public FeatureEncoder(Wav2Vec2Config config) : base(nameof(FeatureEncoder))
    {
        var layers = new List<ConvLayerBlock>();
        long inChannels = 1;
        for (var i = 0; i < config.ConvDim.Count; i++)
        {
            FeatureNorm? norm = config.FeatExtractNorm == FeatureNorm.Layer ? FeatureNorm.Layer
                : i == 0 ? FeatureNorm.Group : null;
            layers.Add(new ConvLayerBlock(inChannels, config.ConvDim[i], config.ConvKernel[i], config.ConvStride[i],
                config.ConvBias, norm, config.FeatExtractActivation));
            inChannels = config.ConvDim[i];
        }
        _convLayers = nn.ModuleList(layers.ToArray());
        RegisterComponents();
    }

    /// <summary>
    /// waveforms: [B, S]; sampleLengths: valid samples per utterance, or null when none is padded.
    /// Returns [B, C, T]. Frames at or beyond an utterance's valid length are padding; valid frames never depend on
    /// padded samples (the length formula guarantees it, layer after layer).
    /// </summary>
    /// <remarks>
    /// Where <see cref="BatchStrategy.FeatureEncoderPerUtterance"/> says so (large CPU batches), the utterances run one at a
    /// time over their valid samples and the results are zero-padded to T frames.
    /// </remarks>
    public override Tensor forward(Tensor waveforms, long[]? sampleLengths)
    {
        using var scope = NewDisposeScope();
        var batch = waveforms.shape[0];
        var first = _convLayers[0];
        var firstLayerElements = batch * first.OutChannels * first.OutputLength(waveforms.shape[1]);
        if (!BatchStrategy.FeatureEncoderPerUtterance(waveforms, firstLayerElements))
            return Run(waveforms, sampleLengths).MoveToOuterDisposeScope();

        var frames = _convLayers.Aggregate(waveforms.shape[1], (length, layer) => layer.OutputLength(length));
        var outputs = new Tensor[batch];
        for (var i = 0; i < batch; i++)
        {
            var length = sampleLengths?[i] ?? waveforms.shape[1];
            var one = Run(waveforms[i].narrow(0, 0, length).unsqueeze(0), null); // [1, C, T_i]
            outputs[i] = one.shape[2] == frames ? one : nn.functional.pad(one, [0, frames - one.shape[2]]);
        }
        return cat(outputs, 0).MoveToOuterDisposeScope();
    }

    /// <summary>The convolutions over a batch at once; <paramref name="sampleLengths"/> as in <see cref="forward"/>.</summary>
    private Tensor Run(Tensor waveforms, long[]? sampleLengths)
    {
        using var scope = NewDisposeScope();
        var x = waveforms.unsqueeze(1); // [B, 1, S]
        var lengths = sampleLengths;
        foreach (var layer in _convLayers)
        {
            Tensor? validFrames = null;
            if (lengths is not null)
            {
                lengths = lengths.Select(layer.OutputLength).ToArray();
            }
            if (lengths is not null && layer.UsesFrameMask)
            {
                validFrames = Scalars.Arange(layer.OutputLength(x.shape[2]), x.device).unsqueeze(0) < tensor(lengths, device: x.device).unsqueeze(1); // [B, T]
            }
            x = layer.call(x, validFrames);
        }
        return x.MoveToOuterDisposeScope();
    }

    public void ResetParameters()
    {
        foreach (var layer in _convLayers) layer.ResetParameters();
    }
}
