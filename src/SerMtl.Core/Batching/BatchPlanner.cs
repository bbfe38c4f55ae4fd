using SerMtl.Data.Protocols;

namespace SerMtl.Batching;

/// <summary>
/// Splits utterances (given by length) into batches: at most <c>batchSize</c> utterances and, when set, at most
/// <c>maxBatchSamples</c> of padded audio (longest × count) per batch. Batches group utterances of similar length so
/// little compute goes to padding. Training plans depend only on the seed and the epoch, so a resumed run sees the
/// same batches in the same order.
/// </summary>
internal static class BatchPlanner
{
    // Utterances are sorted by length within windows of this many batches: similar lengths per batch, while the
    // shuffle still mixes which utterances meet (fairseq/HF "mega-batches").
    private const int SortWindowBatches = 50;

    /// <summary>The training batches of <paramref name="epoch"/> (from 1), as utterance indices.</summary>
    public static IReadOnlyList<int[]> Training(IReadOnlyList<int> lengths, int batchSize, long? maxBatchSamples, int seed, int epoch)
    {
        var random = DeterministicRandom.For(seed, $"batches/epoch{epoch}");
        var order = Enumerable.Range(0, lengths.Count).ToList();
        random.Shuffle(order);
        var batches = new List<int[]>();
        foreach (var window in order.Chunk(batchSize * SortWindowBatches))
            batches.AddRange(Cut(window.OrderByDescending(i => lengths[i]).ThenBy(i => i), lengths, batchSize, maxBatchSamples));
        random.Shuffle(batches);
        return batches;
    }

    /// <summary>Evaluation batches: every utterance once, longest first.</summary>
    public static IReadOnlyList<int[]> Evaluation(IReadOnlyList<int> lengths, int batchSize, long? maxBatchSamples) =>
        Cut(Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i), lengths, batchSize, maxBatchSamples);

    /// <summary>Cuts utterances sorted longest first into batches under both limits.</summary>
    private static List<int[]> Cut(IEnumerable<int> longestFirst, IReadOnlyList<int> lengths, int batchSize, long? maxBatchSamples)
    {
        var batches = new List<int[]>();
        var current = new List<int>(batchSize);
        long longest = 0;
        foreach (var i in longestFirst)
        {
            if (current.Count == 0) longest = lengths[i];
            var fits = current.Count < batchSize && (maxBatchSamples is not { } max || longest * (current.Count + 1) <= max);
            if (!fits && current.Count > 0)
            {
                batches.Add(current.ToArray());
                current.Clear();
                longest = lengths[i];
            }
            current.Add(i);
        }
        if (current.Count > 0) batches.Add(current.ToArray());
        return batches;
    }
}
