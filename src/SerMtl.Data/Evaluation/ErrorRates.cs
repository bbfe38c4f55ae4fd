namespace SerMtl.Data.Evaluation;

/// <summary>
/// Edit counts of a hypothesis against a reference: the Levenshtein distance (substitutions + deletions +
/// insertions, each costing 1) and the reference length, in words or characters. Counts add up, so a corpus rate
/// is the sum of edits over the sum of reference lengths, not a mean of per-utterance rates.
/// </summary>
/// <param name="Edits">Minimum number of substitutions, deletions and insertions.</param>
/// <param name="ReferenceLength">Number of units (words or characters) in the reference.</param>
public readonly record struct EditCounts(long Edits, long ReferenceLength)
{
    /// <summary>
    /// <see cref="Edits"/> / <see cref="ReferenceLength"/>; it can exceed 1 when the hypothesis has insertions.
    /// With an empty reference: 0 when there are no edits, otherwise positive infinity.
    /// </summary>
    public double Rate => ReferenceLength > 0 ? (double)Edits / ReferenceLength
        : Edits == 0 ? 0.0 : double.PositiveInfinity;

    /// <summary>Adds two counts (e.g. to accumulate a corpus).</summary>
    public static EditCounts operator +(EditCounts a, EditCounts b) =>
        new(a.Edits + b.Edits, a.ReferenceLength + b.ReferenceLength);
}

/// <summary>
/// Word and character error rates. Words are whitespace-separated; characters are Unicode scalars of the text
/// with whitespace collapsed to single spaces and trimmed (spaces count as characters, as in the common CER
/// definition, since the CTC model emits the word delimiter too). Comparison is ordinal: normalise both sides
/// (e.g. with the transcript normaliser) first.
/// </summary>
public static class ErrorRates
{
    /// <summary>Word-level edit counts of <paramref name="hypothesis"/> against <paramref name="reference"/>.</summary>
    public static EditCounts WordEdits(string reference, string hypothesis)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(hypothesis);
        var r = SplitWords(reference);
        var h = SplitWords(hypothesis);
        return new EditCounts(Levenshtein<string>(r, h), r.Length);
    }

    /// <summary>Character-level edit counts of <paramref name="hypothesis"/> against <paramref name="reference"/>.</summary>
    public static EditCounts CharacterEdits(string reference, string hypothesis)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(hypothesis);
        var r = Characters(reference);
        var h = Characters(hypothesis);
        return new EditCounts(Levenshtein<int>(r, h), r.Length);
    }

    /// <summary>Word error rate of one utterance (see <see cref="EditCounts.Rate"/> for an empty reference).</summary>
    public static double WordErrorRate(string reference, string hypothesis) => WordEdits(reference, hypothesis).Rate;

    /// <summary>Character error rate of one utterance (see <see cref="EditCounts.Rate"/> for an empty reference).</summary>
    public static double CharacterErrorRate(string reference, string hypothesis) => CharacterEdits(reference, hypothesis).Rate;

    /// <summary>Corpus word error rate: total word edits / total reference words over all pairs.</summary>
    public static double WordErrorRate(IEnumerable<(string Reference, string Hypothesis)> pairs) =>
        Sum(pairs, WordEdits).Rate;

    /// <summary>Corpus character error rate: total character edits / total reference characters over all pairs.</summary>
    public static double CharacterErrorRate(IEnumerable<(string Reference, string Hypothesis)> pairs) =>
        Sum(pairs, CharacterEdits).Rate;

    /// <summary>
    /// The paper's pooled WER over cross-validation folds (Eq. 5): the mean of the folds' corpus WERs, each fold
    /// weighing the same whatever its size (unlike the pooled accuracy, which sums over utterances).
    /// </summary>
    /// <exception cref="ArgumentException">No folds were given.</exception>
    public static double PoolFolds(IEnumerable<double> foldErrorRates)
    {
        ArgumentNullException.ThrowIfNull(foldErrorRates);
        var rates = foldErrorRates.ToList();
        if (rates.Count == 0) throw new ArgumentException("no fold error rates to pool", nameof(foldErrorRates));
        return rates.Average();
    }

    private static EditCounts Sum(IEnumerable<(string Reference, string Hypothesis)> pairs, Func<string, string, EditCounts> edits)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var total = new EditCounts(0, 0);
        foreach (var (reference, hypothesis) in pairs) total += edits(reference, hypothesis);
        return total;
    }

    private static string[] SplitWords(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    private static int[] Characters(string text)
    {
        var collapsed = string.Join(' ', SplitWords(text));
        var runes = new List<int>(collapsed.Length);
        foreach (var rune in collapsed.EnumerateRunes()) runes.Add(rune.Value);
        return runes.ToArray();
    }

    /// <summary>Levenshtein distance with unit costs, in O(|a|·|b|) time and O(|b|) memory.</summary>
    internal static long Levenshtein<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IEquatable<T>
    {
        // previous[j] = distance between a[..i] and b[..j] for the previous row i.
        var previous = new long[b.Length + 1];
        var current = new long[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1].Equals(b[j - 1]) ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
