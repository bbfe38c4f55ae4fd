using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SerMtl.Cli.Benchmarking;
using SerMtl.Runtime;

namespace SerMtl.Cli;

/// <summary>
/// <c>--timing FILE</c> of <c>predict</c> and <c>embed</c>: how long a user's process takes per file. Created before the
/// model loads; <see cref="ModelLoaded"/> ends the load and starts the run; each batch is recorded with
/// <see cref="Batch"/>; <see cref="Write"/> writes the JSON and a summary line.
/// </summary>
internal sealed class RunTiming
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<double> _perFileMs = [];
    private TimeSpan _runStart;

    /// <summary>The option, as both commands take it.</summary>
    public static Option<string?> Option() => CliOption.Text("--timing", "FILE",
        "time the run as a user's process runs it: write model load time, per-file milliseconds (per batch, shared by its files), real-time factor and peak RSS to FILE as JSON, and a summary line to stderr");

    /// <summary>Time since creation (a batch's start, for <see cref="Batch"/>).</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>The model is loaded: what follows is the run.</summary>
    public void ModelLoaded() => _runStart = _clock.Elapsed;

    /// <summary>A batch of <paramref name="files"/> files that started at <paramref name="start"/> has ended: each gets its share of the time.</summary>
    public void Batch(TimeSpan start, int files) =>
        _perFileMs.AddRange(Enumerable.Repeat((_clock.Elapsed - start).TotalMilliseconds / files, files));

    public void Write(TextWriter err, string command, string path, double audioSeconds, int batchSize)
    {
        var (loadSeconds, runSeconds) = (_runStart.TotalSeconds, (_clock.Elapsed - _runStart).TotalSeconds);
        var perFileMs = _perFileMs;
        var later = perFileMs.Skip(Math.Min(batchSize, perFileMs.Count - 1)).Order().ToArray();
        double? median = later.Length == 0 ? null : later.Length % 2 == 1 ? later[later.Length / 2] : (later[later.Length / 2 - 1] + later[later.Length / 2]) / 2;
        double? rtf = audioSeconds > 0 ? runSeconds / audioSeconds : null;
        var peak = HostInfo.PeakResidentMegabytes();
        var policy = NativeAllocator.Policy.ToString();
        using (var stream = File.Create(path))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("model_load_seconds", Math.Round(loadSeconds, 3));
            w.WriteNumber("files", perFileMs.Count);
            w.WriteNumber("batch_size", batchSize);
            w.WriteNumber("audio_seconds", Math.Round(audioSeconds, 3));
            w.WriteNumber("run_seconds", Math.Round(runSeconds, 3));
            w.WriteStartArray("per_file_ms");
            foreach (var ms in perFileMs) w.WriteNumberValue(Math.Round(ms, 1));
            w.WriteEndArray();
            if (median is double m) w.WriteNumber("median_ms_after_first_batch", Math.Round(m, 1));
            else w.WriteNull("median_ms_after_first_batch");
            if (rtf is double r) w.WriteNumber("real_time_factor", Math.Round(r, 4));
            else w.WriteNull("real_time_factor");
            w.WriteNumber("peak_rss_mb", Math.Round(peak, 1));
            w.WriteString("native_memory", policy);
            w.WriteEndObject();
        }
        err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sermtl {command}: timing: model loaded in {loadSeconds:0.00} s; {perFileMs.Count} files ({audioSeconds:0.0} s of audio) in {runSeconds:0.00} s, " +
            $"median {(median is double md ? md.ToString("0", CultureInfo.InvariantCulture) : "-")} ms per file after the first batch, real-time factor {(rtf is double rt ? rt.ToString("0.000", CultureInfo.InvariantCulture) : "-")}; " +
            $"peak RSS {peak:0} MB; native memory {policy}"));
    }
}
