using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SerMtl.Inference;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl predict</c>: emotion, probabilities and transcript of WAV files with a saved SerMtl model.</summary>
internal sealed class PredictCommand : SermtlCommand
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Option<string> _model = CliOption.Required("--model", "DIR|ID|FILE.onnx", "the saved model: " + ModelArgs.DirOrHubId + ", or an ONNX file written by 'sermtl export' (run by ONNX Runtime)");
    private readonly Option<bool> _json = CliOption.Flag("--json", """
        print a JSON array: [{"file", "label", "probabilities": {label: p, ...}, "transcript", "duration_seconds",
        "windows": [{"start_seconds", "duration_seconds", "label", "probabilities", "transcript"}] (long files only)}]
        """);
    private readonly Option<bool> _csv = CliOption.Flag("--csv", "print CSV: file,label,confidence,p_<label>...,duration_seconds,transcript");
    private readonly Option<string> _device = new("--device")
    {
        HelpName = "D",
        Description = "cpu, cuda or cuda:N (needs a CUDA backend; fails clearly without one)",
        DefaultValueFactory = _ => "cpu",
    };
    private readonly Option<double> _windowSeconds = CliOption.Number("--window-seconds", "S", "split recordings longer than S seconds (0 never splits)", 20, 0, 3600);
    private readonly Option<int> _batchSize = CliOption.Int("--batch-size", "files (or windows) per padded forward pass; results do not depend on it", 8, 1, 1024);
    private readonly Option<string> _dtype = CliOption.Choice("--dtype", "bfloat16 is faster on CPUs with BF16 and on GPUs", "float32", "float32", "bfloat16");
    private readonly Option<int?> _threads = CliOption.OptionalInt("--threads", "libtorch CPU threads (default: the cores available)", 1, 1024);
    private readonly Argument<string[]> _inputs = CliOption.Operands("WAV|DIR", "WAV files, or directories standing for the .wav files directly in them");
    private readonly Option<bool> _timeline = CliOption.Flag("--timeline",
        "cut each file into utterances at its pauses (frame energy) and predict each: one row per utterance with its start and end (table, --json or --csv)");
    private readonly Option<string?> _shard = CliOption.Text("--shard", "I/N",
        "predict only the files whose position in the list is I modulo N (0-based), e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT: N processes together cover every file once");

    private readonly Option<string?> _timing = RunTiming.Option();

    public PredictCommand(TextWriter? output = null, TextWriter? errors = null)
        : base("predict", "Predict the emotion and transcript of WAV files with a trained model", """
            Loads a model saved by 'sermtl train', 'cv' or 'demo' (a directory with config.json, model.safetensors,
            vocab.json) and prints, for each WAV (any sample rate, mixed to mono and resampled to 16 kHz), the most
            likely emotion, its probability, the duration and the greedy CTC transcript. A directory stands for the
            .wav files directly in it, in name order. Recordings longer than the window are split into overlapping
            windows (at least 1 s overlap) whose probabilities are averaged, weighted by duration; --json lists them.

            A file that cannot be predicted (unreadable, empty, shorter than the model's 25 ms receptive field) is
            reported on stderr as "sermtl predict: FILE: reason"; the others are still predicted, and the exit code
            is then 1.

            Examples:
              sermtl predict --model out/demo/model call.wav
              sermtl predict --model out/demo/model --json recordings/ > predictions.json
              sermtl predict --model out/demo/model --csv --window-seconds 10 a.wav b.wav > predictions.csv
              sermtl predict --model out/cv/best --device cuda --dtype bfloat16 recordings/
              sermtl predict --model out/demo/model.onnx --timeline --csv meeting.wav
            """)
    {
        _out = output ?? Console.Out;
        _err = errors ?? Console.Error;
        foreach (var option in new Option[] { _model, _json, _csv, _device, _windowSeconds, _batchSize, _dtype, _threads }) Add(option);
        Add(_inputs);
        Add(_shard);
        Add(_timeline);
        Add(_timing);
        UseExecute();
    }

    /// <summary>
    /// An exported ONNX file, run by ONNX Runtime (its precision is the file's: float32 or int8). The tool ships ONNX
    /// Runtime's CPU package, so --device cuda fails with the engine's explanation.
    /// </summary>
    private OnnxEmotionRecognizer LoadOnnx(ParseResult parse, string path, string device, double windowSeconds, int batchSize, int? threads)
    {
        if (parse.GetResult(_dtype) is { Implicit: false }) throw new UsageException("--dtype applies to TorchSharp models; an ONNX file keeps the precision it was exported with (sermtl export --int8)");
        return OnnxEmotionRecognizer.Load(path, new OnnxRecognizerOptions
        {
            MaxWindowSeconds = windowSeconds == 0 ? null : windowSeconds,
            BatchSize = batchSize,
            Threads = threads,
            Device = device,
        });
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var modelDir = parse.GetRequiredValue(_model);
        var json = parse.GetValue(_json);
        var csv = parse.GetValue(_csv);
        if (json && csv) throw new UsageException("--json and --csv are exclusive");
        var device = parse.GetValue(_device) ?? "cpu";
        if (!EmotionRecognizerOptions.IsDeviceName(device))
            throw new UsageException($"--device expects cpu, cuda or cuda:N, got '{device}'");
        var windowSeconds = parse.GetValue(_windowSeconds);
        var batchSize = parse.GetValue(_batchSize);
        var dtype = parse.GetValue(_dtype) == "bfloat16" ? InferenceDType.BFloat16 : InferenceDType.Float32;
        var threads = parse.GetValue(_threads);
        var inputs = parse.GetValue(_inputs) ?? [];
        if (inputs.Length == 0) throw new UsageException("no WAV files or directories given");
        var shard = ParseShard(parse.GetValue(_shard));

        var timingPath = parse.GetValue(_timing);
        if (timingPath is not null && parse.GetValue(_timeline)) throw new UsageException("--timing times per-file predictions; --timeline is not timed");
        var timing = new RunTiming();

        // A bad model or device fails the whole command before any file is looked at.
        using IEmotionRecognizer recognizer = modelDir.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            ? LoadOnnx(parse, modelDir, device, windowSeconds, batchSize, threads)
            : EmotionRecognizer.Load(ModelArgs.Resolve(modelDir, _err, cancellationToken), new EmotionRecognizerOptions
            {
                Device = device,
                MaxWindowSeconds = windowSeconds == 0 ? null : windowSeconds,
                BatchSize = batchSize,
                DType = dtype,
                Threads = threads,
            });

        var failures = 0;
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var wavs = Directory.GetFiles(input, "*.wav", new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive })
                    .Order(StringComparer.Ordinal).ToList();
                if (wavs.Count == 0)
                {
                    Fail(input, "directory holds no .wav files");
                    failures++;
                }
                files.AddRange(wavs);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                Fail(input, "file or directory not found");
                failures++;
            }
        }

        // The list every shard agrees on (arguments in order, directories in name order), then this shard's part of it.
        if (shard is var (index, count)) files = files.Where((_, i) => i % count == index).ToList();

        if (parse.GetValue(_timeline)) return Timelines(recognizer, files, json, csv, failures, cancellationToken);

        timing.ModelLoaded();
        var results = new List<(string File, EmotionPrediction Prediction)>();
        var progress = !Console.IsErrorRedirected && ReferenceEquals(_err, Console.Error) && files.Count > 1;
        var done = 0;
        foreach (var chunk in files.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunkStart = timing.Now;
            IReadOnlyList<EmotionPrediction>? batch = null;
            try
            {
                batch = recognizer.PredictBatch(chunk);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
            {
                // Some file in the chunk is bad: predict them one by one so the others still get their result.
            }
            for (var i = 0; i < chunk.Length; i++)
            {
                if (batch is not null)
                {
                    results.Add((chunk[i], batch[i]));
                    continue;
                }
                try
                {
                    results.Add((chunk[i], recognizer.Predict(chunk[i])));
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
                {
                    if (progress) _err.Write("\r\x1b[K");
                    Fail(chunk[i], e.Message);
                    failures++;
                }
            }
            timing.Batch(chunkStart, chunk.Length);
            done += chunk.Length;
            if (progress) _err.Write($"\rpredict: {done}/{files.Count} files");
        }
        if (progress) _err.Write("\r\x1b[K");
        if (timingPath is not null)
            timing.Write(_err, "predict", timingPath, results.Sum(r => r.Prediction.Duration.TotalSeconds), batchSize);
        foreach (var (_, prediction) in results)
            foreach (var warning in prediction.Warnings) _err.WriteLine($"sermtl predict: warning: {warning}");

        if (json) WriteJson(results);
        else if (csv) WriteCsv(results, recognizer.Labels, recognizer.IsRegression);
        else WriteTable(results);
        _out.Flush();
        return failures == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    private void Fail(string file, string message) => FileErrors.Report(_err, "predict", file, message);

    /// <summary>--timeline: each file's utterances, one row per utterance; a bad file is reported and the rest still done.</summary>
    private int Timelines(IEmotionRecognizer recognizer, List<string> files, bool json, bool csv, int failures, CancellationToken cancellationToken)
    {
        var timelines = new List<(string File, EmotionTimeline Timeline)>();
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                timelines.Add((file, recognizer.PredictTimeline(file)));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
            {
                Fail(file, e.Message);
                failures++;
            }
        }
        foreach (var (_, timeline) in timelines)
            foreach (var warning in timeline.Warnings) _err.WriteLine($"sermtl predict: warning: {warning}");
        var rows = timelines.SelectMany(t => t.Timeline.Segments.Select(s => (t.File, Segment: s))).ToList();
        string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        if (json)
        {
            WriteJsonArray(w =>
            {
                foreach (var (file, timeline) in timelines)
                {
                    w.WriteStartObject();
                    w.WriteString("file", file);
                    w.WriteNumber("duration_seconds", Math.Round(timeline.Duration.TotalSeconds, 4));
                    w.WriteStartArray("segments");
                    foreach (var segment in timeline.Segments)
                    {
                        var p = segment.Prediction;
                        w.WriteStartObject();
                        w.WriteNumber("start_seconds", Math.Round(segment.Start.TotalSeconds, 4));
                        w.WriteNumber("end_seconds", Math.Round(segment.End.TotalSeconds, 4));
                        WriteLabelled(w, p.Label, p.Probabilities, p.Scores, p.Transcript);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    WriteWarnings(w, timeline.Warnings);
                    w.WriteEndObject();
                }
            });
        }
        else if (csv)
        {
            var (labels, regression) = (recognizer.Labels, recognizer.IsRegression);
            _out.WriteLine(string.Join(",", new[] { "file", "start_seconds", "end_seconds" }.Concat(LabelColumns(labels, regression)).Append("transcript").Select(Csv)));
            foreach (var (file, segment) in rows)
            {
                var cells = new[] { file, Seconds(segment.Start), Seconds(segment.End) }
                    .Concat(LabelCells(segment.Prediction, labels, regression))
                    .Append(segment.Prediction.Transcript);
                _out.WriteLine(string.Join(",", cells.Select(Csv)));
            }
        }
        else
        {
            _out.WriteLine("file  start  end  label  p  transcript");
            foreach (var (file, segment) in rows)
            {
                var p = segment.Prediction;
                _out.WriteLine($"{file}  {Seconds(segment.Start)}  {Seconds(segment.End)}  {LabelText(p)}  {ConfidenceText(p)}  {p.Transcript}".TrimEnd());
            }
        }
        _out.Flush();
        return failures == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    private void WriteTable(List<(string File, EmotionPrediction Prediction)> results)
    {
        string[] header = ["file", "label", "p", "duration", "transcript"];
        var rows = results.Select(r => new[]
        {
            r.File,
            LabelText(r.Prediction),
            ConfidenceText(r.Prediction),
            r.Prediction.Duration.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s",
            r.Prediction.Transcript,
        }).ToList();
        var widths = Enumerable.Range(0, header.Length - 1).Select(c => rows.Select(r => r[c].Length).Append(header[c].Length).Max()).ToArray();
        string Line(string[] cells) =>
            string.Join("  ", cells.Take(cells.Length - 1).Select((c, i) => i is 2 or 3 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))) + "  " + cells[^1];
        _out.WriteLine(Line(header).TrimEnd());
        foreach (var row in rows) _out.WriteLine(Line(row).TrimEnd());
    }

    /// <summary>The table's label cell: the label, or a regression model's named scores.</summary>
    private static string LabelText(EmotionPrediction p) =>
        p.Scores.Count > 0 ? string.Join(" ", p.Scores.Select(kv => $"{kv.Key} {kv.Value.ToString("0.000", CultureInfo.InvariantCulture)}")) : p.Label;

    private static string ConfidenceText(EmotionPrediction p) => float.IsNaN(p.Confidence) ? "-" : p.Confidence.ToString("0.000", CultureInfo.InvariantCulture);

    /// <summary>CSV header cells for <see cref="LabelCells"/>: label, confidence, then p_&lt;label&gt; (or a regression model's score names).</summary>
    private static IEnumerable<string> LabelColumns(IReadOnlyList<string> labels, bool regression) =>
        new[] { "label", "confidence" }.Concat(labels.Select(l => regression ? l : "p_" + l));

    private static IEnumerable<string> LabelCells(EmotionPrediction p, IReadOnlyList<string> labels, bool regression) =>
        new[] { p.Label, float.IsNaN(p.Confidence) ? "" : Number(p.Confidence) }
            .Concat(labels.Select(l => Number(regression ? p.Scores[l] : p.Probabilities[l])));

    /// <summary>One row per file; the per-label columns are p_&lt;label&gt; probabilities, or a regression model's named scores.</summary>
    private void WriteCsv(List<(string File, EmotionPrediction Prediction)> results, IReadOnlyList<string> labels, bool regression)
    {
        _out.WriteLine(string.Join(",", new[] { "file" }.Concat(LabelColumns(labels, regression)).Append("duration_seconds").Append("transcript").Select(Csv)));
        foreach (var (file, p) in results)
        {
            var cells = new[] { file }
                .Concat(LabelCells(p, labels, regression))
                .Append(p.Duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture))
                .Append(p.Transcript);
            _out.WriteLine(string.Join(",", cells.Select(Csv)));
        }
    }

    private static string Number(float value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>RFC 4180: quote fields holding a comma, quote or line break; double the quotes.</summary>
    private static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;

    private void WriteJson(List<(string File, EmotionPrediction Prediction)> results) => WriteJsonArray(w =>
    {
        foreach (var (file, p) in results)
        {
            w.WriteStartObject();
            w.WriteString("file", file);
            w.WriteString("label", p.Label);
            WriteProbabilities(w, p.Probabilities);
            if (p.Scores.Count > 0) WriteProbabilities(w, p.Scores, "scores");
            WriteWarnings(w, p.Warnings);
            w.WriteString("transcript", p.Transcript);
            w.WriteNumber("duration_seconds", Math.Round(p.Duration.TotalSeconds, 4));
            if (p.Windows.Count > 0)
            {
                w.WriteStartArray("windows");
                foreach (var window in p.Windows)
                {
                    w.WriteStartObject();
                    w.WriteNumber("start_seconds", Math.Round(window.Start.TotalSeconds, 4));
                    w.WriteNumber("duration_seconds", Math.Round(window.Duration.TotalSeconds, 4));
                    WriteLabelled(w, window.Label, window.Probabilities, window.Scores, window.Transcript);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
    });

    /// <summary>Prints the JSON array <paramref name="items"/> writes (indented, characters unescaped).</summary>
    private void WriteJsonArray(Action<Utf8JsonWriter> items)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            items(w);
            w.WriteEndArray();
        }
        _out.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>A stretch's label, probabilities, scores (regression models only) and transcript, in an object already open.</summary>
    private static void WriteLabelled(Utf8JsonWriter w, string label, IReadOnlyDictionary<string, float> probabilities, IReadOnlyDictionary<string, float> scores, string transcript)
    {
        w.WriteString("label", label);
        WriteProbabilities(w, probabilities);
        if (scores.Count > 0) WriteProbabilities(w, scores, "scores");
        w.WriteString("transcript", transcript);
    }

    private static void WriteWarnings(Utf8JsonWriter w, IReadOnlyList<string> warnings)
    {
        if (warnings.Count == 0) return;
        w.WriteStartArray("warnings");
        foreach (var warning in warnings) w.WriteStringValue(warning);
        w.WriteEndArray();
    }

    private static void WriteProbabilities(Utf8JsonWriter w, IReadOnlyDictionary<string, float> probabilities, string name = "probabilities")
    {
        w.WriteStartObject(name);
        foreach (var (label, p) in probabilities) w.WriteNumber(label, Math.Round((double)p, 6));
        w.WriteEndObject();
    }

    /// <summary>"I/N" with 0 ≤ I &lt; N, or null when the option is absent.</summary>
    private static (int Index, int Count)? ParseShard(string? text)
    {
        if (text is null) return null;
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            && count >= 1 && index < count)
            return (index, count);
        throw new UsageException($"--shard expects I/N with 0 <= I < N (e.g. 0/4), got '{text}'");
    }
}
