namespace SerMtl.Modeling;

/// <summary>
/// SpecAugment span masks as HF's <c>_compute_mask_indices</c> draws them: per utterance,
/// <c>n = max(min_masks, floor(prob · L / span + ε))</c> spans (ε uniform in [0, 1), one draw per batch), capped so
/// they fit, starting at distinct random positions in <c>[0, L - span]</c>, so every masked position lies inside the
/// utterance's <c>L</c> valid positions. Spans may overlap.
/// </summary>
internal static class SpecAugment
{
    /// <summary>Returns mask [B, total]: true where masked. <paramref name="lengths"/>: valid positions per row.</summary>
    public static bool[,] ComputeMask(IReadOnlyList<long> lengths, long total, double prob, int span, int minMasks, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(span, 1);
        var mask = new bool[lengths.Count, total];
        var epsilon = random.NextDouble();
        for (var b = 0; b < lengths.Count; b++)
        {
            var length = Math.Min(lengths[b], total);
            var starts = length - span + 1; // candidate start positions
            if (starts <= 0) continue;
            var count = Math.Max((long)(prob * length / span + epsilon), minMasks);
            if (count * span > total) count = total / span;
            count = Math.Min(count, starts);
            foreach (var start in DistinctSample(starts, count, random))
                for (var i = start; i < start + span; i++) mask[b, i] = true;
        }
        return mask;
    }

    /// <summary><paramref name="count"/> distinct values of [0, n) by a partial Fisher-Yates shuffle.</summary>
    private static IEnumerable<long> DistinctSample(long n, long count, Random random)
    {
        var pool = new long[n];
        for (var i = 0L; i < n; i++) pool[i] = i;
        for (var i = 0L; i < count; i++)
        {
            var j = i + random.NextInt64(n - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
            yield return pool[i];
        }
    }
}
