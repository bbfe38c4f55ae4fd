using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SerMtl.Cli.Benchmarking;
using SerMtl.Data.Audio;
using SerMtl.Data.Corpora;
using SerMtl.Modeling;
using SerMtl.Runtime;
using SerMtl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Cli.Commands;

/// <summary>
/// <c>sermtl bench</c>: speed and memory of a wav2vec2-base-sized <see cref="SerMtlModel"/> (random weights, both
/// heads) on this machine: inference and training-step time for one clip, peak RSS, achieved and GEMM GFLOP/s, and
/// utterances/s at batch 1 and batch N over mixed-length clips.
/// </summary>
internal sealed class BenchCommand : SermtlCommand
{
    private const int SampleRate = 16000;
    private const int InferenceRuns = 5;
    private const int TrainingRuns = 3;
    private const double CtcWeight = 0.1;
    private static readonly string[] Emotions = ["neutral", "happy", "angry", "sad"];

    private readonly TextWriter _out;
    private readonly Option<double> _seconds = CliOption.Number("--seconds", "S", "clip length for inference and training", 5, 0.05, 600);
    private readonly Option<int> _threads = CliOption.Int("--threads", "torch CPU threads (default: the CPUs available)", Environment.ProcessorCount, 1, 4096);
    private readonly Option<int> _batch = CliOption.Int("--batch", "batch size of the throughput run", 8, 1, 1024);
    private readonly Option<string> _dtype = CliOption.Choice("--dtype",
        "the inference and throughput weights and activations; with bfloat16 the training step runs in bfloat16 mixed precision (bfloat16 compute, float32 master weights)",
        "float32", "float32", "bfloat16");
    private readonly Option<bool> _trainEncoder = CliOption.Flag("--train-feature-encoder", "train the convolutional feature encoder too (SerTrainer's WithFrozenFeatureEncoder(false))");
    private readonly Option<string> _optimizerState = TrainingArgs.OptimizerStateOption();
    private readonly Option<bool> _checkpointing = CliOption.Flag("--gradient-checkpointing",
        "recompute each transformer layer in the backward pass instead of keeping its activations (SerTrainer's WithGradientCheckpointing)");
    private readonly Option<bool> _skipTrain = CliOption.Flag("--skip-train", "do not measure the training step");
    private readonly Option<bool> _skipInference = CliOption.Flag("--skip-inference",
        "do not measure inference and throughput (the training step's peak RSS is then that of a process that did nothing else)");
    private readonly Option<bool> _skipPredict = CliOption.Flag("--skip-predict", "do not measure the user's path (sermtl predict over a folder of WAVs in a child process)");
    private readonly Option<bool> _systemMalloc = CliOption.Flag("--system-malloc",
        "opt out of SerMtl's native memory policy as an app can (SERMTL_NATIVE_MEMORY=system), to measure what it is worth");
    private readonly Option<bool> _json = CliOption.Flag("--json",
        "print one JSON object: inference_ms, real_time_factor, predict_per_file_ms, predict_real_time_factor, predict_vs_inference, train_step_ms, peak_rss_mb, gflops, gemm_gflops, threads, dtype, utterances_per_second_batch1, utterances_per_second_batchN, batch, machine, and more");
    private readonly Option<string> _engine = CliOption.Choice("--engine",
        "onnx: also export the model to ONNX and measure ONNX Runtime on it in a child process that never loads libtorch (the training step is skipped)",
        "torch", "torch", "onnx");
    private readonly Option<bool> _int8 = CliOption.Flag("--int8", "with --engine onnx: also measure the int8 export");
    private readonly Option<string?> _reference = CliOption.Text("--reference", "FILE",
        "with --engine onnx: another exporter's ONNX graph of the same architecture, measured beside SerMtl's (bench/onnx/torchaudio_export.py writes torchaudio's)");
    private readonly Option<string?> _keepOnnx = CliOption.Text("--keep-onnx", "DIR", "with --engine onnx: write the exported files to DIR (kept) instead of a temporary folder");
    // For tests: a config.json to use instead of wav2vec2-base (e.g. a tiny model).
    private readonly Option<string?> _config = new("--config") { Hidden = true };
    // The child process of --engine onnx: NAME=PATH models to measure with ONNX Runtime only.
    private readonly Option<string[]> _onnxMeasure = new("--onnx-measure") { Hidden = true, AllowMultipleArgumentsPerToken = false };

    public BenchCommand(TextWriter? output = null)
        : base("bench", "Measure inference and training speed and memory of a wav2vec2-base-sized model", """
            Builds a wav2vec2-base-sized model (the base config, random weights, CTC and emotion heads; LayerDrop off so
            every step does the same work) and measures, on this machine:
              inference      one clip of S seconds, evaluation mode, inference_mode; median of 5 after 2 warm-ups
              training step  one update of batch 1 run by SerTrainer (the clip written to a temporary WAV): forward,
                             CE + 0.1 * CTC, backward, gradient clipping, AdamW step (float32 weights), feature
                             encoder frozen by default (the paper's recipe); median of 3 after 1 warm-up
              peak RSS       the process's peak resident memory (Linux: VmHWM from /proc/self/status, reset before
                             each phase; elsewhere Process.PeakWorkingSet64), overall and per phase
              GFLOP/s        the model's analytic forward FLOPs (matrix products) divided by the inference time
              GEMM GFLOP/s   a [2048, 768] x [768, 3072] product measured now as torch's linear (the machine's
                             matrix-product speed, to compare the model's GFLOP/s with)
              utterances/s   a fixed set of clips of 2 to 10 s, one at a time and in padded batches of N clips of
                             similar length (sorted by length, then cut into batches)
              page faults    minor page faults per inference and per training step (Linux)
              user's path    'sermtl predict --batch-size 1 --timing' in a child process over 11 WAVs of S seconds
                             (16 kHz PCM, the model saved to a temporary folder): decoding, forward and output as a
                             user runs them, in a process the bench tunes nothing in; the median time per file
                             after the first, its real-time factor, its ratio to the model-only inference above,
                             its peak RSS and model load time
            Timings on a loaded machine are noisy: the 1-minute load average is reported before and after.
            The bench tunes nothing itself: the model is built as in any app, so SerMtl's default native memory policy
            applies (see NativeAllocator; --system-malloc opts out of it as SERMTL_NATIVE_MEMORY=system does).

            Example:
              sermtl bench --threads 2 --json
            """)
    {
        _out = output ?? Console.Out;
        foreach (var option in new Option[] { _seconds, _threads, _batch, _dtype, _trainEncoder, _optimizerState, _checkpointing, _skipTrain,
            _skipInference, _skipPredict, _systemMalloc, _json, _engine, _int8, _reference, _keepOnnx, _config, _onnxMeasure })
            Add(option);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        // The library's own native memory policy applies when it builds the model, as in any app; --system-malloc opts
        // out as a user can (SERMTL_NATIVE_MEMORY=system, inherited by the predict child), restored afterwards.
        var optOut = Environment.GetEnvironmentVariable(NativeAllocator.EnvironmentVariable);
        if (parse.GetValue(_systemMalloc)) Environment.SetEnvironmentVariable(NativeAllocator.EnvironmentVariable, "system");
        try
        {
            return Measure(parse, cancellationToken);
        }
        finally
        {
            Environment.SetEnvironmentVariable(NativeAllocator.EnvironmentVariable, optOut);
        }
    }

    private int Measure(ParseResult parse, CancellationToken cancellationToken)
    {
        var seconds = parse.GetValue(_seconds);
        var threads = parse.GetValue(_threads);
        var batch = parse.GetValue(_batch);
        var dtype = parse.GetValue(_dtype) == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
        var freeze = !parse.GetValue(_trainEncoder);
        var skipTrain = parse.GetValue(_skipTrain);
        var skipInference = parse.GetValue(_skipInference);
        var skipPredict = parse.GetValue(_skipPredict) || skipInference;
        var optimizerState = TrainingArgs.OptimizerState(parse.GetValue(_optimizerState));
        var checkpointing = parse.GetValue(_checkpointing);
        var json = parse.GetValue(_json);
        var configPath = parse.GetValue(_config);
        var onnx = parse.GetValue(_engine) == "onnx";
        var int8 = parse.GetValue(_int8);
        var reference = parse.GetValue(_reference);
        var keepOnnx = parse.GetValue(_keepOnnx);
        if (!onnx && (int8 || reference is not null || keepOnnx is not null)) throw new UsageException("--int8, --reference and --keep-onnx need --engine onnx");
        if (onnx && dtype != ScalarType.Float32) throw new UsageException("--engine onnx measures float32 (and --int8) exports; --dtype bfloat16 is TorchSharp's");
        if (onnx && skipInference) throw new UsageException("--engine onnx measures inference; --skip-inference leaves it nothing to do");
        if (reference is not null && !File.Exists(reference)) throw new UsageException($"--reference {reference}: file not found");
        if (onnx) skipTrain = true;
        if (skipTrain && skipInference) throw new UsageException("--skip-train and --skip-inference leave nothing to measure");

        var config = (configPath is null ? Wav2Vec2Config.Base : Wav2Vec2Config.FromJsonFile(configPath)) with { LayerDrop = 0 };
        var samples = (long)Math.Round(seconds * SampleRate);
        if (samples < config.ReceptiveField)
            throw new UsageException($"--seconds {seconds.ToString(CultureInfo.InvariantCulture)} gives {samples} samples; the model needs at least {config.ReceptiveField}");

        // The child of --engine onnx: ONNX Runtime only, nothing that loads libtorch.
        if (parse.GetValue(_onnxMeasure) is { Length: > 0 } measure)
        {
            var models = measure.Select(m => m.Split('=', 2)).Select(p => p.Length == 2 ? (p[0], p[1]) : throw new UsageException($"--onnx-measure expects NAME=PATH, got '{string.Join('=', p)}'")).ToList();
            WriteJson(OnnxBench.Measure(models, RandomWaveform(samples, new Random(1)), ThroughputClips(Math.Max(2 * batch, 8), config.ReceptiveField), threads, batch, cancellationToken));
            return ExitCodes.Success;
        }

        torch.set_num_threads(threads);
        var loadBefore = HostInfo.LoadAverage();
        var result = new Dictionary<string, object?>();
        var phasePeaks = new List<double>();

        var gemm = MeasureGemm(dtype);
        cancellationToken.ThrowIfCancellationRequested();

        manual_seed(0);
        using var model = SerMtlModel.CreateFromScratch(config, new SerMtlModelOptions { Labels = Emotions });
        var allocator = NativeAllocator.Policy switch
        {
            NativeMemoryPolicy.BoundedReuse => "SerMtl's default (glibc malloc: tensor memory reused from the heap, free memory kept up to a bound)",
            NativeMemoryPolicy.RetainAll => "glibc malloc, all freed memory retained",
            _ => "system default" + (NativeAllocator.OptOutReason() is { } why ? $" ({why})" : ""),
        };
        var vocabulary = model.Vocabulary.Count;
        var forwardFlops = ModelFlops.Forward(config, samples, vocabulary, Emotions.Length);
        var clip = RandomWaveform(samples, new Random(1));

        // Inference and throughput in the requested dtype.
        double? inferenceMs = null, inferenceFaults = null, inferencePeak = null, perSecond1 = null, perSecondN = null;
        var clips = ThroughputClips(Math.Max(2 * batch, 8), config.ReceptiveField);
        if (!skipInference)
        {
            if (dtype != ScalarType.Float32) model.to(dtype);
            model.eval();
            HostInfo.ResetPeak();
            (inferenceMs, inferenceFaults) = Median(2, InferenceRuns, cancellationToken, () => Infer(model, [clip]));
            inferencePeak = HostInfo.PeakResidentMegabytes();
            phasePeaks.Add(inferencePeak.Value);

            HostInfo.ResetPeak();
            perSecond1 = Throughput(model, clips, 1, cancellationToken);
            perSecondN = Throughput(model, clips, batch, cancellationToken);
            phasePeaks.Add(HostInfo.PeakResidentMegabytes());
        }

        if (!skipPredict) MeasurePredict(model, result, seconds, threads, dtype, inferenceMs!.Value, cancellationToken);

        double? trainMs = null, trainPeak = null, trainFaults = null;
        if (!skipTrain)
        {
            if (dtype != ScalarType.Float32) model.to(ScalarType.Float32);
            HostInfo.ResetPeak();
            (trainMs, trainFaults) = MeasureTrainingStep(model, clip, dtype == ScalarType.BFloat16 ? ComputePrecision.BFloat16 : ComputePrecision.Float32,
                optimizerState, freeze, checkpointing, cancellationToken);
            trainPeak = HostInfo.PeakResidentMegabytes();
            phasePeaks.Add(trainPeak.Value);
        }

        if (onnx) MeasureOnnx(model, result, configPath, seconds, threads, batch, int8, reference, keepOnnx, inferencePeak!.Value, inferenceMs!.Value, cancellationToken);

        var loadAfter = HostInfo.LoadAverage();
        result["inference_ms"] = inferenceMs;
        result["train_step_ms"] = trainMs;
        result["peak_rss_mb"] = phasePeaks.Max();
        result["inference_peak_rss_mb"] = inferencePeak;
        result["train_peak_rss_mb"] = trainPeak;
        result["inference_page_faults"] = inferenceFaults;
        result["train_step_page_faults"] = trainFaults;
        result["gflops"] = forwardFlops / inferenceMs / 1e6;
        result["real_time_factor"] = inferenceMs / (seconds * 1000);
        result["train_gflops"] = trainMs is { } t ? ModelFlops.TrainingStep(config, samples, vocabulary, Emotions.Length, freeze) / t / 1e6 : null;
        result["forward_gflop"] = forwardFlops / 1e9;
        result["gemm_gflops"] = gemm;
        result["threads"] = threads;
        result["dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        result["train_dtype"] = skipTrain ? null : dtype == ScalarType.BFloat16 ? "bfloat16 mixed (float32 master weights)" : "float32";
        result["seconds"] = seconds;
        result["feature_encoder_frozen"] = freeze;
        result["optimizer_state"] = TrainingArgs.Name(optimizerState);
        result["gradient_checkpointing"] = checkpointing;
        result["utterances_per_second_batch1"] = perSecond1;
        result["utterances_per_second_batchN"] = perSecondN;
        result["batch"] = batch;
        result["throughput_clips"] = clips.Count;
        result["throughput_audio_seconds"] = clips.Sum(c => c.Length) / (double)SampleRate;
        result["allocator"] = allocator;
        result["machine"] = HostInfo.Machine();
        result["load_average_before"] = loadBefore?[0];
        result["load_average_after"] = loadAfter?[0];

        if (json) WriteJson(result);
        else WriteText(result, config == Wav2Vec2Config.Base with { LayerDrop = 0 } ? "wav2vec2-base" : configPath!);
        return ExitCodes.Success;
    }

    /// <summary>
    /// Exports the model (float32, and int8 when asked) and measures ONNX Runtime on it, and on the reference graph when
    /// given, in a child process of this tool that never loads libtorch; adds its figures and the ratios to <paramref name="result"/>.
    /// </summary>
    private static void MeasureOnnx(SerMtlModel model, Dictionary<string, object?> result, string? configPath, double seconds, int threads, int batch,
        bool int8, string? reference, string? keep, double torchPeak, double torchInferenceMs, CancellationToken cancellationToken)
    {
        var directory = keep is null ? Directory.CreateTempSubdirectory("sermtl-bench-onnx-") : Directory.CreateDirectory(keep);
        try
        {
            model.eval();
            var measure = new List<string> { "onnx=" + Onnx.OnnxExporter.Export(model, Path.Combine(directory.FullName, "model.onnx")).Path };
            if (int8)
                measure.Add("onnx_int8=" + Onnx.OnnxExporter.Export(model, Path.Combine(directory.FullName, "model-int8.onnx"), new Onnx.OnnxExportOptions { Int8 = true }).Path);
            if (reference is not null) measure.Add("reference=" + Path.GetFullPath(reference));

            var arguments = new List<string> { "bench", "--json", "--seconds", seconds.ToString("R", CultureInfo.InvariantCulture),
                "--threads", threads.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture) };
            if (configPath is not null) arguments.AddRange(["--config", Path.GetFullPath(configPath)]);
            // One process per model (its memory, its throughput), then one with all of them for times taken in turns.
            var libtorch = false;
            foreach (var m in measure)
                foreach (var (key, value) in RunSelf([.. arguments, "--onnx-measure", m], cancellationToken))
                {
                    if (key == "libtorch_loaded") libtorch |= value is true;
                    else result[key] = value;
                }
            if (measure.Count > 1)
                foreach (var (key, value) in RunSelf([.. arguments, .. measure.SelectMany(m => new[] { "--onnx-measure", m })], cancellationToken))
                {
                    if (key == "libtorch_loaded") libtorch |= value is true;
                    else result[key] = value;
                }
            result["libtorch_loaded"] = libtorch;
        }
        finally
        {
            if (keep is null) directory.Delete(recursive: true);
        }
        double? Get(string key) => result.TryGetValue(key, out var v) && v is double d ? d : null;
        result["torch_inference_peak_rss_mb"] = torchPeak;
        result["onnx_real_time_factor"] = Get("onnx_inference_ms") / (seconds * 1000);
        result["onnx_vs_torch_inference"] = Get("onnx_inference_ms") / torchInferenceMs;
        result["onnx_vs_reference_inference"] = Get("onnx_inference_ms") / Get("reference_inference_ms");
        result["int8_vs_onnx_inference"] = Get("onnx_int8_inference_ms") / Get("onnx_inference_ms");
        result["onnx_vs_torch_peak_rss"] = Get("onnx_inference_peak_rss_mb") / torchPeak;
    }

    /// <summary>The WAVs the user's path predicts (at least 10, the first of which pays one-time costs).</summary>
    private const int PredictFiles = 11;

    /// <summary>
    /// The user's path: saves the model, writes <see cref="PredictFiles"/> WAVs of <paramref name="seconds"/> and runs
    /// <c>sermtl predict --batch-size 1 --timing</c> on them in a child process of this tool (environment inherited,
    /// nothing tuned by the bench); adds its figures and their ratio to the model-only inference to <paramref name="result"/>.
    /// </summary>
    private static void MeasurePredict(SerMtlModel model, Dictionary<string, object?> result, double seconds, int threads, ScalarType dtype,
        double inferenceMs, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("sermtl-bench-predict-");
        try
        {
            if (dtype != ScalarType.Float32) model.to(ScalarType.Float32); // saved as float32; predict converts as a user's run does
            var modelDir = Path.Combine(directory.FullName, "model");
            model.Save(modelDir);
            var wavDir = Directory.CreateDirectory(Path.Combine(directory.FullName, "wavs")).FullName;
            var random = new Random(3);
            var samples = (long)Math.Round(seconds * SampleRate);
            for (var i = 0; i < PredictFiles; i++)
            {
                var clip = RandomWaveform(samples, random);
                for (var j = 0; j < clip.Length; j++) clip[j] *= 0.5f;
                WavWriter.Write(Path.Combine(wavDir, $"clip{i:00}.wav"), clip, SampleRate);
            }
            var timingPath = Path.Combine(directory.FullName, "timing.json");
            RunTool(["predict", "--model", modelDir, "--batch-size", "1", "--threads", threads.ToString(CultureInfo.InvariantCulture),
                "--dtype", dtype == ScalarType.BFloat16 ? "bfloat16" : "float32", "--csv", "--timing", timingPath, wavDir], cancellationToken);
            using var timing = JsonDocument.Parse(File.ReadAllBytes(timingPath));
            var root = timing.RootElement;
            var perFile = root.GetProperty("median_ms_after_first_batch").GetDouble();
            result["predict_files"] = PredictFiles;
            result["predict_per_file_ms"] = perFile;
            result["predict_real_time_factor"] = perFile / (seconds * 1000);
            result["predict_vs_inference"] = perFile / inferenceMs;
            result["predict_peak_rss_mb"] = root.GetProperty("peak_rss_mb").GetDouble();
            result["predict_model_load_seconds"] = root.GetProperty("model_load_seconds").GetDouble();
            result["predict_native_memory"] = root.GetProperty("native_memory").GetString();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Runs this tool again with <paramref name="arguments"/> and reads the JSON object it prints (numbers and booleans).</summary>
    private static Dictionary<string, object?> RunSelf(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        using var json = JsonDocument.Parse(RunTool(arguments, cancellationToken));
        return json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind switch
        {
            JsonValueKind.Number => (object?)p.Value.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        });
    }

    /// <summary>Runs this tool again with <paramref name="arguments"/> (environment inherited) and returns what it printed on stdout.</summary>
    /// <exception cref="InvalidOperationException">It exited with an error; the message has its stderr.</exception>
    private static string RunTool(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        // The tool's own apphost when it is the running program; else 'dotnet sermtl.dll' (under 'dotnet sermtl.dll', or in a test host).
        var tool = typeof(BenchCommand).Assembly;
        var processPath = Environment.ProcessPath;
        var isDotnet = processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet";
        var host = System.Reflection.Assembly.GetEntryAssembly() == tool && processPath is not null && !isDotnet
            ? processPath
            : isDotnet ? processPath! : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (host != processPath || isDotnet) start.ArgumentList.Add(tool.Location);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {host}");
        using var _ = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        cancellationToken.ThrowIfCancellationRequested();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"'sermtl {arguments[0]}' in a child process failed (exit code {process.ExitCode}): {errors.GetAwaiter().GetResult().Trim()}");
        return output;
    }

    /// <summary>Runs the model once on <paramref name="waveforms"/> in evaluation mode.</summary>
    private static void Infer(SerMtlModel model, IReadOnlyList<float[]> waveforms)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        using var inputs = WaveformBatch.Create(waveforms, model.Backbone.Preprocessing);
        using var output = model.Forward(inputs);
    }

    /// <summary>
    /// Median milliseconds of <paramref name="runs"/> timed calls after <paramref name="warmUp"/> untimed ones, and
    /// the mean minor page faults per timed call (null where they cannot be read).
    /// </summary>
    private static (double Milliseconds, double? PageFaults) Median(int warmUp, int runs, CancellationToken cancellationToken, Action action)
    {
        for (var i = 0; i < warmUp; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            action();
        }
        var times = new double[runs];
        var faultsBefore = HostInfo.MinorPageFaults();
        for (var i = 0; i < runs; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            action();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        var faults = HostInfo.MinorPageFaults() - faultsBefore;
        Array.Sort(times);
        return (runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2, faults / (double)runs);
    }

    /// <summary>GFLOP/s of [2048, 768] x [768, 3072] as torch's <c>linear</c> (MKL SGEMM in float32), median of 7.</summary>
    private static double MeasureGemm(ScalarType dtype)
    {
        const long m = 2048, k = 768, n = 3072;
        const double flops = 2.0 * m * k * n;
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var x = randn(m, k).to(dtype);
        var w = randn(n, k).to(dtype);
        var b = randn(n).to(dtype);
        var (linear, _) = Median(2, 7, CancellationToken.None, () =>
        {
            using var s = NewDisposeScope();
            nn.functional.linear(x, w, b);
        });
        return flops / linear / 1e6;
    }

    /// <summary>Utterances per second over <paramref name="clips"/> in padded batches of <paramref name="batch"/> (<see cref="ThroughputRun"/>).</summary>
    private static double Throughput(SerMtlModel model, IReadOnlyList<float[]> clips, int batch, CancellationToken cancellationToken) =>
        ThroughputRun.UtterancesPerSecond(clips, batch, b => Infer(model, b), cancellationToken);

    /// <summary>
    /// Median milliseconds (and minor page faults) of a training update on one clip as <see cref="SerTrainer"/> runs
    /// it: the clip is written to a temporary WAV and trained on for 1 + <see cref="TrainingRuns"/> updates of batch 1
    /// (CE + 0.1 CTC against a random transcript, backward, gradient clipping, AdamW step; the first update is the
    /// warm-up). In bfloat16 the trainer keeps float32 weights and computes in bfloat16.
    /// </summary>
    private static (double Milliseconds, double? PageFaults) MeasureTrainingStep(SerMtlModel model, float[] clip, ComputePrecision precision,
        OptimizerStatePrecision optimizerState, bool freeze, bool checkpointing, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("sermtl-bench-");
        try
        {
            var wav = Path.Combine(directory.FullName, "clip.wav");
            WavWriter.Write(wav, clip, SampleRate, WavOutputFormat.Float32);
            var frames = model.Backbone.Config.OutputLength(clip.Length);
            // About 15 characters per second of speech, and never more than CTC can align.
            var characters = (int)Math.Max(1, Math.Min(frames / 2, (long)(15.0 * clip.Length / SampleRate)));
            var random = new Random(2);
            var transcript = new string(Enumerable.Range(0, characters).Select(i => i % 6 == 5 ? ' ' : (char)('A' + random.Next(26))).ToArray()).Trim();
            var samples = Enumerable.Range(0, TrainingRuns + 1)
                .Select(i => new SpeechSample($"clip{i}", wav, "bench", Emotions[1], transcript))
                .ToList();
            var steps = new StepClock();
            var trainer = SerTrainer.For(model)
                .WithAlpha(CtcWeight)
                .WithEpochs(1)
                .WithBatchSize(1)
                .WithComputePrecision(precision)
                .WithOptimizerState(optimizerState)
                .WithFrozenFeatureEncoder(freeze)
                .WithGradientCheckpointing(checkpointing)
                .WithProgress(steps)
                .Build();
            trainer.Train(samples, validation: null, cancellationToken);
            var timed = steps.Updates.Skip(1).ToArray(); // the first update is the warm-up
            var times = timed.Select(u => u.Milliseconds).Order().ToArray();
            var median = times.Length % 2 == 1 ? times[times.Length / 2] : (times[times.Length / 2 - 1] + times[times.Length / 2]) / 2;
            double? faults = timed.All(u => u.PageFaults is not null) ? timed.Average(u => u.PageFaults!.Value) : null;
            return (median, faults);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The time and minor page faults between consecutive training progress reports (one per update).</summary>
    private sealed class StepClock : IProgress<TrainingProgress>
    {
        private TimeSpan _last;
        private long? _faults = HostInfo.MinorPageFaults();

        public List<(double Milliseconds, double? PageFaults)> Updates { get; } = [];

        public void Report(TrainingProgress value)
        {
            var faults = HostInfo.MinorPageFaults();
            if (value.Phase == TrainingPhase.Training)
                Updates.Add(((value.Elapsed - _last).TotalMilliseconds, faults - _faults));
            _last = value.Elapsed;
            _faults = faults;
        }
    }

    private static float[] RandomWaveform(long samples, Random random)
    {
        var wave = new float[samples];
        for (var i = 0; i < wave.Length; i++) wave[i] = (float)(random.NextDouble() * 2 - 1);
        return wave;
    }

    /// <summary>A fixed set of <paramref name="count"/> clips, uniformly 2 to 10 s long (at least the receptive field).</summary>
    private static List<float[]> ThroughputClips(int count, int receptiveField)
    {
        var random = new Random(1234);
        return Enumerable.Range(0, count)
            .Select(_ => RandomWaveform(Math.Max(receptiveField, (long)((2 + 8 * random.NextDouble()) * SampleRate)), random))
            .ToList();
    }

    private void WriteJson(Dictionary<string, object?> result)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            foreach (var (key, value) in result)
            {
                switch (value)
                {
                    case null: w.WriteNull(key); break;
                    case string s: w.WriteString(key, s); break;
                    case bool b: w.WriteBoolean(key, b); break;
                    case int i: w.WriteNumber(key, i); break;
                    case double d: w.WriteNumber(key, Math.Round(d, 3)); break;
                    default: throw new InvalidOperationException($"no JSON form for {key} ({value.GetType()})");
                }
            }
            w.WriteEndObject();
        }
        _out.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private void WriteText(Dictionary<string, object?> r, string modelName)
    {
        string F(string key, string format) => r[key] is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "-";
        _out.WriteLine($"model            {modelName}, {r["forward_gflop"] switch { double g => g.ToString("0.0", CultureInfo.InvariantCulture), _ => "?" }} GFLOP forward on {F("seconds", "0.##")} s");
        _out.WriteLine($"machine          {r["machine"]}");
        _out.WriteLine($"threads, dtype   {r["threads"]}, {r["dtype"]}");
        _out.WriteLine($"load average     {F("load_average_before", "0.00")} before, {F("load_average_after", "0.00")} after (1 min)");
        _out.WriteLine($"GEMM             {F("gemm_gflops", "0")} GFLOP/s torch linear ([2048, 768] x [768, 3072])");
        _out.WriteLine($"allocator        {r["allocator"]}");
        _out.WriteLine($"inference        {F("inference_ms", "0.0")} ms ({F("gflops", "0")} GFLOP/s), peak RSS {F("inference_peak_rss_mb", "0")} MB, {F("inference_page_faults", "0")} page faults");
        _out.WriteLine(r["train_step_ms"] is null
            ? "training step    skipped"
            : $"training step    {F("train_step_ms", "0")} ms ({F("train_gflops", "0")} GFLOP/s, {r["train_dtype"]}{((bool)r["feature_encoder_frozen"]! ? ", feature encoder frozen" : "")}, {r["optimizer_state"]} AdamW state{((bool)r["gradient_checkpointing"]! ? ", gradient checkpointing" : "")}), peak RSS {F("train_peak_rss_mb", "0")} MB, {F("train_step_page_faults", "0")} page faults");
        _out.WriteLine($"throughput       {F("utterances_per_second_batch1", "0.00")} utterances/s at batch 1, {F("utterances_per_second_batchN", "0.00")} at batch {r["batch"]} ({r["throughput_clips"]} clips, {F("throughput_audio_seconds", "0")} s of audio)");
        if (r.ContainsKey("predict_per_file_ms"))
            _out.WriteLine($"user's path      sermtl predict, {r["predict_files"]} WAVs of {F("seconds", "0.##")} s, batch 1, child process: {F("predict_per_file_ms", "0.0")} ms per file ({F("predict_vs_inference", "0.00")}x the inference above), real-time factor {F("predict_real_time_factor", "0.000")}, peak RSS {F("predict_peak_rss_mb", "0")} MB, model load {F("predict_model_load_seconds", "0.0")} s, native memory {r["predict_native_memory"]}");
        _out.WriteLine($"peak RSS         {F("peak_rss_mb", "0")} MB");
        if (!r.ContainsKey("onnx_inference_ms")) return;
        _out.WriteLine($"ONNX Runtime     (child processes, one per model; libtorch loaded: {r["libtorch_loaded"] switch { true => "yes", false => "no", _ => "?" }})");
        foreach (var (name, label) in new[] { ("onnx", "SerMtl float32"), ("onnx_int8", "SerMtl int8"), ("reference", "reference graph") })
        {
            if (!r.ContainsKey(name + "_inference_ms")) continue;
            _out.WriteLine($"  {label,-16}{F(name + "_inference_ms", "0.0")} ms (peak RSS {F(name + "_inference_peak_rss_mb", "0")} MB), {F(name + "_utterances_per_second_batch1", "0.00")} utt/s at batch 1, {F(name + "_utterances_per_second_batchN", "0.00")} at batch {r["batch"]} (peak RSS {F(name + "_peak_rss_mb", "0")} MB), file {F(name + "_file_mb", "0")} MB");
        }
        _out.WriteLine($"ratios           ONNX/torch inference {F("onnx_vs_torch_inference", "0.00")}, ONNX/reference {F("onnx_vs_reference_inference", "0.00")}, int8/ONNX {F("int8_vs_onnx_inference", "0.00")}, ONNX/torch inference peak RSS {F("onnx_vs_torch_peak_rss", "0.00")}");
        _out.WriteLine($"real-time factor torch {F("real_time_factor", "0.000")}, ONNX {F("onnx_real_time_factor", "0.000")}");
    }
}
