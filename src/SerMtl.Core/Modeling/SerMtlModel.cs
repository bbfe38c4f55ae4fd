using System.Text.Json;
using System.Text.Json.Nodes;
using SerMtl.Checkpoints;
using SerMtl.Data.Text;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>Choices for building a <see cref="SerMtlModel"/> on a backbone.</summary>
public sealed record SerMtlModelOptions
{
    /// <summary>Emotion class names in logit order, e.g. neutral, happy, angry, sad.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>How the emotion head pools frames over time: <see cref="Pooling.Sum"/> (the paper) by default.</summary>
    public Pooling Pooling { get; init; } = Pooling.Sum;

    /// <summary>
    /// The CTC vocabulary. When null: the pretrained checkpoint's own tokenizer (<c>vocab.json</c> and
    /// <c>tokenizer_config.json</c>) where it has one, else the 32-token wav2vec2-base-960h characters.
    /// </summary>
    public CharacterVocabulary? Vocabulary { get; init; }

    /// <summary>Adjusts the backbone's config before it is built (dropouts, LayerDrop, SpecAugment…).</summary>
    public Func<Wav2Vec2Config, Wav2Vec2Config>? Configure { get; init; }

    /// <summary>Device for the model; CPU when null.</summary>
    public Device? Device { get; init; }
}

/// <summary>What <see cref="SerMtlModel"/> computes for a batch.</summary>
public sealed class SerMtlOutput : IDisposable
{
    internal SerMtlOutput(Tensor emotionLogits, Tensor ctcLogits, Tensor frameLengths)
    {
        EmotionLogits = emotionLogits;
        CtcLogits = ctcLogits;
        FrameLengths = frameLengths;
    }

    /// <summary>Emotion logits [B, C].</summary>
    public Tensor EmotionLogits { get; }

    /// <summary>CTC logits [B, T, V]; frames at or past <see cref="FrameLengths"/> are padding.</summary>
    public Tensor CtcLogits { get; }

    /// <summary>Valid frames per utterance [B] int64.</summary>
    public Tensor FrameLengths { get; }

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        EmotionLogits.Dispose();
        CtcLogits.Dispose();
        FrameLengths.Dispose();
    }
}

/// <summary>
/// The paper's model: a wav2vec 2.0 backbone whose frames feed a CTC head (the transcript) and an emotion head
/// (pooled over valid frames, then a linear layer). Its state dict keeps HF names — <c>wav2vec2.*</c> for the
/// backbone and <c>lm_head.*</c> for the CTC head, as in <c>Wav2Vec2ForCTC</c> — plus <c>emotion_head.*</c>.
/// </summary>
public sealed class SerMtlModel : nn.Module<Tensor, Tensor?, SerMtlOutput>
{
    /// <summary>The <c>config.json</c> section holding what HF's config has no field for.</summary>
    public const string ConfigSection = "sermtl";

    private const int FormatVersion = 1;
    private const string WeightsFileName = "model.safetensors";

    [ComponentName(Name = "wav2vec2")]
    private readonly Wav2Vec2Model _backbone;

    [ComponentName(Name = "lm_head")]
    private readonly CtcHead _ctcHead;

    [ComponentName(Name = "emotion_head")]
    private readonly EmotionHead _emotionHead;

    /// <summary>Builds the heads on <paramref name="backbone"/> (which the model then owns), freshly initialised.</summary>
    public SerMtlModel(Wav2Vec2Model backbone, IReadOnlyList<string> labels, Pooling pooling = Pooling.Sum, CharacterVocabulary? vocabulary = null)
        : base(nameof(SerMtlModel))
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count < 2) throw new ArgumentException($"need at least 2 emotion labels, got {labels.Count}", nameof(labels));
        var duplicate = labels.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"emotion label '{duplicate.Key}' appears more than once", nameof(labels));
        if (labels.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("emotion labels must not be empty", nameof(labels));

        Vocabulary = vocabulary ?? CharacterVocabulary.Wav2Vec2Base960h;
        Labels = labels.ToArray();
        Pooling = pooling;
        var config = backbone.Config;
        _backbone = backbone;
        _ctcHead = new CtcHead(config.HiddenSize, Vocabulary.Count, config.FinalDropout, config.InitializerRange);
        _emotionHead = new EmotionHead(config.HiddenSize, labels.Count, pooling, config.FinalDropout, config.InitializerRange);
        RegisterComponents();
        var device = backbone.parameters().First().device;
        if (device.type != DeviceType.CPU) _ = this.to(device);
    }

    /// <summary>The wav2vec 2.0 backbone.</summary>
    public Wav2Vec2Model Backbone => _backbone;

    /// <summary>The CTC head (<c>lm_head</c>).</summary>
    public CtcHead CtcHead => _ctcHead;

    /// <summary>The emotion head.</summary>
    public EmotionHead EmotionHead => _emotionHead;

    /// <summary>Emotion class names in logit order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The emotion head's pooling.</summary>
    public Pooling Pooling { get; }

    /// <summary>The CTC vocabulary (id 0 is the blank).</summary>
    public CharacterVocabulary Vocabulary { get; }

    /// <summary>The device of the parameters.</summary>
    public Device Device => _ctcHead.parameters().First().device;

    /// <summary>Runs a preprocessed batch.</summary>
    public SerMtlOutput Forward(WaveformBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return call(batch.Waveforms, batch.Lengths);
    }

    /// <summary>waveforms [B, S] preprocessed, lengths [B] valid samples (or null when all are valid).</summary>
    public override SerMtlOutput forward(Tensor waveforms, Tensor? lengths)
    {
        using var scope = NewDisposeScope();
        using var features = _backbone.call(waveforms, lengths);
        var ctcLogits = _ctcHead.call(features.LastHiddenState);                                  // [B, T, V]
        var emotionLogits = _emotionHead.call(features.LastHiddenState, features.FrameLengths);  // [B, C]
        return new SerMtlOutput(
            emotionLogits.MoveToOuterDisposeScope(),
            ctcLogits.MoveToOuterDisposeScope(),
            features.FrameLengths.clone().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Builds the model on a pretrained HF-layout backbone directory or Hub id (e.g. <c>facebook/wav2vec2-base</c>). The
    /// CTC vocabulary is <see cref="SerMtlModelOptions.Vocabulary"/>, else the checkpoint's own tokenizer, else
    /// wav2vec2-base-960h's characters. The CTC head starts from the checkpoint's <c>lm_head</c> (a <c>*ForCTC</c>
    /// checkpoint) when its rows mean the vocabulary's tokens: the checkpoint's tokenizer is that vocabulary, or it has
    /// no tokenizer and the head has the vocabulary's size (as for a bare <c>wav2vec2-base-960h</c>); otherwise it
    /// and the emotion head are freshly initialised. A tokenizer that is not a character vocabulary (phonemes,
    /// multi-character tokens, one vocabulary per language) is passed over: base-960h's characters, a fresh CTC head.
    /// </summary>
    public static SerMtlModel FromPretrained(string backboneDirectory, SerMtlModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        backboneDirectory = ModelLocator.Resolve(backboneDirectory);
        var backbone = Wav2Vec2Model.FromPretrained(backboneDirectory, out var lmHead,
            new Wav2Vec2LoadOptions { Configure = options.Configure });
        try
        {
            var hasTokenizer = File.Exists(Path.Combine(backboneDirectory, "vocab.json"));
            CharacterVocabulary? own = null;
            try
            {
                if (hasTokenizer) own = CharacterVocabulary.LoadPretrained(backboneDirectory);
            }
            catch (InvalidDataException)
            {
                // Not a character vocabulary (phonemes, word pieces, one per language): the backbone is still
                // usable, with base-960h's characters and a fresh CTC head.
            }
            var model = new SerMtlModel(backbone, options.Labels, options.Pooling, options.Vocabulary ?? own);
            var rowsMeanTheTokens = hasTokenizer ? own is not null && own.HasSameTokens(model.Vocabulary) : true;
            if (lmHead is not null && rowsMeanTheTokens && lmHead.TryGetValue("weight", out var w) && w.shape[0] == model.Vocabulary.Count)
                model._ctcHead.LoadFrom(lmHead, Path.Combine(backboneDirectory, "lm_head"));
            if (options.Device is not null) _ = model.to(options.Device);
            return model;
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
        finally
        {
            if (lmHead is not null)
                foreach (var t in lmHead.Values) t.Dispose();
        }
    }

    /// <summary>A randomly initialised model (backbone included), for training from scratch.</summary>
    public static SerMtlModel CreateFromScratch(Wav2Vec2Config config, SerMtlModelOptions options, FeatureExtractorConfig? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Configure is not null) config = options.Configure(config);
        var model = new SerMtlModel(new Wav2Vec2Model(config, preprocessing), options.Labels, options.Pooling, options.Vocabulary);
        if (options.Device is not null) _ = model.to(options.Device);
        return model;
    }

    /// <summary>
    /// Saves the model as a directory: <c>config.json</c> (HF fields, <c>id2label</c>/<c>label2id</c> and a
    /// <c>sermtl</c> section), <c>preprocessor_config.json</c>, <c>vocab.json</c> with <c>tokenizer_config.json</c> and <c>model.safetensors</c>
    /// (float32, keys <c>wav2vec2.*</c>, <c>lm_head.*</c>, <c>emotion_head.*</c>). Each file is written atomically.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);

        var config = JsonNode.Parse(_backbone.Config.ToJson())!.AsObject();
        config["architectures"] = new JsonArray("Wav2Vec2ForCTC");
        config["vocab_size"] = Vocabulary.Count;
        config["pad_token_id"] = Vocabulary.BlankId;
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (var i = 0; i < Labels.Count; i++)
        {
            id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Labels[i];
            label2id[Labels[i]] = i;
        }
        config["id2label"] = id2label;
        config["label2id"] = label2id;
        config[ConfigSection] = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["labels"] = new JsonArray(Labels.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
            ["pooling"] = Pooling == Pooling.Sum ? "sum" : "mean",
        };
        WriteAtomically(Path.Combine(directory, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        WriteAtomically(Path.Combine(directory, "preprocessor_config.json"), _backbone.Preprocessing.ToJson());
        Vocabulary.SavePretrained(directory);

        using var scope = NewDisposeScope();
        var tensors = state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float32).cpu());
        SafeTensors.Write(Path.Combine(directory, WeightsFileName), tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["sermtl_format_version"] = FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>
    /// Loads a directory written by <see cref="Save"/>, or a Hub id of one (<see cref="ModelLocator"/>); the model comes
    /// back in evaluation mode.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist (and it is not a Hub id).</exception>
    /// <exception cref="InvalidDataException">The directory is not a SerMtl model, or a file in it is malformed; the message says which.</exception>
    public static SerMtlModel Load(string directory, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        directory = ModelLocator.Resolve(directory);
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
            throw new InvalidDataException($"{directory}: not a SerMtl model directory (no config.json)");
        var configText = File.ReadAllText(configPath);
        JsonObject section;
        try
        {
            section = JsonNode.Parse(configText)?[ConfigSection] as JsonObject
                ?? throw new InvalidDataException($"{configPath}: not a SerMtl model (no \"{ConfigSection}\" section; a plain wav2vec2 checkpoint is a backbone: use SerMtlModel.FromPretrained)");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{configPath}: invalid JSON ({e.Message})", e);
        }
        var version = section["format_version"]?.GetValue<int>() ?? 0;
        if (version != FormatVersion)
            throw new InvalidDataException($"{configPath}: SerMtl model format version {version}, this library reads {FormatVersion}");
        var labels = (section["labels"] as JsonArray)?.Select(n => n?.GetValue<string>() ?? "").ToArray()
            ?? throw new InvalidDataException($"{configPath}: \"{ConfigSection}.labels\" is missing");
        var pooling = (section["pooling"]?.GetValue<string>()) switch
        {
            "sum" or null => Pooling.Sum,
            "mean" => Pooling.Mean,
            var p => throw new InvalidDataException($"{configPath}: unknown pooling '{p}' (expected sum or mean)"),
        };
        var backboneConfig = Wav2Vec2Config.FromJson(configText, configPath);
        var preprocessorPath = Path.Combine(directory, "preprocessor_config.json");
        var preprocessing = File.Exists(preprocessorPath) ? FeatureExtractorConfig.FromJsonFile(preprocessorPath) : new FeatureExtractorConfig();
        var vocabulary = File.Exists(Path.Combine(directory, "vocab.json")) ? CharacterVocabulary.LoadPretrained(directory) : CharacterVocabulary.Wav2Vec2Base960h;
        var weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(weightsPath)) throw new InvalidDataException($"{directory}: no {WeightsFileName}");

        SerMtlModel? model = null;
        var tensors = SafeTensors.Read(weightsPath);
        try
        {
            model = new SerMtlModel(new Wav2Vec2Model(backboneConfig, preprocessing), labels, pooling, vocabulary);
            StateDictLoader.Load(model, tensors, weightsPath);
            model.eval();
            if (device is not null) _ = model.to(device);
            return model;
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static void WriteAtomically(string path, string text)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
