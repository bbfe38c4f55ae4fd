using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// The CTC (speech recognition) head of HuggingFace's <c>Wav2Vec2ForCTC</c>: dropout (<c>final_dropout</c>) then a
/// linear map from the hidden size to the character vocabulary. Its own parameters are <c>weight</c> [V, H] and
/// <c>bias</c> [V], so a parent that registers it as <c>lm_head</c> saves and loads exactly the checkpoint's
/// <c>lm_head.weight</c> / <c>lm_head.bias</c>.
/// </summary>
public sealed class CtcHead : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    [ComponentName(Name = "weight")]
    private readonly Parameter _weight; // [V, H]

    [ComponentName(Name = "bias")]
    private readonly Parameter _bias; // [V]

    /// <summary>A freshly initialised head (weights ~ N(0, <paramref name="initializerRange"/>²), bias 0, as HF initialises a new <c>lm_head</c>).</summary>
    /// <param name="hiddenSize">Size H of the backbone's hidden states.</param>
    /// <param name="vocabularySize">Number V of CTC tokens (32 for the wav2vec2-base-960h characters).</param>
    /// <param name="dropout">Dropout probability on the hidden states before the projection (HF's <c>final_dropout</c>).</param>
    /// <param name="initializerRange">Standard deviation of the initial weights (HF's <c>initializer_range</c>).</param>
    public CtcHead(int hiddenSize, int vocabularySize = 32, double dropout = 0.1, double initializerRange = 0.02)
        : base(nameof(CtcHead))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 2);
        (_dropout, _weight, _bias) = HeadProjection.Create(hiddenSize, vocabularySize, dropout, initializerRange);
        HiddenSize = hiddenSize;
        VocabularySize = vocabularySize;
        RegisterComponents();
    }

    /// <summary>Hidden size H the head expects.</summary>
    public int HiddenSize { get; }

    /// <summary>Vocabulary size V the head produces.</summary>
    public int VocabularySize { get; }

    /// <summary>
    /// Copies a checkpoint's <c>lm_head</c> tensors (keys <c>weight</c> [V, H] and <c>bias</c> [V]) into the head,
    /// converting dtype and keeping the head's device.
    /// </summary>
    /// <param name="lmHead">The tensors, keyed without the <c>lm_head.</c> prefix.</param>
    /// <param name="source">Where they came from (a file path), for error messages.</param>
    /// <exception cref="InvalidDataException">A key is missing or unexpected, or a shape differs; the message
    /// names the source, the key and both shapes.</exception>
    public void LoadFrom(IReadOnlyDictionary<string, Tensor> lmHead, string source = "lm_head")
    {
        ArgumentNullException.ThrowIfNull(lmHead);
        var expected = new Dictionary<string, long[]>
        {
            ["weight"] = [VocabularySize, HiddenSize],
            ["bias"] = [VocabularySize],
        };
        var unexpected = lmHead.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
            throw new InvalidDataException($"{source}: unexpected lm_head tensor(s) {string.Join(", ", unexpected.Select(k => $"'{k}'"))}; expected 'weight' and 'bias'");
        foreach (var (key, shape) in expected)
        {
            if (!lmHead.TryGetValue(key, out var tensor))
                throw new InvalidDataException($"{source}: tensor 'lm_head.{key}' is missing");
            if (!tensor.shape.SequenceEqual(shape))
                throw new InvalidDataException(
                    $"{source}: tensor 'lm_head.{key}' has shape [{string.Join(", ", tensor.shape)}], expected [{string.Join(", ", shape)}] (vocabulary {VocabularySize}, hidden size {HiddenSize})");
            if (!tensor.is_floating_point())
                throw new InvalidDataException($"{source}: tensor 'lm_head.{key}' has dtype {tensor.dtype}, expected a floating-point type");
            SerMtl.Checkpoints.StateDictLoader.CheckFinite(tensor, "lm_head." + key, source);
        }
        using var _ = no_grad();
        _weight.copy_(lmHead["weight"].to(_weight.dtype, _weight.device));
        _bias.copy_(lmHead["bias"].to(_bias.dtype, _bias.device));
    }

    /// <summary>Per-frame vocabulary logits.</summary>
    /// <param name="hidden">Backbone hidden states [B, T, H].</param>
    /// <returns>Logits [B, T, V] (no softmax).</returns>
    public override Tensor forward(Tensor hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        if (hidden.dim() != 3 || hidden.shape[2] != HiddenSize)
            throw new ArgumentException($"expected hidden states [B, T, {HiddenSize}], got [{string.Join(", ", hidden.shape)}]", nameof(hidden));
        return nn.functional.linear(_dropout.call(hidden), _weight, _bias);
    }
}
