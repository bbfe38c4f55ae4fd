using SerMtl.Kernels;
using System.Globalization;
using System.Text.Json.Nodes;
using SerMtl.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// The <c>Wav2Vec2ForSpeechClassification</c> head many Hub speech-emotion checkpoints were trained with (e.g.
/// <c>audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim</c>, whose three outputs are arousal, dominance and
/// valence scores): the last hidden state pooled over each utterance's valid frames (<c>pooling_mode</c> mean, sum or
/// max), then <c>classifier.dense</c>, tanh, <c>classifier.out_proj</c>. Outputs are class logits, or scores when
/// <c>problem_type</c> is <c>regression</c>.
/// </summary>
public sealed class Wav2Vec2ForSpeechClassification : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary>The <c>architectures</c> entry of such a checkpoint's config.</summary>
    public const string Architecture = "Wav2Vec2ForSpeechClassification";

    /// <summary>
    /// The <c>architectures</c> entries this class loads: the community's names for the same head on wav2vec2, HuBERT
    /// (<c>hubert.</c> keys) and WavLM (<c>wavlm.</c> keys) backbones.
    /// </summary>
    public static IReadOnlyList<string> Architectures { get; } = [Architecture, "HubertForSpeechClassification", "WavLMForSpeechClassification"];

    private static readonly string[] HeadKeys = ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"];

    [ComponentName(Name = "wav2vec2")]
    private readonly Wav2Vec2Model _backbone;

    [ComponentName(Name = "classifier")]
    private readonly DenseTanhHead _classifier;

    /// <summary>A freshly initialised head on <paramref name="backbone"/> (which the model then owns).</summary>
    /// <param name="backbone">The wav2vec 2.0 backbone.</param>
    /// <param name="labels">Output names in order (<c>id2label</c>): classes, or the dimensions of a regression model.</param>
    /// <param name="pooling">How frames are pooled: mean, sum or max over valid frames.</param>
    /// <param name="isRegression">Whether the outputs are scores (<c>problem_type: regression</c>) rather than class logits.</param>
    public Wav2Vec2ForSpeechClassification(Wav2Vec2Model backbone, IReadOnlyList<string> labels, string pooling = "mean", bool isRegression = false)
        : base(Architecture)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(labels.Count, 1);
        if (pooling is not ("mean" or "sum" or "max"))
            throw new ArgumentException($"pooling_mode must be mean, sum or max, got '{pooling}'", nameof(pooling));
        _backbone = backbone;
        Labels = labels.ToArray();
        Pooling = pooling;
        IsRegression = isRegression;
        _classifier = new DenseTanhHead(backbone.Config.HiddenSize, labels.Count);
        RegisterComponents();
    }

    /// <summary>The backbone.</summary>
    public Wav2Vec2Model Backbone => _backbone;

    /// <summary>Output names in order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>mean, sum or max.</summary>
    public string Pooling { get; }

    /// <summary>True when the outputs are scores rather than class logits.</summary>
    public bool IsRegression { get; }

    /// <summary>Outputs [B, labels] of a preprocessed batch.</summary>
    public Tensor Forward(WaveformBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return call(batch.Waveforms, batch.Lengths);
    }

    /// <summary>waveforms [B, S] preprocessed, lengths [B] valid samples (or null). Returns [B, labels].</summary>
    public override Tensor forward(Tensor waveforms, Tensor? lengths)
    {
        using var scope = NewDisposeScope();
        using var output = _backbone.call(waveforms, lengths);
        var pooled = PooledFrames.Reduce(output.LastHiddenState, output.FrameLengths, Pooling);       // [B, H]
        return _classifier.call(pooled).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Loads such a checkpoint from a directory or Hub id: the backbone as <see cref="Wav2Vec2Model.FromPretrained(string, Wav2Vec2LoadOptions?)"/>
    /// does, <c>classifier.dense</c> and <c>classifier.out_proj</c> from the same weights, <c>id2label</c>,
    /// <c>pooling_mode</c> and <c>problem_type</c> from <c>config.json</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The config names another architecture, or the head's tensors are missing or misshapen.</exception>
    public static Wav2Vec2ForSpeechClassification FromPretrained(string directoryOrHubId, Wav2Vec2LoadOptions? options = null) =>
        HeadConfig.LoadTaskModel<Wav2Vec2ForSpeechClassification>(directoryOrHubId, options, Architectures, HeadKeys,
            (config, configPath) =>
            {
                var labels = HeadConfig.Labels(config, configPath);
                var pooling = config["pooling_mode"]?.ToString() ?? "mean";
                if (pooling is not ("mean" or "sum" or "max"))
                    throw new InvalidDataException($"{configPath}: pooling_mode '{pooling}' is not one of mean, sum, max");
                var regression = config["problem_type"]?.ToString() == "regression";
                return backbone => new Wav2Vec2ForSpeechClassification(backbone, labels, pooling, regression);
            },
            (model, head, configPath) =>
            {
                HeadConfig.Copy(head, "classifier.dense.weight", model._classifier.Dense.weight!, configPath);
                HeadConfig.Copy(head, "classifier.dense.bias", model._classifier.Dense.bias!, configPath);
                HeadConfig.Copy(head, "classifier.out_proj.weight", model._classifier.OutProj.weight!, configPath);
                HeadConfig.Copy(head, "classifier.out_proj.bias", model._classifier.OutProj.bias!, configPath);
            });
}

/// <summary>Pooling of frames over each utterance's valid slice, for the HF task heads.</summary>
internal static class PooledFrames
{
    /// <summary>
    /// hidden [B, T, D], frameLengths [B] (each ≥ 1) → [B, D]: mean, sum or max over each utterance's first
    /// frameLengths[b] frames. Each reduction reads exactly the valid slice (the elements and order of the utterance
    /// alone), so a padded batch gives every utterance its lone result bit for bit.
    /// </summary>
    public static Tensor Reduce(Tensor hidden, Tensor frameLengths, string mode)
    {
        using var scope = NewDisposeScope();
        using var host = frameLengths.to(ScalarType.Int64).cpu();
        var lengths = host.data<long>().ToArray();
        var rows = new Tensor[lengths.Length];
        for (var b = 0; b < lengths.Length; b++)
        {
            var valid = hidden[b].narrow(0, 0, lengths[b]);                                           // [T_b, D]
            rows[b] = mode switch
            {
                "sum" => valid.sum(dim: 0),
                "max" => valid.amax([0]),
                _ => valid.sum(dim: 0) / Scalars.Of(lengths[b]),
            };
        }
        return stack(rows).MoveToOuterDisposeScope();
    }
}

/// <summary><c>dense</c> → tanh → <c>out_proj</c>, as the checkpoints' <c>classifier</c> (their dropout between the two acts only in training, which this head does not do).</summary>
internal sealed class DenseTanhHead : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "dense")]
    private readonly Linear _dense;

    [ComponentName(Name = "out_proj")]
    private readonly Linear _outProj;

    public DenseTanhHead(int hidden, int outputs) : base(nameof(DenseTanhHead))
    {
        _dense = nn.Linear(hidden, hidden);
        _outProj = nn.Linear(hidden, outputs);
        RegisterComponents();
    }

    public Linear Dense => _dense;

    public Linear OutProj => _outProj;

    /// <summary>[B, H] -> [B, outputs].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _outProj.call(_dense.call(x).tanh()).MoveToOuterDisposeScope();
    }
}

/// <summary>What the HF task heads read from config.json and the checkpoint, and how a task model is loaded.</summary>
internal static class HeadConfig
{
    /// <summary>
    /// Loads an HF task model from a directory or Hub id: checks that config.json's <c>architectures</c> names one of
    /// <paramref name="architectures"/>, lets <paramref name="readConfig"/> read the head's settings (before the weights
    /// are touched, so a bad config fails fast) and return how to build the model, loads the backbone keeping the
    /// checkpoint's <paramref name="headKeys"/> (bare or under a <c>wav2vec2.</c> / <c>hubert.</c> / <c>wavlm.</c> prefix), builds the
    /// model, copies its head with <paramref name="loadHead"/>, and moves it to the device in evaluation mode.
    /// </summary>
    public static T LoadTaskModel<T>(string directoryOrHubId, Wav2Vec2LoadOptions? options, IReadOnlyList<string> architectures,
        IReadOnlyList<string> headKeys, Func<JsonObject, string, Func<Wav2Vec2Model, T>> readConfig, Action<T, Dictionary<string, Tensor>, string> loadHead)
        where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(directoryOrHubId);
        var directory = ModelLocator.Resolve(directoryOrHubId);
        var configPath = Path.Combine(directory, "config.json");
        var config = Read(configPath);
        if (config["architectures"] is JsonArray listed && !listed.Any(a => architectures.Contains(a?.ToString())))
            throw new InvalidDataException(architectures.Count == 1
                ? $"{configPath}: architectures [{string.Join(", ", listed)}] does not include {architectures[0]}"
                : $"{configPath}: architectures [{string.Join(", ", listed)}] includes neither {string.Join(" nor ", architectures)}");
        var create = readConfig(config, configPath);

        var keep = headKeys.SelectMany(k => Wav2Vec2KeyMap.BackbonePrefixes.Select(p => p + k).Prepend(k)).ToArray();
        var backbone = Wav2Vec2Model.FromPretrained(directory, options, keep, out var lmHead, out var head);
        if (lmHead is not null)
            foreach (var t in lmHead.Values) t.Dispose();
        T? model = null;
        try
        {
            model = create(backbone);
            using (no_grad()) loadHead(model, head, configPath);
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

    public static JsonObject Read(string configPath)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject ?? throw new InvalidDataException($"{configPath}: not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message})", e);
        }
    }

    /// <summary><c>id2label</c> in id order, checked to cover 0..n-1.</summary>
    public static string[] Labels(JsonObject config, string configPath)
    {
        if (config["id2label"] is not JsonObject id2label || id2label.Count == 0)
            throw new InvalidDataException($"{configPath}: no id2label; the head needs the names of its outputs");
        var labels = new string[id2label.Count];
        foreach (var (key, value) in id2label)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id >= labels.Length || labels[id] is not null)
                throw new InvalidDataException($"{configPath}: id2label key '{key}' is not one of 0..{labels.Length - 1} (each once)");
            labels[id] = value?.ToString() ?? throw new InvalidDataException($"{configPath}: id2label['{key}'] is not a string");
        }
        return labels;
    }

    /// <summary>Copies checkpoint tensor <paramref name="key"/> (any task-model prefix) into <paramref name="target"/>, checking its shape.</summary>
    public static void Copy(Dictionary<string, Tensor> raw, string key, Tensor target, string source)
    {
        var tensor = raw.GetValueOrDefault(key) ?? Wav2Vec2KeyMap.BackbonePrefixes.Select(p => raw.GetValueOrDefault(p + key)).FirstOrDefault(t => t is not null)
            ?? throw new InvalidDataException($"{source}: the checkpoint has no '{key}' for its head");
        if (!tensor.shape.SequenceEqual(target.shape))
            throw new InvalidDataException($"{source}: '{key}' is [{string.Join(", ", tensor.shape)}], the config asks for [{string.Join(", ", target.shape)}]");
        StateDictLoader.CheckFinite(tensor, key, source);
        target.copy_(tensor);
    }
}
