namespace SerMtl.Data.Evaluation;

/// <summary>
/// An immutable confusion matrix: <c>this[truth, predicted]</c> counts utterances of true class <c>truth</c>
/// predicted as <c>predicted</c> (rows = truth, columns = prediction), over a fixed list of label names.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[,] _counts;
    private readonly string[] _labels;

    private ConfusionMatrix(string[] labels, long[,] counts)
    {
        _labels = labels;
        _counts = counts;
    }

    /// <summary>Label names, by class index.</summary>
    public IReadOnlyList<string> Labels => _labels;

    /// <summary>Number of classes.</summary>
    public int ClassCount => _labels.Length;

    /// <summary>Number of utterances with true class <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => _counts[truth, predicted];

    /// <summary>Total number of utterances.</summary>
    public long Total
    {
        get
        {
            long total = 0;
            foreach (var c in _counts) total += c;
            return total;
        }
    }

    /// <summary>Number of utterances predicted correctly (the diagonal).</summary>
    public long Correct
    {
        get
        {
            long correct = 0;
            for (var i = 0; i < _labels.Length; i++) correct += _counts[i, i];
            return correct;
        }
    }

    /// <summary>Number of utterances whose true class is <paramref name="classIndex"/> (row sum).</summary>
    public long Support(int classIndex)
    {
        long sum = 0;
        for (var p = 0; p < _labels.Length; p++) sum += _counts[classIndex, p];
        return sum;
    }

    /// <summary>Number of utterances predicted as <paramref name="classIndex"/> (column sum).</summary>
    public long PredictedCount(int classIndex)
    {
        long sum = 0;
        for (var t = 0; t < _labels.Length; t++) sum += _counts[t, classIndex];
        return sum;
    }

    /// <summary>Builds the matrix from (true class index, predicted class index) pairs.</summary>
    /// <exception cref="ArgumentException">No labels, a repeated label, or an index outside [0, labels.Count).</exception>
    public static ConfusionMatrix FromPairs(IReadOnlyList<string> labels, IEnumerable<(int Truth, int Predicted)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var names = CheckLabels(labels);
        var counts = new long[names.Length, names.Length];
        var index = 0;
        foreach (var (truth, predicted) in pairs)
        {
            if ((uint)truth >= (uint)names.Length || (uint)predicted >= (uint)names.Length)
                throw new ArgumentException(
                    $"pair {index} is (truth {truth}, predicted {predicted}); class indices must be in [0, {names.Length}) for labels [{string.Join(", ", names)}]",
                    nameof(pairs));
            counts[truth, predicted]++;
            index++;
        }
        return new ConfusionMatrix(names, counts);
    }

    /// <summary>Builds the matrix from counts laid out as <c>counts[truth][predicted]</c>.</summary>
    /// <exception cref="ArgumentException">The counts are not square with one row per label, or a count is negative.</exception>
    public static ConfusionMatrix FromCounts(IReadOnlyList<string> labels, IReadOnlyList<IReadOnlyList<long>> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var names = CheckLabels(labels);
        if (counts.Count != names.Length)
            throw new ArgumentException($"{counts.Count} rows of counts for {names.Length} labels", nameof(counts));
        var matrix = new long[names.Length, names.Length];
        for (var t = 0; t < names.Length; t++)
        {
            if (counts[t].Count != names.Length)
                throw new ArgumentException($"row {t} ('{names[t]}') has {counts[t].Count} counts, expected {names.Length}", nameof(counts));
            for (var p = 0; p < names.Length; p++)
            {
                if (counts[t][p] < 0)
                    throw new ArgumentException($"count [{t}, {p}] is {counts[t][p]}, expected >= 0", nameof(counts));
                matrix[t, p] = counts[t][p];
            }
        }
        return new ConfusionMatrix(names, matrix);
    }

    /// <summary>Sums matrices over the same labels (e.g. the test folds of a cross-validation).</summary>
    /// <exception cref="ArgumentException">No matrices, or their labels differ.</exception>
    public static ConfusionMatrix Sum(IEnumerable<ConfusionMatrix> matrices)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        ConfusionMatrix? first = null;
        long[,]? sum = null;
        foreach (var m in matrices)
        {
            if (first is null)
            {
                first = m;
                sum = new long[m.ClassCount, m.ClassCount];
            }
            else if (!m._labels.SequenceEqual(first._labels, StringComparer.Ordinal))
                throw new ArgumentException(
                    $"cannot sum confusion matrices over different labels: [{string.Join(", ", first._labels)}] and [{string.Join(", ", m._labels)}]",
                    nameof(matrices));
            for (var t = 0; t < m.ClassCount; t++)
                for (var p = 0; p < m.ClassCount; p++)
                    sum![t, p] += m._counts[t, p];
        }
        if (first is null) throw new ArgumentException("no confusion matrices to sum", nameof(matrices));
        return new ConfusionMatrix(first._labels, sum!);
    }

    /// <summary>The counts as rows (truth) of columns (prediction), e.g. for JSON output.</summary>
    public long[][] ToRows()
    {
        var rows = new long[_labels.Length][];
        for (var t = 0; t < _labels.Length; t++)
        {
            rows[t] = new long[_labels.Length];
            for (var p = 0; p < _labels.Length; p++) rows[t][p] = _counts[t, p];
        }
        return rows;
    }

    private static string[] CheckLabels(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0) throw new ArgumentException("at least one label is needed", nameof(labels));
        var names = labels.ToArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("label names must not be empty", nameof(labels));
            if (!seen.Add(name)) throw new ArgumentException($"label '{name}' appears twice", nameof(labels));
        }
        return names;
    }
}
