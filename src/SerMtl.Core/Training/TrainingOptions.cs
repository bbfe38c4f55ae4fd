using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SerMtl.Training;

/// <summary>The validation metric that picks the best epoch.</summary>
public enum SelectionMetric
{
    /// <summary>Unweighted accuracy (mean per-class recall), higher is better. The default, as class sizes differ.</summary>
    UnweightedAccuracy,

    /// <summary>Weighted accuracy (correct / total), higher is better.</summary>
    WeightedAccuracy,

    /// <summary>Macro F1, higher is better.</summary>
    MacroF1,

    /// <summary>Word error rate of the greedy CTC transcripts, lower is better.</summary>
    WordErrorRate,
}

/// <summary>The number format the backbone computes in during training.</summary>
public enum ComputePrecision
{
    /// <summary>float32 throughout. The default.</summary>
    Float32,

    /// <summary>
    /// bfloat16 mixed precision (what PyTorch's autocast does, which TorchSharp lacks): the backbone's matrix products
    /// and convolutions run in bfloat16 while the weights, their gradients and AdamW's update stay float32; norms and
    /// softmax accumulate in float32, and the heads and losses see float32. Faster where bfloat16 is (CPUs with
    /// AVX-512 BF16 or AMX, CUDA GPUs from Ampere on), slower elsewhere. Validation runs in float32.
    /// </summary>
    BFloat16,
}

/// <summary>The number format of AdamW's two moment estimates.</summary>
public enum OptimizerStatePrecision
{
    /// <summary>float32, as PyTorch keeps them (8 bytes per trained parameter). The default.</summary>
    Float32,

    /// <summary>
    /// bfloat16 with stochastic rounding (4 bytes per trained parameter: about 360 MB less for wav2vec2-base). The
    /// update itself runs in float32; only the stored moments lose precision, and rounding at random (unbiased) keeps
    /// the second moment's 0.1 %-a-step changes that rounding to nearest would drop.
    /// </summary>
    BFloat16,
}

/// <summary>
/// Everything that decides what fine-tuning computes, with the paper's defaults (Cai et al., 2021): L = CE + 0.1·CTC,
/// AdamW (β 0.9/0.999, ε 1e-8) at 5e-5 (1e-5 when α = 0) with linear warm-up over the first 10 % of updates then
/// linear decay, effective batch 8, the convolutional feature encoder frozen. Build one with
/// <see cref="SerTrainerBuilder"/> or a <c>with</c> expression; <see cref="Validate"/> checks the ranges.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>The paper's learning rate when the CTC term is used.</summary>
    public const double MultiTaskLearningRate = 5e-5;

    /// <summary>The paper's learning rate for α = 0 (emotion only).</summary>
    public const double EmotionOnlyLearningRate = 1e-5;

    /// <summary>Weight α of the CTC term in L = CE + α·CTC. Default 0.1.</summary>
    public double Alpha { get; init; } = 0.1;

    /// <summary>Peak learning rate; null (default) means <see cref="MultiTaskLearningRate"/>, or <see cref="EmotionOnlyLearningRate"/> when α = 0.</summary>
    public double? LearningRate { get; init; }

    /// <summary>AdamW β1. Default 0.9.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β2. Default 0.999.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW ε. Default 1e-8.</summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Decoupled weight decay of weight matrices; biases, norms and the mask embedding are never decayed. Default 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Share of all optimizer updates spent warming the learning rate up from 0; it then decays linearly to 0. Default 0.1.</summary>
    public double WarmupRatio { get; init; } = 0.1;

    /// <summary>Passes over the training set. Default 30 (the paper does not state its count; validation picks the epoch).</summary>
    public int Epochs { get; init; } = 30;

    /// <summary>Utterances per forward pass (fewer when <see cref="MaxBatchSeconds"/> cuts a batch). Default 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Forward passes whose gradients add up to one optimizer update. Default 1 (effective batch 8).</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Clip the gradient's global L2 norm to this value before each update; null turns clipping off. Default 1.0.</summary>
    public double? MaxGradientNorm { get; init; } = 1.0;

    /// <summary>Keep the convolutional feature encoder fixed (as wav2vec 2.0 fine-tuning does). Default true.</summary>
    public bool FreezeFeatureEncoder { get; init; } = true;

    /// <summary>Number format of the backbone's training computation. Default <see cref="Training.ComputePrecision.Float32"/>.</summary>
    public ComputePrecision ComputePrecision { get; init; } = ComputePrecision.Float32;

    /// <summary>Number format of AdamW's moments. Default <see cref="Training.OptimizerStatePrecision.Float32"/>.</summary>
    public OptimizerStatePrecision OptimizerStatePrecision { get; init; } = OptimizerStatePrecision.Float32;

    /// <summary>
    /// Keep only each transformer layer's input during the forward pass and recompute the layer in the backward pass
    /// ("gradient checkpointing"): the transformer's saved activations shrink from every intermediate of 12 layers to
    /// one layer's, for one more forward pass of the transformer per step. Dropout masks are recomputed identically,
    /// so the gradients are those of the plain pass. Default false.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    /// <summary>
    /// Upper bound on the padded audio of one forward pass (longest utterance × utterances), in seconds, so batches of
    /// long utterances fit the accelerator; batches are built from utterances of similar length. Null (default): only
    /// <see cref="BatchSize"/> limits a batch. An utterance longer than the bound alone still forms a batch.
    /// </summary>
    public double? MaxBatchSeconds { get; init; }

    /// <summary>
    /// When set, a training utterance longer than this many seconds is cut to that length at a random offset (a new
    /// offset every epoch). Validation and test always see whole utterances. Null (default): off.
    /// </summary>
    public double? RandomCropSeconds { get; init; }

    /// <summary>Seed of the data order, crops, dropout and SpecAugment. Same seed, data and options: same weights. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>The validation metric that picks the best epoch. Default <see cref="SelectionMetric.UnweightedAccuracy"/>.</summary>
    public SelectionMetric SelectionMetric { get; init; } = SelectionMetric.UnweightedAccuracy;

    /// <summary>How CTC losses of a batch combine. Default <see cref="Training.CtcReduction.Sum"/> (HuggingFace's).</summary>
    public CtcReduction CtcReduction { get; init; } = CtcReduction.Sum;

    /// <summary>Write a resumable checkpoint every this many optimizer updates as well as at each epoch end; 0 (default): epoch ends only.</summary>
    public int CheckpointEverySteps { get; init; }

    /// <summary>Updates in a row whose loss or gradient is NaN or infinite (each skipped) before training stops with an error. Default 10.</summary>
    public int MaxConsecutiveNonFiniteSteps { get; init; } = 10;

    /// <summary>
    /// Decoded waveforms are kept in memory up to this many bytes (float32 at 16 kHz is 64 kB per second; the
    /// IEMOCAP 4-class set is about 1.6 GB); utterances beyond it are decoded again each time they are used.
    /// 0 turns caching off. Default 4 GiB.
    /// </summary>
    public long AudioCacheBytes { get; init; } = 4L << 30;

    /// <summary>The learning rate in effect: <see cref="LearningRate"/>, or the paper's default for <see cref="Alpha"/>.</summary>
    [JsonIgnore]
    public double EffectiveLearningRate => LearningRate ?? (Alpha == 0 ? EmotionOnlyLearningRate : MultiTaskLearningRate);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object? value, string expected)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} must be {expected}");
        }

        Check(double.IsFinite(Alpha) && Alpha >= 0, nameof(Alpha), Alpha, "a finite number >= 0");
        Check(LearningRate is null || (double.IsFinite(LearningRate.Value) && LearningRate > 0), nameof(LearningRate), LearningRate, "a finite number > 0");
        Check(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1, "in [0, 1)");
        Check(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2, "in [0, 1)");
        Check(AdamEpsilon > 0 && double.IsFinite(AdamEpsilon), nameof(AdamEpsilon), AdamEpsilon, "a finite number > 0");
        Check(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "a finite number >= 0");
        Check(WarmupRatio is >= 0 and <= 1, nameof(WarmupRatio), WarmupRatio, "in [0, 1]");
        Check(Epochs >= 1, nameof(Epochs), Epochs, ">= 1");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, ">= 1");
        Check(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), GradientAccumulationSteps, ">= 1");
        Check(MaxGradientNorm is null || (MaxGradientNorm > 0 && double.IsFinite(MaxGradientNorm.Value)), nameof(MaxGradientNorm), MaxGradientNorm, "null or a finite number > 0");
        Check(MaxBatchSeconds is null || (MaxBatchSeconds > 0 && double.IsFinite(MaxBatchSeconds.Value)), nameof(MaxBatchSeconds), MaxBatchSeconds, "null or a finite number of seconds > 0");
        Check(RandomCropSeconds is null || (RandomCropSeconds > 0 && double.IsFinite(RandomCropSeconds.Value)), nameof(RandomCropSeconds), RandomCropSeconds, "null or a finite number of seconds > 0");
        Check(Enum.IsDefined(SelectionMetric), nameof(SelectionMetric), SelectionMetric, "a defined metric");
        Check(Enum.IsDefined(CtcReduction), nameof(CtcReduction), CtcReduction, "a defined reduction");
        Check(Enum.IsDefined(ComputePrecision), nameof(ComputePrecision), ComputePrecision, "a defined precision");
        Check(Enum.IsDefined(OptimizerStatePrecision), nameof(OptimizerStatePrecision), OptimizerStatePrecision, "a defined precision");
        Check(CheckpointEverySteps >= 0, nameof(CheckpointEverySteps), CheckpointEverySteps, ">= 0");
        Check(MaxConsecutiveNonFiniteSteps >= 1, nameof(MaxConsecutiveNonFiniteSteps), MaxConsecutiveNonFiniteSteps, ">= 1");
        Check(AudioCacheBytes >= 0, nameof(AudioCacheBytes), AudioCacheBytes, ">= 0");
    }

    /// <summary>
    /// The options that change the trained weights, as stable text: a checkpoint written under other values is not
    /// resumed. Operational settings (checkpoint interval, cache size, the non-finite limit, gradient checkpointing,
    /// which gives the same gradients) are left out.
    /// </summary>
    internal string Recipe() =>
        JsonSerializer.Serialize(this with { CheckpointEverySteps = 0, AudioCacheBytes = 0, MaxConsecutiveNonFiniteSteps = 1, GradientCheckpointing = false, LearningRate = EffectiveLearningRate },
            RecipeJson);

    /// <summary>A short description for logs: α, learning rate, epochs, batch.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"alpha {Alpha}, lr {EffectiveLearningRate:0.##e+0}, {Epochs} epochs, batch {BatchSize}x{GradientAccumulationSteps}, seed {Seed}");

    private static readonly JsonSerializerOptions RecipeJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
    };
}
