using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SerMtl.Batching;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>
/// Fluent set-up of a <see cref="SerTrainer"/>, started by <see cref="SerTrainer.For"/>. Every setting starts at the
/// paper's value (see <see cref="TrainingOptions"/>), so <c>SerTrainer.For(model).Build()</c> is a complete recipe;
/// each method changes one choice and returns the builder. Values are checked by <see cref="Build"/>.
/// </summary>
/// <example>
/// <code>
/// var trainer = SerTrainer.For(model)
///     .WithAlpha(0.01)
///     .WithEpochs(20)
///     .WithBatchSize(4, gradientAccumulationSteps: 2)
///     .WithCheckpoints("runs/ses01f")
///     .Build();
/// TrainingResult result = trainer.Train(fold.Train, fold.Validation, cancellationToken);
/// </code>
/// </example>
public sealed class SerTrainerBuilder
{
    private readonly SerMtlModel _model;
    private TrainingOptions _options = new();
    private string? _checkpointDirectory;
    private Device? _device;
    private ILogger _logger = NullLogger.Instance;
    private IProgress<TrainingProgress>? _progress;
    private TrainingCallbacks _callbacks = new();
    private WaveformStore? _store;
    private Func<int, int, bool>? _injectNonFiniteLoss;

    internal SerTrainerBuilder(SerMtlModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>The options as set so far.</summary>
    public TrainingOptions Options => _options;

    /// <summary>The hooks set so far (<see cref="WithCallbacks"/>), e.g. to wrap them in hooks of your own.</summary>
    public TrainingCallbacks Callbacks => _callbacks;

    /// <summary>Replaces every option at once (e.g. options kept from an earlier run).</summary>
    public SerTrainerBuilder WithOptions(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        return this;
    }

    /// <summary>Changes options with a <c>with</c> expression, e.g. <c>o =&gt; o with { WarmupRatio = 0.05 }</c>.</summary>
    public SerTrainerBuilder WithOptions(Func<TrainingOptions, TrainingOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _options = change(_options) ?? throw new ArgumentException("the change returned null", nameof(change));
        return this;
    }

    /// <summary>Weight α of the CTC loss in L = CE + α·CTC (0 trains the emotion head alone). Default 0.1.</summary>
    public SerTrainerBuilder WithAlpha(double alpha) => Set(_options with { Alpha = alpha });

    /// <summary>Peak learning rate. Default 5e-5, or 1e-5 when α = 0.</summary>
    public SerTrainerBuilder WithLearningRate(double learningRate) => Set(_options with { LearningRate = learningRate });

    /// <summary>AdamW's moment decay rates and ε. Defaults 0.9, 0.999, 1e-8.</summary>
    public SerTrainerBuilder WithAdamW(double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) =>
        Set(_options with { Beta1 = beta1, Beta2 = beta2, AdamEpsilon = epsilon });

    /// <summary>Decoupled weight decay of weight matrices (never of biases and norms). Default 0.01.</summary>
    public SerTrainerBuilder WithWeightDecay(double weightDecay) => Set(_options with { WeightDecay = weightDecay });

    /// <summary>Share of the updates spent on linear warm-up before linear decay. Default 0.1.</summary>
    public SerTrainerBuilder WithWarmupRatio(double ratio) => Set(_options with { WarmupRatio = ratio });

    /// <summary>Passes over the training set. Default 30.</summary>
    public SerTrainerBuilder WithEpochs(int epochs) => Set(_options with { Epochs = epochs });

    /// <summary>Utterances per forward pass and forward passes per update (effective batch = product). Default 8 × 1.</summary>
    public SerTrainerBuilder WithBatchSize(int batchSize, int gradientAccumulationSteps = 1) =>
        Set(_options with { BatchSize = batchSize, GradientAccumulationSteps = gradientAccumulationSteps });

    /// <summary>Clips the gradient's global L2 norm; null turns clipping off. Default 1.0.</summary>
    public SerTrainerBuilder WithGradientClipping(double? maxNorm) => Set(_options with { MaxGradientNorm = maxNorm });

    /// <summary>Whether the convolutional feature encoder stays fixed. Default true.</summary>
    public SerTrainerBuilder WithFrozenFeatureEncoder(bool frozen = true) => Set(_options with { FreezeFeatureEncoder = frozen });

    /// <summary>Trains the backbone in bfloat16 mixed precision (float32 weights and update) or float32 (the default).</summary>
    public SerTrainerBuilder WithComputePrecision(ComputePrecision precision) => Set(_options with { ComputePrecision = precision });

    /// <summary>Stores AdamW's moments in bfloat16 (stochastic rounding) or float32 (the default); bfloat16 halves the optimizer's memory.</summary>
    public SerTrainerBuilder WithOptimizerState(OptimizerStatePrecision precision) => Set(_options with { OptimizerStatePrecision = precision });

    /// <summary>Recomputes each transformer layer in the backward pass instead of keeping its activations (less memory, one more forward). Default off.</summary>
    public SerTrainerBuilder WithGradientCheckpointing(bool enabled = true) => Set(_options with { GradientCheckpointing = enabled });

    /// <summary>Bounds the padded audio of a forward pass (longest × count), in seconds; batches group similar lengths. Default: no bound.</summary>
    public SerTrainerBuilder WithMaxBatchSeconds(double? seconds) => Set(_options with { MaxBatchSeconds = seconds });

    /// <summary>Crops training utterances longer than <paramref name="maxSeconds"/> at a random offset; null turns it off (the default).</summary>
    public SerTrainerBuilder WithRandomCrop(double? maxSeconds) => Set(_options with { RandomCropSeconds = maxSeconds });

    /// <summary>Seed of data order, crops, dropout and SpecAugment. Default 0.</summary>
    public SerTrainerBuilder WithSeed(int seed) => Set(_options with { Seed = seed });

    /// <summary>The validation metric that picks the kept epoch. Default unweighted accuracy.</summary>
    public SerTrainerBuilder WithSelectionMetric(SelectionMetric metric) => Set(_options with { SelectionMetric = metric });

    /// <summary>How CTC losses of a batch combine. Default <see cref="CtcReduction.Sum"/>.</summary>
    public SerTrainerBuilder WithCtcReduction(CtcReduction reduction) => Set(_options with { CtcReduction = reduction });

    /// <summary>Updates in a row with a non-finite loss (each skipped) before training stops. Default 10.</summary>
    public SerTrainerBuilder WithNonFiniteLossLimit(int consecutiveSteps) => Set(_options with { MaxConsecutiveNonFiniteSteps = consecutiveSteps });

    /// <summary>Bytes of decoded audio kept in memory (0: none). Default 4 GiB.</summary>
    public SerTrainerBuilder WithAudioCache(long maxBytes) => Set(_options with { AudioCacheBytes = maxBytes });

    /// <summary>
    /// Writes a resumable checkpoint (<c>DIRECTORY/checkpoint.safetensors</c>) at every epoch end, every
    /// <paramref name="everySteps"/> updates if positive, and on cancellation, and the best model to
    /// <c>DIRECTORY/best/</c>. A checkpoint found there at the start of training is resumed.
    /// </summary>
    public SerTrainerBuilder WithCheckpoints(string directory, int everySteps = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _checkpointDirectory = directory;
        return Set(_options with { CheckpointEverySteps = everySteps });
    }

    /// <summary>The device to train on; the model is moved there once. Default CUDA when available, else CPU.</summary>
    public SerTrainerBuilder WithDevice(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        return this;
    }

    /// <summary>Where log messages go (per epoch, checkpoints, skipped updates, data issues). Default: nowhere.</summary>
    public SerTrainerBuilder WithLogger(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        return this;
    }

    /// <summary>Receives a report after every update and validation batch (on the training thread).</summary>
    public SerTrainerBuilder WithProgress(IProgress<TrainingProgress> progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        _progress = progress;
        return this;
    }

    /// <summary>Hooks called at epoch end, after validation and after each checkpoint.</summary>
    public SerTrainerBuilder WithCallbacks(TrainingCallbacks callbacks)
    {
        ArgumentNullException.ThrowIfNull(callbacks);
        _callbacks = callbacks;
        return this;
    }

    /// <summary>
    /// Shares decoded audio with other trainers (cross-validation folds over one corpus); its sample rate must be the
    /// model's. Default: a store of <see cref="TrainingOptions.AudioCacheBytes"/> for this trainer alone.
    /// </summary>
    public SerTrainerBuilder WithWaveformStore(WaveformStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.SampleRate != _model.Backbone.Preprocessing.SamplingRate)
            throw new ArgumentException($"the store decodes to {store.SampleRate} Hz, the model expects {_model.Backbone.Preprocessing.SamplingRate} Hz", nameof(store));
        _store = store;
        return this;
    }

    /// <summary>Test hook: when it returns true for (epoch, forward pass), that pass's loss is made NaN.</summary>
    internal SerTrainerBuilder WithInjectedNonFiniteLoss(Func<int, int, bool> inject)
    {
        _injectNonFiniteLoss = inject;
        return this;
    }

    /// <summary>Checks the options and creates the trainer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public SerTrainer Build()
    {
        _options.Validate();
        var device = _device ?? (cuda.is_available() ? CUDA : CPU);
        var store = _store ?? new WaveformStore(_model.Backbone.Preprocessing.SamplingRate, _options.AudioCacheBytes);
        return new SerTrainer(_model, _options, _checkpointDirectory, device, _logger, _progress, _callbacks, store, _injectNonFiniteLoss);
    }

    private SerTrainerBuilder Set(TrainingOptions options)
    {
        _options = options;
        return this;
    }
}
