using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// HuggingFace's <c>Wav2Vec2ForSequenceClassification</c> (and <c>HubertForSequenceClassification</c> /
/// <c>WavLMForSequenceClassification</c>, the same head on a HuBERT or WavLM backbone), the head of most speech emotion checkpoints on the Hub (e.g.
/// <c>superb/wav2vec2-base-superb-er</c>, <c>superb/hubert-large-superb-er</c>): the hidden states — every layer's input and the last state, mixed by
/// the softmax of <c>layer_weights</c> when <c>use_weighted_layer_sum</c> is set, else the last hidden state — go
/// through <c>projector</c> frame by frame, are averaged over each utterance's valid frames, and
/// <c>classifier</c> gives the logits. Keys and config fields are HF's, so its checkpoints load as they are.
/// </summary>
/// <remarks>
/// A padded batch gives what each utterance gives alone (the backbone guarantees it for group-norm models too, where
/// HF's own batching does not).
/// </remarks>
public sealed class Wav2Vec2ForSequenceClassification : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary>The <c>architectures</c> entry of such a checkpoint's config.</summary>
    public const string Architecture = "Wav2Vec2ForSequenceClassification";

    /// <summary>HuBERT's name for the same model (the backbone under <c>hubert.</c>), e.g. <c>superb/hubert-large-superb-er</c>.</summary>
    public const string HubertArchitecture = "HubertForSequenceClassification";

    /// <summary>WavLM's name for the same model (the backbone under <c>wavlm.</c>).</summary>
    public const string WavLMArchitecture = "WavLMForSequenceClassification";

    /// <summary>The <c>architectures</c> entries this class loads.</summary>
    public static IReadOnlyList<string> Architectures { get; } = [Architecture, HubertArchitecture, WavLMArchitecture];

    private static readonly string[] HeadKeys = ["projector.weight", "projector.bias", "classifier.weight", "classifier.bias", "layer_weights"];

    [ComponentName(Name = "wav2vec2")]
    private readonly Wav2Vec2Model _backbone;

    [ComponentName(Name = "projector")]
    private readonly Linear _projector;

    [ComponentName(Name = "classifier")]
    private readonly Linear _classifier;

    [ComponentName(Name = "layer_weights")]
    private readonly Parameter? _layerWeights;

    /// <summary>A freshly initialised head on <paramref name="backbone"/> (which the model then owns).</summary>
    /// <param name="backbone">The wav2vec 2.0 backbone.</param>
    /// <param name="labels">Class names in logit order (HF's <c>id2label</c>).</param>
    /// <param name="projectionSize">HF's <c>classifier_proj_size</c> (256 by default).</param>
    /// <param name="useWeightedLayerSum">HF's <c>use_weighted_layer_sum</c>.</param>
    public Wav2Vec2ForSequenceClassification(Wav2Vec2Model backbone, IReadOnlyList<string> labels, int projectionSize = 256, bool useWeightedLayerSum = false)
        : base(Architecture)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(labels.Count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(projectionSize, 1);
        _backbone = backbone;
        Labels = labels.ToArray();
        UseWeightedLayerSum = useWeightedLayerSum;
        _projector = nn.Linear(backbone.Config.HiddenSize, projectionSize);
        _classifier = nn.Linear(projectionSize, labels.Count);
        if (useWeightedLayerSum)
        {
            var layers = backbone.Config.NumHiddenLayers + 1;
            _layerWeights = new Parameter(ones(layers) / Scalars.Of((long)layers));
        }
        RegisterComponents();
    }

    /// <summary>The backbone.</summary>
    public Wav2Vec2Model Backbone => _backbone;

    /// <summary>Class names in logit order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Whether every layer's hidden state is mixed by the learned <c>layer_weights</c>.</summary>
    public bool UseWeightedLayerSum { get; }

    /// <summary>Logits [B, classes] of a preprocessed batch.</summary>
    public Tensor Forward(WaveformBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return call(batch.Waveforms, batch.Lengths);
    }

    /// <summary>waveforms [B, S] preprocessed, lengths [B] valid samples (or null when all are valid). Returns logits [B, classes].</summary>
    public override Tensor forward(Tensor waveforms, Tensor? lengths)
    {
        using var scope = NewDisposeScope();
        _backbone.OutputHiddenStates = UseWeightedLayerSum;
        using var output = _backbone.call(waveforms, lengths);
        var hidden = output.LastHiddenState;                                                         // [B, T, H]
        if (_layerWeights is not null)
        {
            var weights = _layerWeights.softmax(dim: 0).to(hidden.dtype).view(-1, 1, 1, 1);                // [L+1, 1, 1, 1]
            hidden = (stack(output.HiddenStates!, 0) * weights).sum(dim: 0);                            // [B, T, H]
        }
        var projected = _projector.call(hidden);                                                     // [B, T, P]
        var pooled = PooledFrames.Reduce(projected, output.FrameLengths, "mean");                     // [B, P]
        return _classifier.call(pooled).MoveToOuterDisposeScope();                                   // [B, C]
    }

    /// <summary>
    /// Loads a <c>Wav2Vec2ForSequenceClassification</c> checkpoint from a directory or Hub id: the backbone as
    /// <see cref="Wav2Vec2Model.FromPretrained(string, Wav2Vec2LoadOptions?)"/> does, the head from the same weights,
    /// <c>id2label</c>, <c>classifier_proj_size</c> and <c>use_weighted_layer_sum</c> from <c>config.json</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The config names another architecture, or the head's tensors are missing or misshapen.</exception>
    public static Wav2Vec2ForSequenceClassification FromPretrained(string directoryOrHubId, Wav2Vec2LoadOptions? options = null) =>
        HeadConfig.LoadTaskModel<Wav2Vec2ForSequenceClassification>(directoryOrHubId, options, Architectures, HeadKeys,
            (config, configPath) =>
            {
                var labels = HeadConfig.Labels(config, configPath);
                var projectionSize = config["classifier_proj_size"]?.GetValue<int>() ?? 256;
                var weighted = config["use_weighted_layer_sum"]?.GetValue<bool>() ?? false;
                return backbone => new Wav2Vec2ForSequenceClassification(backbone, labels, projectionSize, weighted);
            },
            (model, head, configPath) => model.LoadHead(head, configPath));

    private void LoadHead(Dictionary<string, Tensor> raw, string source)
    {
        HeadConfig.Copy(raw, "projector.weight", _projector.weight!, source);
        HeadConfig.Copy(raw, "projector.bias", _projector.bias!, source);
        HeadConfig.Copy(raw, "classifier.weight", _classifier.weight!, source);
        HeadConfig.Copy(raw, "classifier.bias", _classifier.bias!, source);
        if (_layerWeights is not null) HeadConfig.Copy(raw, "layer_weights", _layerWeights, source);
    }
}
