using SerMtl.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>How per-utterance CTC losses are combined over a batch.</summary>
public enum CtcReduction
{
    /// <summary>Sum over utterances (HuggingFace <c>Wav2Vec2ForCTC</c>'s default <c>ctc_loss_reduction="sum"</c>).</summary>
    Sum,

    /// <summary>PyTorch's <c>reduction="mean"</c>: each loss divided by its target length, then averaged over utterances.</summary>
    Mean,
}

/// <summary>The terms of <see cref="MultiTaskLoss.Compute"/>, each a scalar float32 tensor on the logits' device.</summary>
/// <param name="Total">CE + α·CTC, the tensor to back-propagate.</param>
/// <param name="Emotion">The cross-entropy term (mean over the batch).</param>
/// <param name="Ctc">The CTC term before weighting by α; null when α = 0 (it is not computed at all).</param>
public sealed record MultiTaskLossResult(Tensor Total, Tensor Emotion, Tensor? Ctc);

/// <summary>
/// The paper's multi-task objective <c>L = CE(emotion) + α·CTC(transcript)</c>.
/// <list type="bullet">
/// <item>CE: cross-entropy of the emotion logits, averaged over the batch.</item>
/// <item>CTC: on <c>log_softmax</c> of the CTC logits in float32 (whatever the model's dtype), blank = <see cref="BlankId"/>, input
/// lengths = the backbone's frame lengths; reduction <see cref="CtcReduction.Sum"/> (HF's default) or
/// <see cref="CtcReduction.Mean"/> (PyTorch's); <c>zero_infinity</c> on by default, so an utterance whose transcript
/// cannot fit its frames contributes 0 and no gradient instead of infinity.</item>
/// <item>Utterances with an empty target (no transcript, or one that normalises to nothing) are left out of the
/// CTC term: they add nothing to the sum and do not count in the mean. Training them towards "all blank" would
/// teach the model that unknown speech is silence. If no utterance of the batch has a target, CTC is 0.</item>
/// <item>α = 0 skips CTC entirely (its inputs may then be null).</item>
/// </list>
/// </summary>
public sealed class MultiTaskLoss
{
    /// <summary>Creates the objective.</summary>
    /// <param name="alpha">Weight α ≥ 0 of the CTC term.</param>
    /// <param name="ctcReduction">How CTC losses combine over the batch.</param>
    /// <param name="zeroInfinity">Replace infinite CTC losses (and their gradients) by zero.</param>
    public MultiTaskLoss(double alpha, CtcReduction ctcReduction = CtcReduction.Sum, bool zeroInfinity = true)
    {
        if (!(alpha >= 0) || double.IsInfinity(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "expected a finite CTC weight >= 0");
        if (!Enum.IsDefined(ctcReduction))
            throw new ArgumentOutOfRangeException(nameof(ctcReduction), ctcReduction, "unknown CTC reduction");
        Alpha = alpha;
        CtcReduction = ctcReduction;
        ZeroInfinity = zeroInfinity;
    }

    /// <summary>Weight α of the CTC term.</summary>
    public double Alpha { get; }

    /// <summary>How CTC losses combine over the batch.</summary>
    public CtcReduction CtcReduction { get; }

    /// <summary>Whether infinite CTC losses are replaced by zero.</summary>
    public bool ZeroInfinity { get; }

    /// <summary>
    /// Id of the CTC blank in the vocabulary (<see cref="SerMtl.Data.Text.CharacterVocabulary.BlankId"/>): 0 for
    /// <c>wav2vec2-base-960h</c>'s, often the last id in fine-tuned vocabularies.
    /// </summary>
    public int BlankId
    {
        get => _blankId;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _blankId = value;
        }
    }

    private readonly int _blankId;

    /// <summary>Computes the loss of a batch.</summary>
    /// <param name="emotionLogits">Emotion logits [B, C].</param>
    /// <param name="emotionLabels">True class indices [B] (integer).</param>
    /// <param name="ctcLogits">CTC logits [B, T, V]; may be null when α = 0.</param>
    /// <param name="frameLengths">Valid frames per utterance [B], each in [0, T]; may be null when α = 0.</param>
    /// <param name="targets">Transcript ids, either concatenated [sum of target lengths] or padded [B, L]
    /// (values beyond each length ignored); ids in [0, V) other than the blank <see cref="BlankId"/>. May be null when α = 0.</param>
    /// <param name="targetLengths">Transcript length per utterance [B] (0 = no transcript); may be null when α = 0.</param>
    /// <exception cref="ArgumentException">Shapes disagree, or α &gt; 0 and a CTC input is missing or out of range.</exception>
    public MultiTaskLossResult Compute(
        Tensor emotionLogits,
        Tensor emotionLabels,
        Tensor? ctcLogits = null,
        Tensor? frameLengths = null,
        Tensor? targets = null,
        Tensor? targetLengths = null)
    {
        ArgumentNullException.ThrowIfNull(emotionLogits);
        ArgumentNullException.ThrowIfNull(emotionLabels);
        if (emotionLogits.dim() != 2)
            throw new ArgumentException($"expected emotion logits [B, C], got [{Shape(emotionLogits)}]", nameof(emotionLogits));
        if (emotionLabels.dim() != 1 || emotionLabels.shape[0] != emotionLogits.shape[0] || !IsInteger(emotionLabels))
            throw new ArgumentException(
                $"expected integer emotion labels [{emotionLogits.shape[0]}], got {emotionLabels.dtype} [{Shape(emotionLabels)}]", nameof(emotionLabels));

        if (!emotionLogits.is_floating_point())
            throw new ArgumentException($"expected floating-point emotion logits, got {emotionLogits.dtype}", nameof(emotionLogits));

        using var scope = NewDisposeScope();
        var labels = emotionLabels.to(ScalarType.Int64, emotionLogits.device);
        var classes = emotionLogits.shape[1];
        if (labels.lt(Scalars.Of(0L)).logical_or_(labels.ge(Scalars.Of(classes))).any().item<bool>())
            throw new ArgumentException($"emotion labels [{Values(labels)}] must lie in [0, {classes}) (the logits' C)", nameof(emotionLabels));
        var emotion = nn.functional.cross_entropy(emotionLogits.to(ScalarType.Float32), labels);
        if (Alpha == 0)
            return new MultiTaskLossResult(emotion.alias().MoveToOuterDisposeScope(), emotion.MoveToOuterDisposeScope(), null);

        if (ctcLogits is null || frameLengths is null || targets is null || targetLengths is null)
            throw new ArgumentException($"α = {Alpha} needs the CTC logits, frame lengths, targets and target lengths; one of them is null");
        if (ctcLogits.dim() != 3 || ctcLogits.shape[0] != emotionLogits.shape[0])
            throw new ArgumentException(
                $"expected CTC logits [{emotionLogits.shape[0]}, T, V] (the emotion batch size), got [{Shape(ctcLogits)}]", nameof(ctcLogits));
        if (BlankId >= ctcLogits.shape[2])
            throw new ArgumentException($"the CTC blank id {BlankId} is outside the logits' vocabulary of {ctcLogits.shape[2]}", nameof(ctcLogits));
        var ctc = CtcLoss(ctcLogits, frameLengths, targets, targetLengths, CtcReduction, ZeroInfinity, BlankId);
        var total = emotion.add(ctc, Scalars.Of(Alpha));
        return new MultiTaskLossResult(
            total.MoveToOuterDisposeScope(), emotion.MoveToOuterDisposeScope(), ctc.MoveToOuterDisposeScope());
    }

    /// <summary>The CTC term alone (see the class remarks for empty targets and reductions).</summary>
    /// <param name="ctcLogits">Logits [B, T, V].</param>
    /// <param name="frameLengths">Valid frames per utterance [B].</param>
    /// <param name="targets">Concatenated [sum of lengths] or padded [B, L] target ids.</param>
    /// <param name="targetLengths">Target length per utterance [B].</param>
    /// <param name="reduction">Sum or mean over the utterances that have a target.</param>
    /// <param name="zeroInfinity">Replace infinite losses (and their gradients) by zero.</param>
    /// <param name="blank">Id of the CTC blank.</param>
    /// <returns>A float32 scalar.</returns>
    internal static Tensor CtcLoss(
        Tensor ctcLogits, Tensor frameLengths, Tensor targets, Tensor targetLengths, CtcReduction reduction, bool zeroInfinity, int blank = 0)
    {
        foreach (var (tensor, name) in new[] { (frameLengths, nameof(frameLengths)), (targets, nameof(targets)), (targetLengths, nameof(targetLengths)) })
            if (!IsInteger(tensor))
                throw new ArgumentException($"expected integer {name}, got {tensor.dtype}", name);
        if (!ctcLogits.is_floating_point())
            throw new ArgumentException($"expected floating-point CTC logits, got {ctcLogits.dtype}", nameof(ctcLogits));

        using var scope = NewDisposeScope();
        var device = ctcLogits.device;
        var inputLengths = frameLengths.to(ScalarType.Int64, device);
        var lengths = targetLengths.to(ScalarType.Int64, device);
        var ids = targets.to(ScalarType.Int64, device);
        CheckCtcInputs(ctcLogits, inputLengths, ids, lengths, blank);

        // HF computes CTC in float32 even under mixed precision: the forward-backward sums underflow in half.
        var logProbs = nn.functional.log_softmax(ctcLogits.to(ScalarType.Float32), -1).transpose(0, 1); // [T, B, V]
        var perUtterance = nn.functional.ctc_loss(
            logProbs, ids, inputLengths, lengths, blank: blank, zero_infinity: zeroInfinity, reduction: nn.Reduction.None); // [B]

        // Utterances without a target are masked out (where, not multiply, so nothing of theirs leaks into the
        // loss or its gradient); no host sync is needed to find them.
        var hasTarget = lengths.gt(Scalars.Of(0L));                                                // [B]
        var kept = perUtterance.where(hasTarget, zeros_like(perUtterance));            // [B]
        var loss = reduction switch
        {
            CtcReduction.Sum => kept.sum(),
            CtcReduction.Mean => (kept / lengths.clamp_min(Scalars.Of(1L)).to(ScalarType.Float32)).sum()
                                 / hasTarget.sum().clamp_min(Scalars.Of(1L)).to(ScalarType.Float32),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "unknown CTC reduction"),
        };
        return loss.MoveToOuterDisposeScope();
    }

    private static void CheckCtcInputs(Tensor logits, Tensor inputLengths, Tensor targets, Tensor targetLengths, int blank)
    {
        var (batch, frames, vocabulary) = (logits.shape[0], logits.shape[1], logits.shape[2]);
        if (inputLengths.dim() != 1 || inputLengths.shape[0] != batch)
            throw new ArgumentException($"expected frame lengths [{batch}], got [{Shape(inputLengths)}]", "frameLengths");
        if (targetLengths.dim() != 1 || targetLengths.shape[0] != batch)
            throw new ArgumentException($"expected target lengths [{batch}], got [{Shape(targetLengths)}]", "targetLengths");
        if (targets.dim() == 2 ? targets.shape[0] != batch : targets.dim() != 1)
            throw new ArgumentException(
                $"expected targets concatenated [N] or padded [{batch}, L], got [{Shape(targets)}]", "targets");

        // One host sync for every value check: out-of-range ids would make ctc_loss read outside the logits.
        var badFrames = inputLengths.lt(Scalars.Of(0L)).logical_or_(inputLengths.gt(Scalars.Of(frames))).any();
        Tensor badLengths, badIds;
        if (targets.dim() == 1)
        {
            badLengths = targetLengths.lt(Scalars.Of(0L)).any().logical_or_(targetLengths.sum().ne(Scalars.Of(targets.shape[0])));
            badIds = targets.lt(Scalars.Of(0L)).logical_or_(targets.ge(Scalars.Of(vocabulary))).logical_or_(targets.eq(Scalars.Of((long)blank))).any();
        }
        else
        {
            var width = targets.shape[1];
            badLengths = targetLengths.lt(Scalars.Of(0L)).logical_or_(targetLengths.gt(Scalars.Of(width))).any();
            var inTarget = Scalars.Arange(width, targets.device).unsqueeze(0).lt(targetLengths.unsqueeze(1)); // [B, L]
            badIds = targets.lt(Scalars.Of(0L)).logical_or_(targets.ge(Scalars.Of(vocabulary))).logical_or_(targets.eq(Scalars.Of((long)blank))).logical_and_(inTarget).any();
        }
        if (!stack([badFrames, badLengths, badIds]).any().item<bool>()) return;

        if (badFrames.item<bool>())
            throw new ArgumentException($"frame lengths [{Values(inputLengths)}] must lie in [0, {frames}] (the logits' T)", "frameLengths");
        if (badLengths.item<bool>())
            throw new ArgumentException(
                targets.dim() == 1
                    ? $"target lengths [{Values(targetLengths)}] must be >= 0 and sum to the {targets.shape[0]} concatenated targets"
                    : $"target lengths [{Values(targetLengths)}] must lie in [0, {targets.shape[1]}] (the padded targets' width)",
                "targetLengths");
        throw new ArgumentException(
            blank == 0
                ? $"target ids must lie in [1, {vocabulary}) (0 is the CTC blank); found {Values(targets.dim() == 1 ? targets : targets.flatten())}"
                : $"target ids must lie in [0, {vocabulary}) and not be the CTC blank {blank}; found {Values(targets.dim() == 1 ? targets : targets.flatten())}",
            "targets");
    }

    private static bool IsInteger(Tensor t) => !t.is_floating_point() && !t.is_complex() && t.dtype != ScalarType.Bool;

    private static string Shape(Tensor t) => string.Join(", ", t.shape);

    private static string Values(Tensor t)
    {
        var values = t.to(ScalarType.Int64).cpu().data<long>();
        var shown = string.Join(", ", values.Take(32));
        return values.Count > 32 ? shown + ", ..." : shown;
    }
}
