using SerMtl.Checkpoints;
using SerMtl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Training;

/// <summary>CTC against torch.nn.functional.ctc_loss outputs (tests/fixtures/ctc_reference.safetensors).</summary>
public sealed class MultiTaskLossTests : IDisposable
{
    private readonly Dictionary<string, Tensor> _reference =
        SafeTensors.Read(Path.Combine(TestPaths.Fixtures, "ctc_reference.safetensors"));

    public void Dispose()
    {
        foreach (var t in _reference.Values) t.Dispose();
    }

    private Tensor LogitsBtv => _reference["logits_tbv"].transpose(0, 1); // [B=4, T=50, V=32]

    [Theory]
    [InlineData(CtcReduction.Sum, "sum", false)]
    [InlineData(CtcReduction.Sum, "sum", true)]
    [InlineData(CtcReduction.Mean, "mean", false)]
    [InlineData(CtcReduction.Mean, "mean", true)]
    public void CtcLoss_MatchesTorchReference(CtcReduction reduction, string key, bool zeroInfinity)
    {
        using var scope = NewDisposeScope();
        var loss = MultiTaskLoss.CtcLoss(
            LogitsBtv, _reference["input_lengths"], _reference["targets_concat"], _reference["target_lengths"], reduction, zeroInfinity);
        var expected = _reference[$"loss.{key}.zero_infinity={(zeroInfinity ? "true" : "false")}"].item<float>();
        AssertRelative(expected, loss.item<float>());
        Assert.Equal(ScalarType.Float32, loss.dtype);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TorchCtcLoss_NoReduction_MatchesReferencePerUtterance(bool zeroInfinity)
    {
        // The building block itself: TorchSharp's ctc_loss on [T, B, V] log-probabilities, infeasible item included.
        using var scope = NewDisposeScope();
        var logProbs = nn.functional.log_softmax(_reference["logits_tbv"], -1);
        var losses = nn.functional.ctc_loss(logProbs, _reference["targets_concat"], _reference["input_lengths"],
            _reference["target_lengths"], blank: 0, zero_infinity: zeroInfinity, reduction: nn.Reduction.None);
        var expected = _reference[$"loss.none.zero_infinity={(zeroInfinity ? "true" : "false")}"].data<float>().ToArray();
        var actual = losses.data<float>().ToArray();
        Assert.Equal(4, actual.Length);
        for (var i = 0; i < 4; i++) AssertRelative(expected[i], actual[i]);
        Assert.Equal(zeroInfinity ? 0f : float.PositiveInfinity, actual[3]);
    }

    [Fact]
    public void CtcLoss_ZeroInfinity_GradientsFiniteAndZeroForInfeasibleUtterance()
    {
        using var scope = NewDisposeScope();
        var logits = LogitsBtv.detach().clone().requires_grad_();
        var loss = MultiTaskLoss.CtcLoss(logits, _reference["input_lengths"], _reference["targets_concat"],
            _reference["target_lengths"], CtcReduction.Sum, zeroInfinity: true);
        loss.backward();
        var grad = logits.grad!;
        Assert.True(grad.isfinite().all().item<bool>());
        Assert.Equal(0f, grad[3].abs().sum().item<float>());
        Assert.True(grad[0].abs().sum().item<float>() > 0);
        // Frames beyond an utterance's input length get no gradient (utterance 1 has 40 of 50 frames).
        Assert.Equal(0f, grad[1, 40..].abs().sum().item<float>());
    }

    [Fact]
    public void CtcLoss_PaddedTargets_EqualConcatenated()
    {
        using var scope = NewDisposeScope();
        var (padded, lengths) = Padded(padValue: -100);
        foreach (var reduction in new[] { CtcReduction.Sum, CtcReduction.Mean })
        {
            var fromConcat = MultiTaskLoss.CtcLoss(LogitsBtv, _reference["input_lengths"], _reference["targets_concat"], lengths, reduction, true);
            var fromPadded = MultiTaskLoss.CtcLoss(LogitsBtv, _reference["input_lengths"], padded, lengths, reduction, true);
            AssertRelative(fromConcat.item<float>(), fromPadded.item<float>());
        }
    }

    [Fact]
    public void CtcLoss_EmptyTargets_AreLeftOut()
    {
        using var scope = NewDisposeScope();
        // The first three (feasible) utterances, then the same three with two empty-target utterances added.
        var logits = LogitsBtv[..3];
        var inputs = _reference["input_lengths"][..3];
        var lengths = _reference["target_lengths"][..3];
        var targets = _reference["targets_concat"][..(int)lengths.sum().item<long>()];
        var withEmpty = cat([logits, LogitsBtv[..2]], 0);
        var inputsWithEmpty = cat([inputs, tensor(new long[] { 50, 40 })], 0);
        var lengthsWithEmpty = cat([lengths, tensor(new long[] { 0, 0 })], 0);
        foreach (var reduction in new[] { CtcReduction.Sum, CtcReduction.Mean })
        {
            var expected = MultiTaskLoss.CtcLoss(logits, inputs, targets, lengths, reduction, true).item<float>();
            var actual = MultiTaskLoss.CtcLoss(withEmpty, inputsWithEmpty, targets, lengthsWithEmpty, reduction, true).item<float>();
            AssertRelative(expected, actual);
        }
        // Sanity: utterances 0-2 sum to the reference's first three losses.
        AssertRelative(164.8395f + 184.12947f + 163.08112f,
            MultiTaskLoss.CtcLoss(logits, inputs, targets, lengths, CtcReduction.Sum, true).item<float>());
    }

    [Fact]
    public void CtcLoss_AllTargetsEmpty_IsZeroWithZeroGradient()
    {
        using var scope = NewDisposeScope();
        var logits = LogitsBtv.detach().clone().requires_grad_();
        var loss = MultiTaskLoss.CtcLoss(logits, _reference["input_lengths"], zeros(0, ScalarType.Int64),
            zeros(4, ScalarType.Int64), CtcReduction.Mean, true);
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
        Assert.Equal(0f, logits.grad!.abs().sum().item<float>());
    }

    [Fact]
    public void CtcLoss_HalfPrecisionLogits_ComputedInFloat32()
    {
        using var scope = NewDisposeScope();
        var half = LogitsBtv.to(ScalarType.BFloat16);
        var fromHalf = MultiTaskLoss.CtcLoss(half, _reference["input_lengths"], _reference["targets_concat"], _reference["target_lengths"], CtcReduction.Sum, true);
        var fromRounded = MultiTaskLoss.CtcLoss(half.to(ScalarType.Float32), _reference["input_lengths"], _reference["targets_concat"], _reference["target_lengths"], CtcReduction.Sum, true);
        Assert.Equal(ScalarType.Float32, fromHalf.dtype);
        Assert.Equal(fromRounded.item<float>(), fromHalf.item<float>());
    }

    [Fact]
    public void Compute_BlankElsewhere_GivesTheReferenceOfTheRelabelledVocabulary()
    {
        // The reference has its blank at 0. Moving that column to the last id (and renumbering the targets the same
        // way, as a vocabulary with [PAD] last does) must give the same loss when the loss is told the blank's id.
        using var scope = NewDisposeScope();
        var vocabulary = LogitsBtv.shape[2];
        var last = vocabulary - 1;
        var order = tensor(Enumerable.Range(1, (int)last).Select(i => (long)i).Append(0L).ToArray()); // new id j holds old id order[j]
        var moved = LogitsBtv.index_select(2, order);
        var targets = _reference["targets_concat"] - 1;                                                  // old id k -> k - 1
        var emotionLogits = zeros(4, 4);
        var labels = tensor(new long[] { 0, 1, 2, 3 });
        var result = new MultiTaskLoss(alpha: 1) { BlankId = (int)last }
            .Compute(emotionLogits, labels, moved, _reference["input_lengths"], targets, _reference["target_lengths"]);
        AssertRelative(_reference["loss.sum.zero_infinity=true"].item<float>(), result.Ctc!.item<float>());

        // Target id 0 is a character now; the blank is not a target.
        var blankTarget = targets.clone();
        blankTarget[0] = tensor(last);
        var e = Assert.Throws<ArgumentException>(() => new MultiTaskLoss(alpha: 1) { BlankId = (int)last }
            .Compute(emotionLogits, labels, moved, _reference["input_lengths"], blankTarget, _reference["target_lengths"]));
        Assert.Contains($"not be the CTC blank {last}", e.Message);
        Assert.Contains("outside the logits' vocabulary", Assert.Throws<ArgumentException>(() => new MultiTaskLoss(alpha: 1) { BlankId = (int)vocabulary }
            .Compute(emotionLogits, labels, moved, _reference["input_lengths"], targets, _reference["target_lengths"])).Message);
    }

    [Fact]
    public void Compute_TotalIsCrossEntropyPlusAlphaTimesCtc()
    {
        using var scope = NewDisposeScope();
        var emotionLogits = tensor(new float[] { 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 0, 1, 1, 1, 1 }).reshape(4, 4);
        var labels = tensor(new long[] { 0, 1, 2, 3 });
        var loss = new MultiTaskLoss(alpha: 0.1);
        var result = loss.Compute(emotionLogits, labels, LogitsBtv, _reference["input_lengths"], _reference["targets_concat"], _reference["target_lengths"]);

        var expectedCe = nn.functional.cross_entropy(emotionLogits, labels).item<float>();
        Assert.Equal(expectedCe, result.Emotion.item<float>(), 5);
        Assert.NotNull(result.Ctc);
        AssertRelative(_reference["loss.sum.zero_infinity=true"].item<float>(), result.Ctc.item<float>());
        AssertRelative(expectedCe + 0.1f * result.Ctc.item<float>(), result.Total.item<float>());
    }

    [Fact]
    public void Compute_AlphaZero_SkipsCtcAndNeedsNoCtcInputs()
    {
        using var scope = NewDisposeScope();
        var emotionLogits = randn(3, 4).requires_grad_();
        var labels = tensor(new long[] { 0, 3, 1 });
        var result = new MultiTaskLoss(alpha: 0).Compute(emotionLogits, labels);
        Assert.Null(result.Ctc);
        Assert.Equal(result.Emotion.item<float>(), result.Total.item<float>());
        result.Total.backward();
        Assert.True(emotionLogits.grad!.abs().sum().item<float>() > 0);

        // CTC inputs, even invalid ones, are not looked at.
        var ignored = new MultiTaskLoss(alpha: 0).Compute(emotionLogits, labels, zeros(3, 5, 32), tensor(new long[] { 99, 99, 99 }),
            tensor(new long[] { 0 }), tensor(new long[] { 7, 7, 7 }));
        Assert.Null(ignored.Ctc);
    }

    [Fact]
    public void Compute_AlphaPositiveWithoutCtcInputs_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new MultiTaskLoss(alpha: 0.01).Compute(zeros(2, 4), tensor(new long[] { 0, 1 })));
        Assert.Contains("α = 0.01", e.Message);
    }

    [Fact]
    public void Compute_LabelOutOfRange_ThrowsClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => new MultiTaskLoss(alpha: 0).Compute(zeros(2, 4), tensor(new long[] { 0, 4 })));
        Assert.Contains("labels [0, 4] must", e.Message);
        Assert.Contains("[0, 4)", e.Message);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Constructor_InvalidAlpha_Throws(double alpha)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiTaskLoss(alpha));
    }

    [Fact]
    public void CtcLoss_BlankOrOutOfRangeTarget_ThrowsClearError()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(1, 10, 32);
        var blank = Assert.Throws<ArgumentException>(() => MultiTaskLoss.CtcLoss(logits, tensor(new long[] { 10 }),
            tensor(new long[] { 5, 0, 6 }), tensor(new long[] { 3 }), CtcReduction.Sum, true));
        Assert.Contains("[1, 32)", blank.Message);
        Assert.Throws<ArgumentException>(() => MultiTaskLoss.CtcLoss(logits, tensor(new long[] { 10 }),
            tensor(new long[] { 5, 32 }), tensor(new long[] { 2 }), CtcReduction.Sum, true));
        // Padding values beyond a padded row's length are not targets and are not checked.
        var ok = MultiTaskLoss.CtcLoss(logits, tensor(new long[] { 10 }), tensor(new long[,] { { 5, 6, -100 } }), tensor(new long[] { 2 }), CtcReduction.Sum, true);
        Assert.True(ok.isfinite().item<bool>());
    }

    [Fact]
    public void CtcLoss_LengthMismatch_ThrowsClearError()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(2, 10, 32);
        var frames = Assert.Throws<ArgumentException>(() => MultiTaskLoss.CtcLoss(logits, tensor(new long[] { 10, 11 }),
            tensor(new long[] { 5, 6 }), tensor(new long[] { 1, 1 }), CtcReduction.Sum, true));
        Assert.Contains("[0, 10]", frames.Message);
        var sum = Assert.Throws<ArgumentException>(() => MultiTaskLoss.CtcLoss(logits, tensor(new long[] { 10, 10 }),
            tensor(new long[] { 5, 6 }), tensor(new long[] { 1, 2 }), CtcReduction.Sum, true));
        Assert.Contains("sum to the 2 concatenated targets", sum.Message);
        Assert.Throws<ArgumentException>(() => MultiTaskLoss.CtcLoss(logits, tensor(new long[] { 10 }),
            tensor(new long[] { 5 }), tensor(new long[] { 1 }), CtcReduction.Sum, true));
    }

    private (Tensor Padded, Tensor Lengths) Padded(long padValue)
    {
        var lengths = _reference["target_lengths"];
        var l = lengths.data<long>().ToArray();
        var padded = full(l.Length, l.Max(), padValue, ScalarType.Int64);
        long offset = 0;
        for (var i = 0; i < l.Length; i++)
        {
            padded[i, ..(int)l[i]] = _reference["targets_concat"][(int)offset..(int)(offset + l[i])];
            offset += l[i];
        }
        return (padded, lengths);
    }

    private static void AssertRelative(float expected, float actual)
    {
        if (float.IsInfinity(expected))
        {
            Assert.Equal(expected, actual);
            return;
        }
        Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Max(Math.Abs(expected), 1e-6),
            $"expected {expected}, got {actual} (relative error {Math.Abs(actual - expected) / Math.Abs(expected):E2})");
    }
}
