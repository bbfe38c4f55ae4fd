using System.Globalization;
using System.Text.Json.Nodes;
using SerMtl.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// HuggingFace's <c>Wav2Vec2ForSequenceClassification</c> (and <c>HubertForSequenceClassification</c>, the same model
/// on a HuBERT backbone), the head of most speech emotion checkpoints on the Hub (e.g.
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

    /// <summary>The <c>architectures</c> entries this class loads.</summary>
    public static IReadOnlyList<string> Architectures { get; } = [Architecture, HubertArchitecture];

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
            _layerWeights = new Parameter(ones(layers) / layers);
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
        var frames = projected.shape[1];
        var valid = (arange(frames, device: projected.device).unsqueeze(0) < output.FrameLengths.unsqueeze(1))
            .unsqueeze(-1).to(projected.dtype);                                                      // [B, T, 1]
        var pooled = (projected * valid).sum(1) / output.FrameLengths.to(projected.dtype).unsqueeze(1); // [B, P]
        return _classifier.call(pooled).MoveToOuterDisposeScope();                                   // [B, C]
    }

    /// <summary>
    /// Loads a <c>Wav2Vec2ForSequenceClassification</c> checkpoint from a directory or Hub id: the backbone as
    /// <see cref="Wav2Vec2Model.FromPretrained(string, Wav2Vec2LoadOptions?)"/> does, the head from the same weights,
    /// <c>id2label</c>, <c>classifier_proj_size</c> and <c>use_weighted_layer_sum</c> from <c>config.json</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The config names another architecture, or the head's tensors are missing or misshapen.</exception>
    public static Wav2Vec2ForSequenceClassification FromPretrained(string directoryOrHubId, Wav2Vec2LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directoryOrHubId);
        var directory = ModelLocator.Resolve(directoryOrHubId);
        var configPath = Path.Combine(directory, "config.json");
        JsonObject config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject ?? throw new InvalidDataException($"{configPath}: not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message})", e);
        }
        if (config["architectures"] is JsonArray architectures && !architectures.Any(a => Architectures.Contains(a?.ToString())))
            throw new InvalidDataException($"{configPath}: architectures [{string.Join(", ", architectures)}] includes neither {string.Join(" nor ", Architectures)}");
        var labels = ReadLabels(config, configPath);
        var projectionSize = config["classifier_proj_size"]?.GetValue<int>() ?? 256;
        var weighted = config["use_weighted_layer_sum"]?.GetValue<bool>() ?? false;

        var backbone = Wav2Vec2Model.FromPretrained(directory, options, HeadKeys.SelectMany(k => new[] { k, "wav2vec2." + k, "hubert." + k }).ToArray(),
            out var lmHead, out var head);
        if (lmHead is not null)
            foreach (var t in lmHead.Values) t.Dispose();
        Wav2Vec2ForSequenceClassification? model = null;
        try
        {
            model = new Wav2Vec2ForSequenceClassification(backbone, labels, projectionSize, weighted);
            model.LoadHead(head, configPath);
            if (options?.Device is { } device) _ = model.to(device);
            model.eval();
            return model;
        }
        catch
        {
            if (model is null) backbone.Dispose();
            model?.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in head.Values) t.Dispose();
        }
    }

    /// <summary><c>id2label</c> in id order, checked to cover 0..n-1.</summary>
    private static string[] ReadLabels(JsonObject config, string configPath)
    {
        if (config["id2label"] is not JsonObject id2label || id2label.Count == 0)
            throw new InvalidDataException($"{configPath}: no id2label; a sequence classifier needs its class names");
        var labels = new string[id2label.Count];
        foreach (var (key, value) in id2label)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id >= labels.Length || labels[id] is not null)
                throw new InvalidDataException($"{configPath}: id2label key '{key}' is not one of 0..{labels.Length - 1} (each once)");
            labels[id] = value?.GetValue<string>() ?? throw new InvalidDataException($"{configPath}: id2label['{key}'] is not a string");
        }
        return labels;
    }

    private void LoadHead(Dictionary<string, Tensor> raw, string source)
    {
        Tensor Get(string key, long[] shape)
        {
            var tensor = raw.GetValueOrDefault(key) ?? raw.GetValueOrDefault("wav2vec2." + key) ?? raw.GetValueOrDefault("hubert." + key)
                ?? throw new InvalidDataException($"{source}: the checkpoint has no '{key}' for the {Architecture} head");
            if (!tensor.shape.SequenceEqual(shape))
                throw new InvalidDataException($"{source}: '{key}' is [{string.Join(", ", tensor.shape)}], the config asks for [{string.Join(", ", shape)}]");
            return tensor;
        }
        using var _ = no_grad();
        _projector.weight!.copy_(Get("projector.weight", _projector.weight!.shape));
        _projector.bias!.copy_(Get("projector.bias", _projector.bias!.shape));
        _classifier.weight!.copy_(Get("classifier.weight", _classifier.weight!.shape));
        _classifier.bias!.copy_(Get("classifier.bias", _classifier.bias!.shape));
        _layerWeights?.copy_(Get("layer_weights", _layerWeights.shape));
    }
}
