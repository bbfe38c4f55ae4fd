using System.Text.Json;
using System.Text.Json.Serialization;

namespace SerMtl.Modeling;

/// <summary>Normalisation inside the convolutional feature encoder (HF <c>feat_extract_norm</c>).</summary>
public enum FeatureNorm
{
    /// <summary><c>"group"</c>: a per-channel GroupNorm after the first convolution only (wav2vec2-base).</summary>
    Group,

    /// <summary><c>"layer"</c>: a LayerNorm over channels after every convolution (large-lv60, XLS-R).</summary>
    Layer,
}

/// <summary>Activation functions a wav2vec 2.0 config can name (HF <c>hidden_act</c>, <c>feat_extract_activation</c>).</summary>
public enum Activation
{
    /// <summary><c>"gelu"</c>: exact GELU, x·Φ(x) with the error function.</summary>
    Gelu,

    /// <summary><c>"gelu_new"</c> (also read from <c>"gelu_pytorch_tanh"</c>, <c>"gelu_fast"</c>): the tanh approximation.</summary>
    GeluTanh,

    /// <summary><c>"relu"</c>.</summary>
    Relu,

    /// <summary><c>"silu"</c> (also read from <c>"swish"</c>).</summary>
    Silu,

    /// <summary><c>"tanh"</c>.</summary>
    Tanh,
}

/// <summary>
/// Architecture and training-time regularisation of a wav2vec 2.0 backbone, read from and written to a HuggingFace
/// <c>config.json</c> under its own field names. Defaults are HF's <c>Wav2Vec2Config</c> defaults (the base
/// architecture). Fields of <c>config.json</c> this backbone does not use (quantizer, adapter sizes, CTC loss
/// options, ...) are ignored when reading.
/// </summary>
public sealed record Wav2Vec2Config
{
    private static readonly int[] DefaultConvDim = [512, 512, 512, 512, 512, 512, 512];
    private static readonly int[] DefaultConvKernel = [10, 3, 3, 3, 3, 2, 2];
    private static readonly int[] DefaultConvStride = [5, 2, 2, 2, 2, 2, 2];

    /// <summary>Output channels of each feature-encoder convolution (<c>conv_dim</c>).</summary>
    [JsonPropertyName("conv_dim")]
    public IReadOnlyList<int> ConvDim { get; init; } = Array.AsReadOnly(DefaultConvDim);

    /// <summary>Kernel size of each feature-encoder convolution (<c>conv_kernel</c>).</summary>
    [JsonPropertyName("conv_kernel")]
    public IReadOnlyList<int> ConvKernel { get; init; } = Array.AsReadOnly(DefaultConvKernel);

    /// <summary>Stride of each feature-encoder convolution (<c>conv_stride</c>).</summary>
    [JsonPropertyName("conv_stride")]
    public IReadOnlyList<int> ConvStride { get; init; } = Array.AsReadOnly(DefaultConvStride);

    /// <summary>Whether the feature-encoder convolutions have a bias (<c>conv_bias</c>).</summary>
    [JsonPropertyName("conv_bias")]
    public bool ConvBias { get; init; }

    /// <summary>Feature-encoder normalisation (<c>feat_extract_norm</c>).</summary>
    [JsonPropertyName("feat_extract_norm")]
    public FeatureNorm FeatExtractNorm { get; init; } = FeatureNorm.Group;

    /// <summary>Activation of the feature encoder and the positional convolution (<c>feat_extract_activation</c>).</summary>
    [JsonPropertyName("feat_extract_activation")]
    public Activation FeatExtractActivation { get; init; } = Activation.Gelu;

    /// <summary>Pre-LN transformer layers with a final layer norm (<c>do_stable_layer_norm</c>); false: post-LN.</summary>
    [JsonPropertyName("do_stable_layer_norm")]
    public bool DoStableLayerNorm { get; init; }

    /// <summary>Transformer width (<c>hidden_size</c>).</summary>
    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; } = 768;

    /// <summary>Number of transformer layers (<c>num_hidden_layers</c>).</summary>
    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary>Attention heads per layer (<c>num_attention_heads</c>).</summary>
    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; init; } = 12;

    /// <summary>Feed-forward inner width (<c>intermediate_size</c>).</summary>
    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; init; } = 3072;

    /// <summary>Feed-forward activation (<c>hidden_act</c>).</summary>
    [JsonPropertyName("hidden_act")]
    public Activation HiddenAct { get; init; } = Activation.Gelu;

    /// <summary>Epsilon of the transformer's layer norms (<c>layer_norm_eps</c>).</summary>
    [JsonPropertyName("layer_norm_eps")]
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Kernel size of the positional convolution (<c>num_conv_pos_embeddings</c>).</summary>
    [JsonPropertyName("num_conv_pos_embeddings")]
    public int NumConvPosEmbeddings { get; init; } = 128;

    /// <summary>Groups of the positional convolution (<c>num_conv_pos_embedding_groups</c>).</summary>
    [JsonPropertyName("num_conv_pos_embedding_groups")]
    public int NumConvPosEmbeddingGroups { get; init; } = 16;

    /// <summary>Dropout after attention, feed-forward and the positional embedding (<c>hidden_dropout</c>).</summary>
    [JsonPropertyName("hidden_dropout")]
    public double HiddenDropout { get; init; } = 0.1;

    /// <summary>Dropout on attention probabilities (<c>attention_dropout</c>).</summary>
    [JsonPropertyName("attention_dropout")]
    public double AttentionDropout { get; init; } = 0.1;

    /// <summary>Dropout after the feed-forward activation (<c>activation_dropout</c>).</summary>
    [JsonPropertyName("activation_dropout")]
    public double ActivationDropout { get; init; } = 0.1;

    /// <summary>Dropout after the feature projection (<c>feat_proj_dropout</c>).</summary>
    [JsonPropertyName("feat_proj_dropout")]
    public double FeatProjDropout { get; init; }

    /// <summary>Dropout before a task head such as the CTC <c>lm_head</c> (<c>final_dropout</c>); not used by the backbone.</summary>
    [JsonPropertyName("final_dropout")]
    public double FinalDropout { get; init; } = 0.1;

    /// <summary>Probability of skipping a whole transformer layer in training (<c>layerdrop</c>).</summary>
    [JsonPropertyName("layerdrop")]
    public double LayerDrop { get; init; } = 0.1;

    /// <summary>Whether SpecAugment masking is applied in training (<c>apply_spec_augment</c>).</summary>
    [JsonPropertyName("apply_spec_augment")]
    public bool ApplySpecAugment { get; init; } = true;

    /// <summary>Fraction of (valid) frames that start a time mask, as HF computes it (<c>mask_time_prob</c>).</summary>
    [JsonPropertyName("mask_time_prob")]
    public double MaskTimeProb { get; init; } = 0.05;

    /// <summary>Frames per time mask (<c>mask_time_length</c>).</summary>
    [JsonPropertyName("mask_time_length")]
    public int MaskTimeLength { get; init; } = 10;

    /// <summary>Minimum number of time masks per utterance (<c>mask_time_min_masks</c>).</summary>
    [JsonPropertyName("mask_time_min_masks")]
    public int MaskTimeMinMasks { get; init; } = 2;

    /// <summary>Fraction of hidden channels that start a feature mask (<c>mask_feature_prob</c>).</summary>
    [JsonPropertyName("mask_feature_prob")]
    public double MaskFeatureProb { get; init; }

    /// <summary>Channels per feature mask (<c>mask_feature_length</c>).</summary>
    [JsonPropertyName("mask_feature_length")]
    public int MaskFeatureLength { get; init; } = 10;

    /// <summary>Minimum number of feature masks per utterance (<c>mask_feature_min_masks</c>).</summary>
    [JsonPropertyName("mask_feature_min_masks")]
    public int MaskFeatureMinMasks { get; init; }

    /// <summary>Standard deviation of the normal initialisation of linear layers (<c>initializer_range</c>).</summary>
    [JsonPropertyName("initializer_range")]
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>CTC vocabulary size of a <c>lm_head</c> (<c>vocab_size</c>).</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; } = 32;

    /// <summary>Padding (CTC blank) token id (<c>pad_token_id</c>).</summary>
    [JsonPropertyName("pad_token_id")]
    public int PadTokenId { get; init; }

    /// <summary>Beginning-of-sentence token id (<c>bos_token_id</c>).</summary>
    [JsonPropertyName("bos_token_id")]
    public int BosTokenId { get; init; } = 1;

    /// <summary>End-of-sentence token id (<c>eos_token_id</c>).</summary>
    [JsonPropertyName("eos_token_id")]
    public int EosTokenId { get; init; } = 2;

    /// <summary>HF's adapter on top of the encoder (<c>add_adapter</c>); not supported, <see cref="Validate"/> rejects true.</summary>
    [JsonPropertyName("add_adapter")]
    public bool AddAdapter { get; init; }

    /// <summary>
    /// The backbone family (<c>model_type</c>): <c>"wav2vec2"</c> (the default), <c>"hubert"</c> (the same network,
    /// trained differently) or <c>"wavlm"</c> (wav2vec 2.0 with a gated relative position bias in every attention
    /// layer, see <see cref="NumBuckets"/>).
    /// </summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = Wav2Vec2Type;

    /// <summary>WavLM's relative position buckets (<c>num_buckets</c>); null reads as HF's default, 320. Unused by other backbones.</summary>
    [JsonPropertyName("num_buckets")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? NumBuckets { get; init; }

    /// <summary>The offset at which WavLM's last bucket starts (<c>max_bucket_distance</c>); null reads as HF's default, 800.</summary>
    [JsonPropertyName("max_bucket_distance")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxBucketDistance { get; init; }

    internal const string Wav2Vec2Type = "wav2vec2";
    internal const string HubertType = "hubert";
    internal const string WavLMType = "wavlm";

    /// <summary>Whether the attention layers carry WavLM's gated relative position bias.</summary>
    [JsonIgnore]
    internal bool IsWavLM => ModelType == WavLMType;

    /// <summary>The bucket count in force (HF's default when unset).</summary>
    [JsonIgnore]
    internal int RelativeBuckets => NumBuckets ?? 320;

    /// <summary>The bucket distance in force (HF's default when unset).</summary>
    [JsonIgnore]
    internal int RelativeBucketDistance => MaxBucketDistance ?? 800;

    /// <summary>Number of feature-encoder convolutions (<c>num_feat_extract_layers</c>, written for HF; derived from <see cref="ConvDim"/>).</summary>
    [JsonPropertyName("num_feat_extract_layers")]
    public int NumFeatExtractLayers => ConvDim.Count;

    /// <summary>Samples the feature encoder needs for one output frame (400 for the base layout).</summary>
    [JsonIgnore]
    public int ReceptiveField
    {
        get
        {
            long r = 1;
            // Saturating: r stays <= int.MaxValue, so (r - 1) * stride cannot overflow a long.
            for (var i = ConvKernel.Count - 1; i >= 0; i--) r = Math.Min((r - 1) * ConvStride[i] + ConvKernel[i], int.MaxValue);
            return (int)r;
        }
    }

    /// <summary>Samples between consecutive output frames (320 for the base layout: 20 ms at 16 kHz).</summary>
    [JsonIgnore]
    public int SamplesPerFrame => (int)ConvStride.Aggregate(1L, (a, s) => Math.Min(a * s, int.MaxValue));

    /// <summary>facebook/wav2vec2-base: group-norm feature encoder, post-LN encoder, 768 wide, 12 layers, 12 heads.</summary>
    public static Wav2Vec2Config Base { get; } = new();

    /// <summary>
    /// The large-lv60 / XLS-R layout: layer norm in every convolution with conv bias, pre-LN ("stable layer norm")
    /// encoder, 1024 wide, 24 layers, 16 heads, feed-forward 4096.
    /// </summary>
    public static Wav2Vec2Config Large { get; } = new()
    {
        FeatExtractNorm = FeatureNorm.Layer,
        ConvBias = true,
        DoStableLayerNorm = true,
        HiddenSize = 1024,
        NumHiddenLayers = 24,
        NumAttentionHeads = 16,
        IntermediateSize = 4096,
    };

    /// <summary>Frames the feature encoder makes from <paramref name="samples"/> samples: floor((L - k) / s) + 1 per layer; 0 when too short.</summary>
    public long OutputLength(long samples)
    {
        var length = samples;
        for (var i = 0; i < ConvKernel.Count; i++)
        {
            if (length < ConvKernel[i]) return 0;
            length = (length - ConvKernel[i]) / ConvStride[i] + 1;
        }
        return length;
    }

    /// <summary>Checks the architecture is consistent; throws <see cref="ArgumentException"/> naming the field and what was expected.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (ConvDim is null || ConvKernel is null || ConvStride is null)
        {
            errors.Add("conv_dim, conv_kernel and conv_stride must all be given");
        }
        else
        {
            if (ConvDim.Count == 0) errors.Add("conv_dim is empty: the feature encoder needs at least one convolution");
            if (ConvDim.Count != ConvKernel.Count || ConvDim.Count != ConvStride.Count)
                errors.Add($"conv_dim, conv_kernel and conv_stride must have equal length, found {ConvDim.Count}, {ConvKernel.Count} and {ConvStride.Count}");
            CheckPositiveList(errors, "conv_dim", ConvDim);
            CheckPositiveList(errors, "conv_kernel", ConvKernel);
            CheckPositiveList(errors, "conv_stride", ConvStride);
        }
        CheckPositive(errors, "hidden_size", HiddenSize);
        CheckPositive(errors, "num_hidden_layers", NumHiddenLayers, allowZero: true);
        CheckPositive(errors, "num_attention_heads", NumAttentionHeads);
        CheckPositive(errors, "intermediate_size", IntermediateSize);
        CheckPositive(errors, "num_conv_pos_embeddings", NumConvPosEmbeddings);
        CheckPositive(errors, "num_conv_pos_embedding_groups", NumConvPosEmbeddingGroups);
        CheckPositive(errors, "mask_time_length", MaskTimeLength);
        CheckPositive(errors, "mask_time_min_masks", MaskTimeMinMasks, allowZero: true);
        CheckPositive(errors, "mask_feature_length", MaskFeatureLength);
        CheckPositive(errors, "mask_feature_min_masks", MaskFeatureMinMasks, allowZero: true);
        // Upper bounds far above any real wav2vec2, so a corrupt file fails here rather than in a huge allocation.
        CheckAtMost(errors, "hidden_size", HiddenSize, MaxWidth);
        CheckAtMost(errors, "intermediate_size", IntermediateSize, MaxWidth);
        CheckAtMost(errors, "num_hidden_layers", NumHiddenLayers, MaxLayers);
        CheckAtMost(errors, "num_conv_pos_embeddings", NumConvPosEmbeddings, MaxWidth);
        if (ConvDim is not null)
        {
            CheckAtMost(errors, "conv_dim length", ConvDim.Count, MaxLayers);
            for (var i = 0; i < ConvDim.Count; i++) CheckAtMost(errors, $"conv_dim[{i}]", ConvDim[i], MaxWidth);
        }
        if (ConvKernel is not null)
            for (var i = 0; i < ConvKernel.Count; i++) CheckAtMost(errors, $"conv_kernel[{i}]", ConvKernel[i], MaxWidth);
        if (ConvStride is not null)
            for (var i = 0; i < ConvStride.Count; i++) CheckAtMost(errors, $"conv_stride[{i}]", ConvStride[i], MaxWidth);
        if (HiddenSize > 0 && NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
            errors.Add($"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (HiddenSize > 0 && NumConvPosEmbeddingGroups > 0 && HiddenSize % NumConvPosEmbeddingGroups != 0)
            errors.Add($"hidden_size {HiddenSize} is not divisible by num_conv_pos_embedding_groups {NumConvPosEmbeddingGroups}");
        if (!(LayerNormEps > 0)) errors.Add($"layer_norm_eps must be > 0, found {LayerNormEps}");
        if (!(InitializerRange >= 0)) errors.Add($"initializer_range must be >= 0, found {InitializerRange}");
        CheckProbability(errors, "hidden_dropout", HiddenDropout);
        CheckProbability(errors, "attention_dropout", AttentionDropout);
        CheckProbability(errors, "activation_dropout", ActivationDropout);
        CheckProbability(errors, "feat_proj_dropout", FeatProjDropout);
        CheckProbability(errors, "final_dropout", FinalDropout);
        CheckProbability(errors, "layerdrop", LayerDrop, allowOne: true);
        CheckProbability(errors, "mask_time_prob", MaskTimeProb, allowOne: true);
        CheckProbability(errors, "mask_feature_prob", MaskFeatureProb, allowOne: true);
        if (!Enum.IsDefined(FeatExtractNorm)) errors.Add($"feat_extract_norm has unknown value {(int)FeatExtractNorm}");
        if (!Enum.IsDefined(FeatExtractActivation)) errors.Add($"feat_extract_activation has unknown value {(int)FeatExtractActivation}");
        if (!Enum.IsDefined(HiddenAct)) errors.Add($"hidden_act has unknown value {(int)HiddenAct}");
        if (AddAdapter) errors.Add("add_adapter is true: the encoder adapter is not supported");
        if (ModelType is not (Wav2Vec2Type or HubertType or WavLMType))
            errors.Add($"model_type '{ModelType}' is not supported (wav2vec2, hubert and wavlm are)");
        if (IsWavLM)
        {
            // A bucket count below 4 leaves no logarithmic range (half per direction, half of that exact).
            if (RelativeBuckets < 4 || RelativeBuckets > MaxWidth) errors.Add($"num_buckets must be in [4, {MaxWidth}], found {RelativeBuckets}");
            if (RelativeBucketDistance <= RelativeBuckets / 4 || RelativeBucketDistance > 1 << 24)
                errors.Add($"max_bucket_distance must be in ({RelativeBuckets / 4}, {1 << 24}] (above the exact range of num_buckets / 4 offsets), found {RelativeBucketDistance}");
        }
        if (errors.Count > 0)
            throw new ArgumentException("invalid wav2vec2 config: " + string.Join("; ", errors));
    }

    /// <summary>Reads and validates a HF <c>config.json</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON, a field has the wrong type or value, or the architecture is inconsistent; the message names the file and field.</exception>
    public static Wav2Vec2Config FromJsonFile(string path) => ConfigJson.ReadFile(path, "config file", FromJson);

    /// <summary>Parses and validates the text of a HF <c>config.json</c>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">Malformed JSON, a wrongly typed or unknown-valued field, or an inconsistent architecture.</exception>
    public static Wav2Vec2Config FromJson(string json, string source = "config.json") =>
        // Keep the lists immutable whatever collection the deserializer built.
        ConfigJson.Read<Wav2Vec2Config>(json, source, config => config with
        {
            ConvDim = config.ConvDim is null ? null! : Array.AsReadOnly(config.ConvDim.ToArray()),
            ConvKernel = config.ConvKernel is null ? null! : Array.AsReadOnly(config.ConvKernel.ToArray()),
            ConvStride = config.ConvStride is null ? null! : Array.AsReadOnly(config.ConvStride.ToArray()),
        }, config => config.Validate());

    /// <summary>Writes the config as HF <c>config.json</c> text (HF field names and spellings).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ConfigJson.Options);

    private const int MaxWidth = 1 << 16;
    private const int MaxLayers = 1024;

    private static void CheckAtMost(List<string> errors, string name, int value, int max)
    {
        if (value > max) errors.Add($"{name} is {value}, more than the supported {max}");
    }

    private static void CheckPositiveList(List<string> errors, string name, IReadOnlyList<int> values)
    {
        for (var i = 0; i < values.Count; i++)
            if (values[i] <= 0) errors.Add($"{name}[{i}] must be > 0, found {values[i]}");
    }

    private static void CheckPositive(List<string> errors, string name, int value, bool allowZero = false)
    {
        if (value < 0 || (value == 0 && !allowZero)) errors.Add($"{name} must be {(allowZero ? ">= 0" : "> 0")}, found {value}");
    }

    private static void CheckProbability(List<string> errors, string name, double value, bool allowOne = false)
    {
        if (!(value >= 0 && (value < 1 || (allowOne && value <= 1))))
            errors.Add($"{name} must be in [0, 1{(allowOne ? "]" : ")")}, found {value}");
    }
}

/// <summary>JSON conventions shared by the HF config files: comments and trailing commas tolerated, HF enum spellings.</summary>
internal static class ConfigJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        Converters = { new FeatureNormConverter(), new ActivationConverter() },
    };

    /// <summary>Reads the JSON file at <paramref name="path"/> with <paramref name="parse"/>(text, path); <paramref name="what"/> names it when missing.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static T ReadFile<T>(string path, string what, Func<string, string, T> parse)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: {what} not found", path);
        return parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Deserializes a config, passes it through <paramref name="normalize"/> and <paramref name="validate"/>, and turns
    /// every failure into an <see cref="InvalidDataException"/> that starts with <paramref name="source"/>.
    /// </summary>
    public static T Read<T>(string json, string source, Func<T, T> normalize, Action<T> validate) where T : class
    {
        T? config;
        try
        {
            config = JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: {Describe(e)}", e);
        }
        if (config is null) throw new InvalidDataException($"{source}: expected a JSON object, found null");
        config = normalize(config);
        try
        {
            validate(config);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
        return config;
    }

    /// <summary>The message of a deserialization error with the JSON path of the field it is about.</summary>
    public static string Describe(JsonException e)
    {
        var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $"field '{e.Path.TrimStart('$', '.')}': ";
        var message = e.Message;
        // The serializer appends "Path: $.x | LineNumber ..." to its own messages; the field is already named.
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        message = message
            .Replace("could not be converted to System.Int32", "is not an integer", StringComparison.Ordinal)
            .Replace("could not be converted to System.Double", "is not a number", StringComparison.Ordinal)
            .Replace("could not be converted to System.Single", "is not a number", StringComparison.Ordinal)
            .Replace("could not be converted to System.Boolean", "is not true or false", StringComparison.Ordinal)
            .Replace($"could not be converted to {typeof(Wav2Vec2Config).FullName}", "is not a JSON object", StringComparison.Ordinal)
            .Replace($"could not be converted to {typeof(FeatureExtractorConfig).FullName}", "is not a JSON object", StringComparison.Ordinal);
        return field + message + (e.LineNumber is { } line ? $" (line {line + 1})" : "");
    }

    private sealed class FeatureNormConverter : JsonConverter<FeatureNorm>
    {
        public override FeatureNorm Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var s = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            return s switch
            {
                "group" => FeatureNorm.Group,
                "layer" => FeatureNorm.Layer,
                _ => throw new JsonException($"expected \"group\" or \"layer\", found {Token(ref reader)}"),
            };
        }

        public override void Write(Utf8JsonWriter writer, FeatureNorm value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value == FeatureNorm.Layer ? "layer" : "group");
    }

    private sealed class ActivationConverter : JsonConverter<Activation>
    {
        public override Activation Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var s = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            return s switch
            {
                "gelu" => Activation.Gelu,
                "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluTanh,
                "relu" => Activation.Relu,
                "silu" or "swish" => Activation.Silu,
                "tanh" => Activation.Tanh,
                _ => throw new JsonException($"unknown activation {Token(ref reader)}, expected one of gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish, tanh"),
            };
        }

        public override void Write(Utf8JsonWriter writer, Activation value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value switch
            {
                Activation.GeluTanh => "gelu_new",
                Activation.Relu => "relu",
                Activation.Silu => "silu",
                Activation.Tanh => "tanh",
                _ => "gelu",
            });
    }

    private static string Token(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"\"{reader.GetString()}\"",
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        _ => reader.TokenType.ToString().ToLowerInvariant(),
    };
}
