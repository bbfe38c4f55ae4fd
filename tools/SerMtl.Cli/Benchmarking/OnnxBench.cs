using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SerMtl.Inference;

namespace SerMtl.Cli.Benchmarking;

/// <summary>
/// The ONNX Runtime side of <c>sermtl bench --engine onnx</c>, run in child processes that never load libtorch, so the
/// peak RSS is what an app using only SerMtl.OnnxRuntime takes. Given one model, a child loads it, runs it on one clip
/// (median of <see cref="Runs"/> after 2 warm-ups) and over the throughput clips at batch 1 and batch N, with the peak
/// RSS read after the clip and after the throughput run (one model per process: memory an earlier model freed stays in
/// the C allocator and would count). Given several, a child loads them all and times the clip in turns (model A, B, C,
/// A, B, C, ...), so that a slow minute of a shared machine slows every model alike.
/// </summary>
internal static class OnnxBench
{
    private const int Runs = 5;

    /// <summary>Measures each <c>name=path</c> model; keys are <c>{name}_inference_ms</c> etc.</summary>
    public static Dictionary<string, object?> Measure(IReadOnlyList<(string Name, string Path)> models, float[] clip, IReadOnlyList<float[]> clips,
        int threads, int batch, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, object?>();
        if (models.Count == 1)
        {
            var (name, path) = models[0];
            HostInfo.ResetPeak();
            using (var session = Open(path, threads))
            {
                result[$"{name}_inference_ms"] = Times([session], clip, cancellationToken)[0];
                result[$"{name}_inference_peak_rss_mb"] = HostInfo.PeakResidentMegabytes();
                result[$"{name}_utterances_per_second_batch1"] = Throughput(session, clips, 1, cancellationToken);
                result[$"{name}_utterances_per_second_batchN"] = Throughput(session, clips, batch, cancellationToken);
                result[$"{name}_peak_rss_mb"] = HostInfo.PeakResidentMegabytes();
            }
            result[$"{name}_file_mb"] = new FileInfo(path).Length / 1e6;
        }
        else
        {
            var sessions = models.Select(m => Open(m.Path, threads)).ToArray();
            try
            {
                var times = Times(sessions, clip, cancellationToken);
                for (var i = 0; i < models.Count; i++) result[$"{models[i].Name}_inference_ms"] = times[i];
            }
            finally
            {
                foreach (var session in sessions) session.Dispose();
            }
        }
        result["libtorch_loaded"] = LibTorchLoaded();
        return result;
    }

    private static InferenceSession Open(string path, int threads)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        return new InferenceSession(path, options);
    }

    /// <summary>Median milliseconds of one clip per session, the sessions run in turns: 2 warm-up rounds, then <see cref="Runs"/> timed ones.</summary>
    private static double[] Times(IReadOnlyList<InferenceSession> sessions, float[] clip, CancellationToken cancellationToken)
    {
        var times = sessions.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < Runs + 2; round++)
        {
            for (var s = 0; s < sessions.Count; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                Run(sessions[s], [clip]);
                if (round >= 2) times[s].Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        return times.Select(t => t.Order().ElementAt(Runs / 2)).ToArray();
    }

    /// <summary>One forward of a padded batch (normalised as SerMtl's models expect), with lengths where the graph takes them (the reference graph does not).</summary>
    private static void Run(InferenceSession session, IReadOnlyList<float[]> waves)
    {
        var batch = PaddedWaveforms.Create(waves);
        using var w = OrtValue.CreateTensorValueFromMemory(batch.Samples, [batch.Count, batch.Length]);
        using var l = OrtValue.CreateTensorValueFromMemory(batch.Lengths, [batch.Count]);
        using var run = new RunOptions();
        var withLengths = session.InputNames.Contains("lengths");
        using var outputs = session.Run(run, withLengths ? ["waveforms", "lengths"] : ["waveforms"], withLengths ? [w, l] : [w], session.OutputNames);
    }

    private static double Throughput(InferenceSession session, IReadOnlyList<float[]> clips, int batch, CancellationToken cancellationToken) =>
        ThroughputRun.UtterancesPerSecond(clips, batch, b => Run(session, b), cancellationToken);

    /// <summary>Whether libtorch is mapped into this process (Linux: /proc/self/maps); null elsewhere.</summary>
    private static bool? LibTorchLoaded()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        return File.ReadLines(maps).Any(l => l.Contains("libtorch", StringComparison.Ordinal));
    }
}
