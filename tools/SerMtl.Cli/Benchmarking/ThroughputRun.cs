using System.Diagnostics;

namespace SerMtl.Cli.Benchmarking;

/// <summary>The bench's throughput measurement, for any engine.</summary>
internal static class ThroughputRun
{
    /// <summary>
    /// Utterances per second over <paramref name="clips"/>: sorted by length (longest first) and cut into padded
    /// batches of <paramref name="batch"/> clips, so each batch holds similar lengths; <paramref name="infer"/> runs one
    /// batch. One untimed warm-up batch (the last, shortest).
    /// </summary>
    public static double UtterancesPerSecond(IReadOnlyList<float[]> clips, int batch, Action<IReadOnlyList<float[]>> infer, CancellationToken cancellationToken)
    {
        var batches = clips.OrderByDescending(c => c.Length).Chunk(batch).ToArray();
        infer(batches[^1]);
        var clock = Stopwatch.StartNew();
        foreach (var b in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            infer(b);
        }
        return clips.Count / clock.Elapsed.TotalSeconds;
    }
}
