using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>A checkpoint split into its parts: backbone tensors under HF <c>Wav2Vec2Model</c> keys and the CTC head, if any.</summary>
/// <param name="Backbone">Keys as in HF <c>Wav2Vec2Model.state_dict()</c>, no prefix, weight norm as <c>weight_g</c>/<c>weight_v</c>.</param>
/// <param name="LmHead">The <c>lm_head.*</c> tensors as <c>weight</c>/<c>bias</c>, or null when the checkpoint has none.</param>
/// <param name="Skipped">
/// Keys dropped: pretraining leftovers (<c>quantizer.*</c>, <c>project_hid.*</c>, <c>project_q.*</c>) and the heads
/// of other HF task models (<c>projector.*</c>, <c>classifier.*</c>, <c>layer_weights</c> of
/// <c>Wav2Vec2ForSequenceClassification</c>, <c>emotion_head.*</c> of a saved SerMtl model), as spelled in the checkpoint.
/// </param>
internal sealed record Wav2Vec2StateDict(
    Dictionary<string, Tensor> Backbone,
    Dictionary<string, Tensor>? LmHead,
    IReadOnlyList<string> Skipped);

/// <summary>Maps the key spellings real wav2vec2 checkpoints use onto HF <c>Wav2Vec2Model</c> keys.</summary>
/// <remarks>
/// Handled: the <c>wav2vec2.</c> prefix of the task models (<c>Wav2Vec2ForCTC</c>, <c>ForPreTraining</c>,
/// <c>ForSequenceClassification</c>), HuBERT's <c>hubert.</c> (<c>HubertForCTC</c>, <c>HubertForSequenceClassification</c>:
/// the same backbone), WavLM's <c>wavlm.</c>, or none (<c>Wav2Vec2Model</c>, <c>HubertModel</c>, <c>WavLMModel</c>); weight norm stored by
/// <c>torch.nn.utils.parametrizations.weight_norm</c> (<c>parametrizations.weight.original0/1</c>) or the legacy
/// hook (<c>weight_g</c>/<c>weight_v</c>). Returned tensors are the input tensors (not copies).
/// </remarks>
internal static class Wav2Vec2KeyMap
{
    private const string Prefix = "wav2vec2.";

    /// <summary>The backbone prefixes of HF's task models: wav2vec2, HuBERT and WavLM.</summary>
    internal static readonly string[] BackbonePrefixes = [Prefix, "hubert.", "wavlm."];
    private const string LmHeadPrefix = "lm_head.";

    // Top-level modules of other HF wav2vec2 / HuBERT models that a backbone (plus CTC head) does not use.
    private static readonly string[] SkippedPrefixes = ["quantizer.", "project_hid.", "project_q.", "projector.", "classifier.", "emotion_head.", "final_proj."];
    private static readonly string[] SkippedKeys = ["layer_weights", "label_embs_concat"];

    /// <summary>Splits <paramref name="raw"/>; errors name "checkpoint" as their source.</summary>
    public static Wav2Vec2StateDict Map(IReadOnlyDictionary<string, Tensor> raw) => Map(raw, "checkpoint");

    /// <summary>Splits <paramref name="raw"/> (read from <paramref name="source"/>, named in errors).</summary>
    /// <exception cref="InvalidDataException">
    /// Backbone keys come both with and without the <c>wav2vec2.</c> prefix, or two keys map onto the same
    /// backbone key (e.g. <c>weight_g</c> and <c>parametrizations.weight.original0</c>).
    /// </exception>
    public static Wav2Vec2StateDict Map(IReadOnlyDictionary<string, Tensor> raw, string source)
    {
        var backbone = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var origin = new Dictionary<string, string>(StringComparer.Ordinal); // backbone key -> raw key
        Dictionary<string, Tensor>? lmHead = null;
        var skipped = new List<string>();
        string? prefixed = null, unprefixed = null, usedPrefix = null;
        foreach (var (key, tensor) in raw)
        {
            if (key.StartsWith(LmHeadPrefix, StringComparison.Ordinal))
            {
                (lmHead ??= new(StringComparer.Ordinal))[key[LmHeadPrefix.Length..]] = tensor;
                continue;
            }
            // HuBERT and WavLM task models (HubertForCTC, WavLMForSequenceClassification, ...) spell the backbone "hubert." / "wavlm.".
            var prefix = BackbonePrefixes.FirstOrDefault(p => key.StartsWith(p, StringComparison.Ordinal)) ?? Prefix;
            var hasPrefix = key.StartsWith(prefix, StringComparison.Ordinal);
            var k = hasPrefix ? key[prefix.Length..] : key;
            if (SkippedPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal)) || SkippedKeys.Contains(k))
            {
                skipped.Add(key);
                continue;
            }
            if (hasPrefix)
            {
                prefixed ??= key;
                usedPrefix ??= prefix;
            }
            else
            {
                unprefixed ??= key;
            }
            // torch.nn.utils.parametrizations.weight_norm spelling -> the legacy weight_g / weight_v.
            k = k.Replace(".parametrizations.weight.original0", ".weight_g", StringComparison.Ordinal)
                 .Replace(".parametrizations.weight.original1", ".weight_v", StringComparison.Ordinal);
            if (!origin.TryAdd(k, key))
                throw new InvalidDataException($"{source}: '{origin[k]}' and '{key}' both give backbone tensor '{k}'");
            backbone[k] = tensor;
        }
        if (prefixed is not null && unprefixed is not null)
            throw new InvalidDataException($"{source}: backbone keys come both with and without the '{usedPrefix}' prefix (e.g. '{prefixed}' and '{unprefixed}'); a checkpoint uses one spelling");
        return new Wav2Vec2StateDict(backbone, lmHead, skipped);
    }
}
