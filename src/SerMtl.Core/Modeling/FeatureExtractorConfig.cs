using System.Text.Json;
using System.Text.Json.Serialization;

namespace SerMtl.Modeling;

/// <summary>
/// The waveform preprocessing of a HF <c>preprocessor_config.json</c> (<c>Wav2Vec2FeatureExtractor</c>). Only the
/// fields that change the model's input are kept; padding is always on the right with lengths passed along, so
/// <c>padding_side</c> and <c>return_attention_mask</c> do not apply.
/// </summary>
public sealed record FeatureExtractorConfig
{
    /// <summary>Scale each utterance to zero mean and unit variance over its valid samples (<c>do_normalize</c>).</summary>
    [JsonPropertyName("do_normalize")]
    public bool DoNormalize { get; init; } = true;

    /// <summary>Sample rate the model expects, in Hz (<c>sampling_rate</c>).</summary>
    [JsonPropertyName("sampling_rate")]
    public int SamplingRate { get; init; } = 16000;

    /// <summary>Value written into padded samples (<c>padding_value</c>).</summary>
    [JsonPropertyName("padding_value")]
    public float PaddingValue { get; init; }

    /// <summary>Channels per sample (<c>feature_size</c>); must be 1 (raw mono waveform).</summary>
    [JsonPropertyName("feature_size")]
    public int FeatureSize { get; init; } = 1;

    /// <summary>Always <c>"Wav2Vec2FeatureExtractor"</c>: written so HF tooling recognises the file.</summary>
    [JsonPropertyName("feature_extractor_type")]
    public string FeatureExtractorType => "Wav2Vec2FeatureExtractor";

    /// <summary>The epsilon HF adds to the variance when normalising.</summary>
    [JsonIgnore]
    public double NormalizeEpsilon => SerMtl.Inference.PaddedWaveforms.NormalizeEpsilon;

    /// <summary>Throws <see cref="ArgumentException"/> when a field is out of range.</summary>
    public void Validate()
    {
        if (SamplingRate <= 0) throw new ArgumentException($"invalid feature extractor config: sampling_rate must be > 0, found {SamplingRate}");
        if (FeatureSize != 1) throw new ArgumentException($"invalid feature extractor config: feature_size must be 1 (raw mono waveform), found {FeatureSize}");
        if (!float.IsFinite(PaddingValue)) throw new ArgumentException($"invalid feature extractor config: padding_value must be finite, found {PaddingValue}");
    }

    /// <summary>Reads and validates a HF <c>preprocessor_config.json</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Malformed JSON or an out-of-range field; the message names the file and field.</exception>
    public static FeatureExtractorConfig FromJsonFile(string path) => ConfigJson.ReadFile(path, "preprocessor config", FromJson);

    /// <summary>Parses and validates the text of a HF <c>preprocessor_config.json</c>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">Malformed JSON or an out-of-range field.</exception>
    public static FeatureExtractorConfig FromJson(string json, string source = "preprocessor_config.json") =>
        ConfigJson.Read<FeatureExtractorConfig>(json, source, config => config, config => config.Validate());

    /// <summary>Writes the config as HF <c>preprocessor_config.json</c> text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ConfigJson.Options);
}
