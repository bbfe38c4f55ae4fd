using System.Globalization;
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

internal static class TrainingArgs
{
    /// <summary>The options' help text, indented for a command's Options section.</summary>
    public const string Help = """
          --backbone DIR          pretrained wav2vec 2.0 in HF layout (config.json + model.safetensors or
                                  pytorch_model.bin), e.g. a download of facebook/wav2vec2-base (required)
          --alpha A               weight of the CTC loss in L = CE + A*CTC (default 0.1; 0 = emotion only)
          --lr X                  peak learning rate (default 5e-5, or 1e-5 when --alpha 0)
          --epochs N              epochs per fold (default 30); the best on validation (UA) is kept
          --batch-size N          utterances per forward pass (default 8)
          --accumulate N          forward passes per update (default 1; effective batch = batch-size * N)
          --max-batch-seconds S   cap the padded audio of a forward pass, for long utterances on small GPUs
          --crop-seconds S        randomly crop training utterances longer than S seconds (default: off)
          --select M              validation metric that picks the epoch: ua (default), wa, f1, wer
          --pooling P             emotion head pooling over frames: sum (the paper, default) or mean
          --train-feature-encoder also fine-tune the convolutional feature encoder (default: frozen)
          --dtype D               float32 (default) or bfloat16: bfloat16 trains the backbone in mixed precision
                                  (bfloat16 products, float32 weights and update); faster on CPUs with AVX-512 BF16
                                  or AMX and on Ampere+ GPUs
          --optimizer-state P     float32 (default) or bfloat16: AdamW's moments; bfloat16 (stochastic rounding)
                                  needs ~360 MB less for wav2vec2-base
          --gradient-checkpointing recompute each transformer layer in the backward pass instead of keeping its
                                  activations: less memory, one more transformer forward per step, same gradients
          --seed N                seed of data order, dropout, head initialisation and validation split (default 0)
          --device D              cpu, cuda or cuda:N (default cuda when available)
          --checkpoint-every N    also write a resumable checkpoint every N updates (default: each epoch end)
          --cache-gb G            decoded audio kept in memory, GB (default 4; IEMOCAP 4-class needs ~1.6)
          --max-utterances N      use at most N utterances of each split (seeded subset; for smoke tests only)
        """;

    public static TrainingSetup Parse(CliArgs args)
    {
        var backbone = args.Required("backbone");
        var alpha = args.Double("alpha", 0.1, 0, 1e6);
        var lrText = args.Option("lr");
        double? lr = null;
        if (lrText is not null)
        {
            if (!double.TryParse(lrText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0 && v < 1))
                throw new UsageException($"--lr expects a learning rate in (0, 1), got '{lrText}'");
            lr = v;
        }
        var epochs = args.Int("epochs", 30, 1, 100_000);
        var batchSize = args.Int("batch-size", 8, 1, 4096);
        var accumulate = args.Int("accumulate", 1, 1, 4096);
        var maxBatchSeconds = OptionalSeconds(args, "max-batch-seconds");
        var crop = OptionalSeconds(args, "crop-seconds");
        var select = args.Choice("select", "ua", "ua", "wa", "f1", "wer") switch
        {
            "wa" => SelectionMetric.WeightedAccuracy,
            "f1" => SelectionMetric.MacroF1,
            "wer" => SelectionMetric.WordErrorRate,
            _ => SelectionMetric.UnweightedAccuracy,
        };
        var pooling = args.Choice("pooling", "sum", "sum", "mean") == "mean" ? Pooling.Mean : Pooling.Sum;
        var trainEncoder = args.Flag("train-feature-encoder");
        var compute = args.Choice("dtype", "float32", "float32", "bfloat16") == "bfloat16" ? ComputePrecision.BFloat16 : ComputePrecision.Float32;
        var optimizerState = OptimizerState(args);
        var checkpointing = args.Flag("gradient-checkpointing");
        var seed = args.Int("seed", 0, 0, int.MaxValue);
        var device = ParseDevice(args.Option("device"));
        var checkpointEvery = args.Int("checkpoint-every", 0, 0, int.MaxValue);
        var cacheGb = args.Double("cache-gb", 4, 0, 1 << 20);
        var maxUtterances = MaxUtterances(args);

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
            ["backbone"] = Path.GetFullPath(backbone),
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
    public static OptimizerStatePrecision OptimizerState(CliArgs args) =>
        args.Choice("optimizer-state", "float32", "float32", "bfloat16") == "bfloat16" ? OptimizerStatePrecision.BFloat16 : OptimizerStatePrecision.Float32;

    /// <summary>The option-value spelling of a precision (float32, bfloat16), as reports and recipes show it.</summary>
    public static string Name(OptimizerStatePrecision precision) => precision.ToString().ToLowerInvariant();

    /// <summary>cpu, cuda or cuda:N; default cuda when TorchSharp has a CUDA backend, else cpu.</summary>
    public static torch.Device ParseDevice(string? text)
    {
        if (text is null) return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (text == "cpu") return torch.CPU;
        if (text == "cuda" || (text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            if (!torch.cuda.is_available())
                throw new UsageException($"--device {text}: no CUDA device is available to TorchSharp here (a CUDA build needs the TorchSharp-cuda-* backend package and an NVIDIA driver)");
            return torch.device(text);
        }
        throw new UsageException($"--device expects cpu, cuda or cuda:N, got '{text}'");
    }

    /// <summary>--max-utterances N, or null when absent.</summary>
    public static int? MaxUtterances(CliArgs args)
    {
        var text = args.Option("max-utterances");
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1)
            throw new UsageException($"--max-utterances expects a whole number >= 1, got '{text}'");
        return n;
    }

    /// <summary>--NAME S as seconds > 0, or null when absent.</summary>
    public static double? OptionalSeconds(CliArgs args, string name)
    {
        var text = args.Option(name);
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0 && v < 1e6))
            throw new UsageException($"--{name} expects a number of seconds > 0, got '{text}'");
        return v;
    }
}
