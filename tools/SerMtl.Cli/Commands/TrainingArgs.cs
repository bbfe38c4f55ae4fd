using System.CommandLine;
using System.Globalization;
using SerMtl.Inference;
using SerMtl.Modeling;
using SerMtl.Training;
using TorchSharp;

namespace SerMtl.Cli.Commands;

/// <summary>The model and training options shared by <c>train</c> and <c>cv</c>.</summary>
/// <param name="Backbone">The pretrained backbone directory.</param>
/// <param name="Options">The trainer's options.</param>
/// <param name="Pooling">The emotion head's pooling.</param>
/// <param name="Device">Where to train.</param>
/// <param name="MaxUtterances">Per-split limit for smoke runs, or null.</param>
/// <param name="Recipe">Everything that decides the results, as display strings (stored in results.json and checked on resume).</param>
internal sealed record TrainingSetup(string Backbone, TrainingOptions Options, Pooling Pooling, torch.Device Device, int? MaxUtterances,
    IReadOnlyDictionary<string, string> Recipe);

/// <summary>The model and training options shared by <c>train</c> and <c>cv</c>.</summary>
internal sealed class TrainingArgs
{
    private readonly Option<string> _backbone = CliOption.Required("--backbone", "DIR|ID",
        "pretrained wav2vec 2.0 in HF layout (config.json + model.safetensors or pytorch_model.bin), e.g. facebook/wav2vec2-base: " + ModelArgs.DirOrHubId);
    private readonly Option<double> _alpha = CliOption.Number("--alpha", "A", "weight of the CTC loss in L = CE + A*CTC (0 = emotion only)", 0.1, 0, 1e6);
    private readonly Option<string?> _lr = CliOption.Text("--lr", "X", "peak learning rate (default 5e-5, or 1e-5 when --alpha 0)");
    private readonly Option<int> _epochs = CliOption.Int("--epochs", "epochs per fold; the best on validation (UA) is kept", 30, 1, 100_000);
    private readonly Option<int> _batchSize = CliOption.Int("--batch-size", "utterances per forward pass", 8, 1, 4096);
    private readonly Option<int> _accumulate = CliOption.Int("--accumulate", "forward passes per update (effective batch = batch-size * N)", 1, 1, 4096);
    private readonly Option<double?> _maxBatchSeconds = CliOption.Seconds("--max-batch-seconds", "cap the padded audio of a forward pass, for long utterances on small GPUs");
    private readonly Option<double?> _crop = CliOption.Seconds("--crop-seconds", "randomly crop training utterances longer than S seconds (default: off)");
    private readonly Option<string> _select = CliOption.Choice("--select", "validation metric that picks the epoch", "ua", "ua", "wa", "f1", "wer");
    private readonly Option<string> _pooling = CliOption.Choice("--pooling", "emotion head pooling over frames: sum (the paper) or mean", "sum", "sum", "mean");
    private readonly Option<bool> _trainEncoder = CliOption.Flag("--train-feature-encoder", "also fine-tune the convolutional feature encoder (default: frozen)");
    private readonly Option<string> _dtype = CliOption.Choice("--dtype",
        "bfloat16 trains the backbone in mixed precision (bfloat16 products, float32 weights and update); faster on CPUs with AVX-512 BF16 or AMX and on Ampere+ GPUs",
        "float32", "float32", "bfloat16");
    private readonly Option<string> _optimizerState = OptimizerStateOption();
    private readonly Option<bool> _checkpointing = CliOption.Flag("--gradient-checkpointing",
        "recompute each transformer layer in the backward pass instead of keeping its activations: less memory, one more transformer forward per step, same gradients");
    private readonly Option<int> _seed = CliOption.Int("--seed", "seed of data order, dropout, head initialisation and validation split", 0, 0, int.MaxValue);
    private readonly Option<string?> _device = DeviceOption();
    private readonly Option<int> _checkpointEvery = CliOption.Int("--checkpoint-every", "also write a resumable checkpoint every N updates (0: at each epoch end only)", 0, 0, int.MaxValue);
    private readonly Option<double> _cacheGb = CliOption.Number("--cache-gb", "G", "decoded audio kept in memory, GB (IEMOCAP 4-class needs ~1.6)", 4, 0, 1 << 20);
    private readonly Option<int?> _maxUtterances = MaxUtterancesOption("use at most N utterances of each split (seeded subset; for smoke tests only)");

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _backbone, _alpha, _lr, _epochs, _batchSize, _accumulate, _maxBatchSeconds, _crop, _select, _pooling,
            _trainEncoder, _dtype, _optimizerState, _checkpointing, _seed, _device, _checkpointEvery, _cacheGb, _maxUtterances })
            command.Add(option);
    }

    /// <summary>The setup the options describe.</summary>
    public TrainingSetup Parse(ParseResult parse)
    {
        var backbone = parse.GetRequiredValue(_backbone);
        var alpha = parse.GetValue(_alpha);
        var lrText = parse.GetValue(_lr);
        double? lr = null;
        if (lrText is not null)
        {
            if (!double.TryParse(lrText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0 && v < 1))
                throw new UsageException($"--lr expects a learning rate in (0, 1), got '{lrText}'");
            lr = v;
        }
        var epochs = parse.GetValue(_epochs);
        var batchSize = parse.GetValue(_batchSize);
        var accumulate = parse.GetValue(_accumulate);
        var maxBatchSeconds = parse.GetValue(_maxBatchSeconds);
        var crop = parse.GetValue(_crop);
        var select = parse.GetValue(_select) switch
        {
            "wa" => SelectionMetric.WeightedAccuracy,
            "f1" => SelectionMetric.MacroF1,
            "wer" => SelectionMetric.WordErrorRate,
            _ => SelectionMetric.UnweightedAccuracy,
        };
        var pooling = parse.GetValue(_pooling) == "mean" ? Pooling.Mean : Pooling.Sum;
        var trainEncoder = parse.GetValue(_trainEncoder);
        var compute = parse.GetValue(_dtype) == "bfloat16" ? ComputePrecision.BFloat16 : ComputePrecision.Float32;
        var optimizerState = OptimizerState(parse.GetValue(_optimizerState));
        var checkpointing = parse.GetValue(_checkpointing);
        var seed = parse.GetValue(_seed);
        var device = ParseDevice(parse.GetValue(_device));
        var checkpointEvery = parse.GetValue(_checkpointEvery);
        var cacheGb = parse.GetValue(_cacheGb);
        var maxUtterances = parse.GetValue(_maxUtterances);

        var options = new TrainingOptions
        {
            Alpha = alpha,
            LearningRate = lr,
            Epochs = epochs,
            BatchSize = batchSize,
            GradientAccumulationSteps = accumulate,
            MaxBatchSeconds = maxBatchSeconds,
            RandomCropSeconds = crop,
            SelectionMetric = select,
            FreezeFeatureEncoder = !trainEncoder,
            ComputePrecision = compute,
            OptimizerStatePrecision = optimizerState,
            GradientCheckpointing = checkpointing,
            Seed = seed,
            CheckpointEverySteps = checkpointEvery,
            AudioCacheBytes = (long)(cacheGb * 1e9),
        };
        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var recipe = new Dictionary<string, string>
        {
            ["backbone"] = Directory.Exists(backbone) || !SerMtl.Hub.HubModelId.TryParse(backbone, out _) ? Path.GetFullPath(backbone) : backbone,
            ["alpha"] = N(alpha),
            ["lr"] = N(options.EffectiveLearningRate),
            ["epochs"] = epochs.ToString(CultureInfo.InvariantCulture),
            ["batch"] = $"{batchSize}x{accumulate}",
            ["max_batch_seconds"] = maxBatchSeconds is { } mb ? N(mb) : "none",
            ["crop_seconds"] = crop is { } c ? N(c) : "none",
            ["select"] = select.ToString(),
            ["pooling"] = pooling.ToString().ToLowerInvariant(),
            ["feature_encoder"] = trainEncoder ? "trained" : "frozen",
            ["dtype"] = compute == ComputePrecision.BFloat16 ? "bfloat16" : "float32",
            ["optimizer_state"] = Name(optimizerState),
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["max_utterances"] = maxUtterances?.ToString(CultureInfo.InvariantCulture) ?? "all",
        };
        return new TrainingSetup(backbone, options, pooling, device, maxUtterances, recipe);
    }

    /// <summary>--optimizer-state float32|bfloat16 (default float32), shared by train, cv and bench.</summary>
    public static Option<string> OptimizerStateOption() => CliOption.Choice("--optimizer-state",
        "AdamW's moments; bfloat16 (stochastic rounding) needs ~360 MB less for wav2vec2-base", "float32", "float32", "bfloat16");

    /// <summary>The precision an --optimizer-state value names.</summary>
    public static OptimizerStatePrecision OptimizerState(string? value) =>
        value == "bfloat16" ? OptimizerStatePrecision.BFloat16 : OptimizerStatePrecision.Float32;

    /// <summary>--device cpu|cuda|cuda:N (default cuda when TorchSharp has a CUDA backend, else cpu).</summary>
    public static Option<string?> DeviceOption() => CliOption.Text("--device", "D", "cpu, cuda or cuda:N (default cuda when available)");

    /// <summary>--max-utterances N (at least 1), null when absent.</summary>
    public static Option<int?> MaxUtterancesOption(string description) => CliOption.OptionalInt("--max-utterances", description, 1, int.MaxValue);

    /// <summary>The option-value spelling of a precision (float32, bfloat16), as reports and recipes show it.</summary>
    public static string Name(OptimizerStatePrecision precision) => precision.ToString().ToLowerInvariant();

    /// <summary>cpu, cuda or cuda:N; default cuda when TorchSharp has a CUDA backend, else cpu.</summary>
    public static torch.Device ParseDevice(string? text)
    {
        if (text is null) return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (text == "cpu") return torch.CPU;
        if (EmotionRecognizerOptions.IsDeviceName(text))
        {
            if (!torch.cuda.is_available())
                throw new UsageException($"--device {text}: no CUDA device is available to TorchSharp here (a CUDA build needs the TorchSharp-cuda-* backend package and an NVIDIA driver)");
            return torch.device(text);
        }
        throw new UsageException($"--device expects cpu, cuda or cuda:N, got '{text}'");
    }
}
