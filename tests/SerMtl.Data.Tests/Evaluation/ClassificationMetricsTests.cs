using SerMtl.Data.Evaluation;

namespace SerMtl.Data.Tests.Evaluation;

public class ClassificationMetricsTests
{
    private static readonly string[] Labels = ["neutral", "happy", "angry", "sad"];

    // Truth n n n n h h h a a s; "sad" is never predicted.
    //            predicted: n  h  a  s
    //   neutral (4)        [2, 1, 1, 0]
    //   happy   (3)        [1, 2, 0, 0]
    //   angry   (2)        [1, 0, 1, 0]
    //   sad     (1)        [1, 0, 0, 0]
    private static readonly (int, int)[] Pairs =
    [
        (0, 0), (0, 0), (0, 1), (0, 2),
        (1, 1), (1, 1), (1, 0),
        (2, 2), (2, 0),
        (3, 0),
    ];

    [Fact]
    public void Compute_HandComputedCase()
    {
        var m = ClassificationMetrics.Compute(Labels, Pairs);
        Assert.Equal(10, m.Total);
        Assert.Equal(5, m.Correct);
        Assert.Equal(0.5, m.WeightedAccuracy, 12);
        // Recalls 2/4, 2/3, 1/2, 0 -> mean 5/12.
        Assert.Equal(5.0 / 12, m.UnweightedAccuracy, 12);
        // F1s 4/9, 2/3, 1/2, 0 -> mean 29/72.
        Assert.Equal(29.0 / 72, m.MacroF1, 12);

        Assert.Equal(Round(new ClassMetrics("neutral", 0.4, 0.5, 4.0 / 9, 4, 5)), Round(m.PerClass[0]));
        Assert.Equal(Round(new ClassMetrics("happy", 2.0 / 3, 2.0 / 3, 2.0 / 3, 3, 3)), Round(m.PerClass[1]));
        Assert.Equal(Round(new ClassMetrics("angry", 0.5, 0.5, 0.5, 2, 2)), Round(m.PerClass[2]));
        Assert.Equal(Round(new ClassMetrics("sad", 0, 0, 0, 1, 0)), Round(m.PerClass[3]));

        Assert.Equal(
            new[] { new long[] { 2, 1, 1, 0 }, [1, 2, 0, 0], [1, 0, 1, 0], [1, 0, 0, 0] },
            m.Confusion.ToRows());
    }

    [Fact]
    public void Compute_ClassNeverPredicted_HasPrecisionZeroNotNaN()
    {
        var m = ClassificationMetrics.Compute(Labels, Pairs);
        Assert.Equal(0.0, m.PerClass[3].Precision);
        Assert.False(double.IsNaN(m.PerClass[3].F1));
    }

    [Fact]
    public void Compute_ClassAbsentFromTruthAndPredictions_IsLeftOutOfUaAndMacroF1()
    {
        // Only neutral and happy occur: recalls 1/2 and 1 -> UA 0.75; F1s 2/3 and 2/3.
        var m = ClassificationMetrics.Compute(Labels, new[] { (0, 0), (0, 1), (1, 1) });
        Assert.Equal(0.75, m.UnweightedAccuracy, 12);
        Assert.Equal(2.0 / 3, m.MacroF1, 12);
        Assert.Equal(0, m.PerClass[2].Support);
    }

    [Fact]
    public void Compute_ClassOnlyPredicted_CountsInMacroF1ButNotUa()
    {
        // neutral: P 1/2, R 1 (F1 2/3); sad predicted once but never true (F1 0).
        var m = ClassificationMetrics.Compute(Labels, new[] { (0, 0), (1, 3), (1, 0) });
        // Recalls: neutral 1, happy 0 -> UA 0.5.
        Assert.Equal(0.5, m.UnweightedAccuracy, 12);
        // F1 over neutral (2/3), happy (0), sad (0).
        Assert.Equal(2.0 / 9, m.MacroF1, 12);
    }

    [Fact]
    public void Pool_SumsConfusionMatrices_WaIsCorrectOverAllUtterances()
    {
        var fold1 = ClassificationMetrics.Compute(Labels, Pairs); // 5 / 10
        var fold2 = ClassificationMetrics.Compute(Labels, new[] { (3, 3), (2, 2) }); // 2 / 2
        var pooled = ClassificationMetrics.Pool(new[] { fold1, fold2 });
        Assert.Equal(12, pooled.Total);
        Assert.Equal(7.0 / 12, pooled.WeightedAccuracy, 12); // Eq. 4, not the mean of fold WAs (0.75).
        Assert.Equal(1, pooled.Confusion[3, 3]);
        Assert.Equal(2, pooled.Confusion[2, 2]);
        // Recalls over the pooled matrix: 2/4, 2/3, 2/3, 1/2.
        Assert.Equal((0.5 + 2.0 / 3 + 2.0 / 3 + 0.5) / 4, pooled.UnweightedAccuracy, 12);
    }

    [Fact]
    public void Pool_DifferentLabels_Throws()
    {
        var a = ClassificationMetrics.Compute(Labels, new[] { (0, 0) });
        var b = ClassificationMetrics.Compute(new[] { "x", "y" }, new[] { (0, 0) });
        var e = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Pool(new[] { a, b }));
        Assert.Contains("different labels", e.Message);
    }

    [Fact]
    public void Compute_IndexOutOfRange_ThrowsNamingThePair()
    {
        var e = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute(Labels, new[] { (0, 0), (4, 1) }));
        Assert.Contains("pair 1", e.Message);
    }

    [Fact]
    public void Compute_NoUtterances_Throws()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute(Labels, Array.Empty<(int, int)>()));
    }

    [Fact]
    public void ConfusionMatrix_FromCounts_MatchesFromPairs()
    {
        var fromPairs = ConfusionMatrix.FromPairs(Labels, Pairs);
        var fromCounts = ConfusionMatrix.FromCounts(Labels, fromPairs.ToRows());
        Assert.Equal(fromPairs.ToRows(), fromCounts.ToRows());
        Assert.Throws<ArgumentException>(() => ConfusionMatrix.FromCounts(Labels, new[] { new long[] { 1, 2, 3, 4 } }));
    }

    private static ClassMetrics Round(ClassMetrics m) =>
        m with { Precision = Math.Round(m.Precision, 9), Recall = Math.Round(m.Recall, 9), F1 = Math.Round(m.F1, 9) };
}
