using System.Text.Json;
using System.Text.Json.Nodes;
using SerMtl.Data.Text;

namespace SerMtl.Inference;

/// <summary>What an exported model's outputs are.</summary>
public enum ModelTask
{
    /// <summary>Class logits over <see cref="RecognizerModelInfo.Labels"/> (output <c>logits</c>), and CTC logits when the model has a CTC head.</summary>
    Classification,

    /// <summary>Scores, one per <see cref="RecognizerModelInfo.Labels"/> entry (e.g. arousal, dominance, valence; output <c>scores</c>).</summary>
    Regression,

    /// <summary>A speech recogniser (HF <c>*ForCTC</c>): CTC logits over <see cref="RecognizerModelInfo.Vocabulary"/> only, no labels.</summary>
    Transcription,

    /// <summary>A bare backbone: the last hidden state of every frame (output <c>last_hidden_state</c>), no labels.</summary>
    Features,
}

/// <summary>
/// What a recognizer needs to know of its model besides the forward pass: the output names, whether they are class
/// logits or regression scores, the CTC vocabulary, the input preprocessing and the feature encoder's geometry. An
/// exported ONNX file carries it as JSON in its metadata (key <see cref="MetadataKey"/>), so the file is a complete model.
/// </summary>
public sealed record RecognizerModelInfo
{
    /// <summary>The ONNX metadata key under which SerMtl writes this record as JSON.</summary>
    public const string MetadataKey = "sermtl.model";

    /// <summary>The version of the JSON layout <see cref="ToJson"/> writes; <see cref="FromJson"/> reads this version only.</summary>
    public const int FormatVersion = 1;

    private const int MaxJsonChars = 1 << 20;

    /// <summary>Output names in order: emotion labels, or the dimensions of a regression model; empty for a <see cref="ModelTask.Transcription"/> or <see cref="ModelTask.Features"/> model.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>What the model's outputs are. Default <see cref="ModelTask.Classification"/>.</summary>
    public ModelTask Task { get; init; } = ModelTask.Classification;

    /// <summary>True when the outputs are scores (e.g. arousal, dominance, valence), not class logits.</summary>
    public bool IsRegression => Task == ModelTask.Regression;

    /// <summary>True for the models an emotion recognizer runs: <see cref="ModelTask.Classification"/> and <see cref="ModelTask.Regression"/>.</summary>
    public bool HasEmotionOutput => Task is ModelTask.Classification or ModelTask.Regression;

    /// <summary>The CTC vocabulary of a model with a CTC head, else null (no transcript).</summary>
    public CharacterVocabulary? Vocabulary { get; init; }

    /// <summary>Sample rate the model expects, in Hz.</summary>
    public required int SampleRate { get; init; }

    /// <summary>Whether each utterance is scaled to zero mean and unit variance over its samples before the model (HF's <c>do_normalize</c>).</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Value of padded samples in a batch (HF's <c>padding_value</c>).</summary>
    public float PaddingValue { get; init; }

    /// <summary>The fewest samples an utterance must have (the feature encoder's receptive field).</summary>
    public required int ReceptiveField { get; init; }

    /// <summary>Samples between the starts of consecutive frames (the feature encoder's total stride).</summary>
    public required int SamplesPerFrame { get; init; }

    /// <summary>The model's architecture as its config names it (e.g. <c>SerMtlModel</c>, <c>Wav2Vec2ForSequenceClassification</c>); informational.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>Checks the fields; throws <see cref="InvalidDataException"/> naming the first that is out of range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Task)) throw new InvalidDataException($"model info: unknown task {(int)Task}");
        if (Labels is null) throw new InvalidDataException("model info: no labels");
        if (HasEmotionOutput && Labels.Count == 0) throw new InvalidDataException("model info: no labels");
        if (!HasEmotionOutput && Labels.Count > 0) throw new InvalidDataException($"model info: a {TaskName(Task)} model has no labels, got {Labels.Count}");
        if (Task == ModelTask.Transcription && Vocabulary is null) throw new InvalidDataException("model info: a transcription model needs its vocabulary");
        if (Labels.Any(string.IsNullOrEmpty)) throw new InvalidDataException("model info: a label is empty");
        if (Labels.Distinct(StringComparer.Ordinal).Count() != Labels.Count) throw new InvalidDataException($"model info: labels repeat ({string.Join(", ", Labels)})");
        if (SampleRate <= 0) throw new InvalidDataException($"model info: sample rate must be positive, got {SampleRate}");
        if (ReceptiveField <= 0) throw new InvalidDataException($"model info: receptive field must be positive, got {ReceptiveField}");
        if (SamplesPerFrame <= 0) throw new InvalidDataException($"model info: samples per frame must be positive, got {SamplesPerFrame}");
        if (!float.IsFinite(PaddingValue)) throw new InvalidDataException($"model info: padding value must be finite, got {PaddingValue}");
    }

    /// <summary>The record as compact JSON (what the exporter writes into the ONNX metadata).</summary>
    public string ToJson()
    {
        Validate();
        var json = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["architecture"] = Architecture,
            ["labels"] = new JsonArray(Labels.Select(l => (JsonNode?)l).ToArray()),
            ["task"] = TaskName(Task),
            ["sampling_rate"] = SampleRate,
            ["do_normalize"] = Normalize,
            ["padding_value"] = PaddingValue,
            ["receptive_field"] = ReceptiveField,
            ["samples_per_frame"] = SamplesPerFrame,
        };
        if (Vocabulary is { } vocabulary)
        {
            json["vocabulary"] = new JsonObject
            {
                ["tokens"] = new JsonArray(vocabulary.Tokens.Select(t => (JsonNode?)t).ToArray()),
                ["blank"] = vocabulary.Blank,
                ["word_delimiter"] = vocabulary.WordDelimiter,
                ["unknown"] = vocabulary.UnknownId is int id ? vocabulary.Tokens[id] : null,
            };
        }
        return json.ToJsonString();
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">Not such JSON, another format version, or a field missing or out of range; the message names the source and field.</exception>
    public static RecognizerModelInfo FromJson(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        if (json.Length > MaxJsonChars)
            throw new InvalidDataException($"{source}: the model description is {json.Length} characters, more than the {MaxJsonChars} a model needs");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: the model description is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: the model description is not valid JSON ({e.Message})", e);
        }
        try
        {
            var version = Required(root, "format_version", source).GetValue<int>();
            if (version != FormatVersion)
                throw new InvalidDataException($"{source}: model description format {version}; this SerMtl reads format {FormatVersion} (export the model again with this version)");
            var taskName = Required(root, "task", source).GetValue<string>();
            var task = Enum.GetValues<ModelTask>().Cast<ModelTask?>().FirstOrDefault(t => TaskName(t!.Value) == taskName)
                ?? throw new InvalidDataException($"{source}: task '{taskName}' is none of {string.Join(", ", Enum.GetValues<ModelTask>().Select(TaskName))}");
            CharacterVocabulary? vocabulary = null;
            if (root["vocabulary"] is JsonObject v)
            {
                var tokens = (Required(v, "tokens", source) as JsonArray ?? throw new InvalidDataException($"{source}: vocabulary.tokens is not an array"))
                    .Select(t => t?.GetValue<string>() ?? throw new InvalidDataException($"{source}: a vocabulary token is null")).ToArray();
                try
                {
                    vocabulary = new CharacterVocabulary(tokens, Required(v, "blank", source).GetValue<string>(),
                        Required(v, "word_delimiter", source).GetValue<string>(), v["unknown"]?.GetValue<string>());
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"{source}: {e.Message}", e);
                }
            }
            var info = new RecognizerModelInfo
            {
                Architecture = root["architecture"]?.GetValue<string>() ?? "",
                Labels = (Required(root, "labels", source) as JsonArray ?? throw new InvalidDataException($"{source}: labels is not an array"))
                    .Select(l => l?.GetValue<string>() ?? throw new InvalidDataException($"{source}: a label is null")).ToArray(),
                Task = task,
                Vocabulary = vocabulary,
                SampleRate = Required(root, "sampling_rate", source).GetValue<int>(),
                Normalize = Required(root, "do_normalize", source).GetValue<bool>(),
                PaddingValue = Required(root, "padding_value", source).GetValue<float>(),
                ReceptiveField = Required(root, "receptive_field", source).GetValue<int>(),
                SamplesPerFrame = Required(root, "samples_per_frame", source).GetValue<int>(),
            };
            try
            {
                info.Validate();
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{source}: {e.Message}", e);
            }
            return info;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{source}: a field of the model description has the wrong type ({e.Message})", e);
        }
    }

    /// <summary>The task's name in the JSON: classification, regression, transcription, features.</summary>
    internal static string TaskName(ModelTask task) => task.ToString().ToLowerInvariant();

    private static JsonNode Required(JsonObject json, string field, string source) =>
        json[field] ?? throw new InvalidDataException($"{source}: the model description has no '{field}'");
}
