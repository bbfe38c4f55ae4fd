using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>A checkpoint split into its parts: backbone tensors under HF <c>Wav2Vec2Model</c> keys and the CTC head, if any.</summary>
/// <param name="Backbone">Keys as in HF <c>Wav2Vec2Model.state_dict()</c>, no prefix, weight norm as <c>weight_g</c>/<c>weight_v</c>.</param>
/// <param name="LmHead">The <c>lm_head.*</c> tensors as <c>weight</c>/<c>bias</c>, or null when the checkpoint has none.</param>
/// <param name="Skipped">Keys dropped as pretraining leftovers (<c>quantizer.*</c>, <c>project_hid.*</c>, <c>project_q.*</c>).</param>
internal sealed record Wav2Vec2StateDict(
    Dictionary<string, Tensor> Backbone,
    Dictionary<string, Tensor>? LmHead,
    IReadOnlyList<string> Skipped);

/// <summary>Maps the key spellings real wav2vec2 checkpoints use onto HF <c>Wav2Vec2Model</c> keys.</summary>
internal static class Wav2Vec2KeyMap
{
    private static readonly string[] PretrainingLeftovers = ["quantizer.", "project_hid.", "project_q."];

    public static Wav2Vec2StateDict Map(IReadOnlyDictionary<string, Tensor> raw)
    {
        var backbone = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Dictionary<string, Tensor>? lmHead = null;
        var skipped = new List<string>();
        foreach (var (key, tensor) in raw)
        {
            if (key.StartsWith("lm_head.", StringComparison.Ordinal))
            {
                (lmHead ??= new(StringComparer.Ordinal))[key["lm_head.".Length..]] = tensor;
                continue;
            }
            var k = key.StartsWith("wav2vec2.", StringComparison.Ordinal) ? key["wav2vec2.".Length..] : key;
            if (PretrainingLeftovers.Any(p => k.StartsWith(p, StringComparison.Ordinal)))
            {
                skipped.Add(key);
                continue;
            }
            // torch.nn.utils.parametrizations.weight_norm spelling -> the legacy weight_g / weight_v.
            k = k.Replace(".parametrizations.weight.original0", ".weight_g", StringComparison.Ordinal)
                 .Replace(".parametrizations.weight.original1", ".weight_v", StringComparison.Ordinal);
            backbone[k] = tensor;
        }
        return new Wav2Vec2StateDict(backbone, lmHead, skipped);
    }
}
