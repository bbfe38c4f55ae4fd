namespace SerMtl.Data.Evaluation;

/// <summary>Precision, recall and F1 of one class. Each is 0 (never NaN) where its denominator is 0.</summary>
/// <param name="Label">The class name.</param>
/// <param name="Precision">Correct predictions of the class / all predictions of the class.</param>
/// <param name="Recall">Correct predictions of the class / utterances of the class.</param>
/// <param name="F1">Harmonic mean of precision and recall.</param>
/// <param name="Support">Number of utterances whose true class this is.</param>
/// <param name="PredictedCount">Number of utterances predicted as this class.</param>
public sealed record ClassMetrics(string Label, double Precision, double Recall, double F1, long Support, long PredictedCount);

/// <summary>
/// Emotion classification metrics from a <see cref="ConfusionMatrix"/>:
/// <list type="bullet">
/// <item>weighted accuracy (WA) = correct / total;</item>
/// <item>unweighted accuracy (UA) = mean recall over the classes present in the truth;</item>
/// <item>macro F1 = mean F1 over the classes present in the truth or the predictions (scikit-learn's default);</item>
/// <item>per-class precision / recall / F1 / support.</item>
/// </list>
/// For cross-validation, <see cref="Pool"/> sums the folds' confusion matrices, so the pooled WA is the paper's
/// Eq. 4 (correct over all test utterances of all folds); pool WER with <see cref="ErrorRates.PoolFolds"/> (Eq. 5).
/// </summary>
public sealed class ClassificationMetrics
{
    private ClassificationMetrics(ConfusionMatrix confusion)
    {
        Confusion = confusion;
        Total = confusion.Total;
        if (Total == 0) throw new ArgumentException("cannot compute classification metrics over zero utterances", nameof(confusion));
        Correct = confusion.Correct;
        WeightedAccuracy = (double)Correct / Total;

        var perClass = new ClassMetrics[confusion.ClassCount];
        double recallSum = 0, f1Sum = 0;
        int recallClasses = 0, f1Classes = 0;
        for (var c = 0; c < confusion.ClassCount; c++)
        {
            var support = confusion.Support(c);
            var predicted = confusion.PredictedCount(c);
            var hits = confusion[c, c];
            var precision = predicted > 0 ? (double)hits / predicted : 0.0;
            var recall = support > 0 ? (double)hits / support : 0.0;
            var f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
            perClass[c] = new ClassMetrics(confusion.Labels[c], precision, recall, f1, support, predicted);
            if (support > 0)
            {
                recallSum += recall;
                recallClasses++;
            }
            if (support > 0 || predicted > 0)
            {
                f1Sum += f1;
                f1Classes++;
            }
        }
        PerClass = perClass;
        UnweightedAccuracy = recallSum / recallClasses; // Total > 0, so some class has support.
        MacroF1 = f1Sum / f1Classes;
    }

    /// <summary>The confusion matrix the metrics come from.</summary>
    public ConfusionMatrix Confusion { get; }

    /// <summary>Label names, by class index.</summary>
    public IReadOnlyList<string> Labels => Confusion.Labels;

    /// <summary>Number of utterances.</summary>
    public long Total { get; }

    /// <summary>Number of utterances classified correctly.</summary>
    public long Correct { get; }

    /// <summary>Weighted accuracy: <see cref="Correct"/> / <see cref="Total"/>.</summary>
    public double WeightedAccuracy { get; }

    /// <summary>Unweighted accuracy: the mean per-class recall over classes with at least one true utterance.</summary>
    public double UnweightedAccuracy { get; }

    /// <summary>Macro F1: the mean per-class F1 over classes that occur in the truth or the predictions.</summary>
    public double MacroF1 { get; }

    /// <summary>Per-class precision, recall, F1 and support, by class index.</summary>
    public IReadOnlyList<ClassMetrics> PerClass { get; }

    /// <summary>Metrics of a confusion matrix.</summary>
    /// <exception cref="ArgumentException">The matrix counts no utterance.</exception>
    public static ClassificationMetrics Compute(ConfusionMatrix confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        return new ClassificationMetrics(confusion);
    }

    /// <summary>Metrics of (true class index, predicted class index) pairs over <paramref name="labels"/>.</summary>
    /// <exception cref="ArgumentException">No pairs, or an index outside [0, labels.Count).</exception>
    public static ClassificationMetrics Compute(IReadOnlyList<string> labels, IEnumerable<(int Truth, int Predicted)> pairs) =>
        new(ConfusionMatrix.FromPairs(labels, pairs));

    /// <summary>
    /// Pooled metrics over cross-validation folds: the metrics of the summed confusion matrices, i.e. every test
    /// utterance of every fold counts once (the paper's Eq. 4 for WA).
    /// </summary>
    /// <exception cref="ArgumentException">No folds, or folds over different labels.</exception>
    public static ClassificationMetrics Pool(IEnumerable<ClassificationMetrics> folds)
    {
        ArgumentNullException.ThrowIfNull(folds);
        return new ClassificationMetrics(ConfusionMatrix.Sum(folds.Select(f => f.Confusion)));
    }
}
