namespace SerMtl.Inference;

/// <summary>How a long recording is cut into overlapping windows, and how the windows' CTC frames are joined again.</summary>
internal static class Windowing
{
    /// <summary>
    /// The whole recording when <paramref name="length"/> ≤ <paramref name="window"/> (or <paramref name="window"/> is 0);
    /// otherwise the fewest windows of exactly <paramref name="window"/> samples whose neighbours overlap by at least
    /// <paramref name="overlap"/>, with starts spread evenly from 0 to <c>length - window</c>, so that no window is a
    /// short leftover.
    /// </summary>
    public static (int Start, int Length)[] Split(int length, int window, int overlap)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(window);
        if (window == 0 || length <= window) return [(0, length)];
        if (overlap < 0 || overlap >= window) throw new ArgumentOutOfRangeException(nameof(overlap), $"overlap {overlap} must be in [0, {window})");
        // n windows cover the recording with that overlap when (n - 1) · (window - overlap) ≥ length - window.
        var count = (int)((length - window + (long)(window - overlap) - 1) / (window - overlap)) + 1;   // ≥ 2
        var windows = new (int, int)[count];
        for (var w = 0; w < count; w++)
            windows[w] = ((int)Math.Round((double)w * (length - window) / (count - 1)), window);
        return windows;
    }

    /// <summary>
    /// Joins the windows' per-frame best CTC tokens into one sequence for the whole recording: each window gives the
    /// frames whose centre lies between the middles of its overlaps with its neighbours, so no stretch of audio is
    /// transcribed twice. The result is collapsed afterwards, so a token straddling a cut counts once.
    /// </summary>
    /// <param name="windows">The windows, in time order (as <see cref="Split"/> makes them).</param>
    /// <param name="frameIds">Per window, the best token of each of its valid frames.</param>
    /// <param name="samplesPerFrame">Samples between frame starts (the feature encoder's total stride).</param>
    /// <param name="receptiveField">Samples one frame sees.</param>
    public static long[] Stitch(IReadOnlyList<(int Start, int Length)> windows, IReadOnlyList<long[]> frameIds, int samplesPerFrame, int receptiveField)
    {
        if (windows.Count != frameIds.Count) throw new ArgumentException($"{frameIds.Count} frame id arrays for {windows.Count} windows", nameof(frameIds));
        var stitched = new List<long>();
        for (var w = 0; w < windows.Count; w++)
        {
            var (start, length) = windows[w];
            long from = w == 0 ? long.MinValue : (windows[w - 1].Start + (long)windows[w - 1].Length + start) / 2;
            long to = w == windows.Count - 1 ? long.MaxValue : (start + (long)length + windows[w + 1].Start) / 2;
            var ids = frameIds[w];
            for (var f = 0; f < ids.Length; f++)
            {
                var centre = start + (long)f * samplesPerFrame + receptiveField / 2;
                if (centre >= from && centre < to) stitched.Add(ids[f]);
            }
        }
        return stitched.ToArray();
    }
}
