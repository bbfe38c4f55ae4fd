using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Fold = SerMtl.Data.Protocols.Fold;
using Microsoft.Extensions.Logging;
using SerMtl.Batching;
using SerMtl.Checkpoints;
using SerMtl.Data.Corpora;
using SerMtl.Data.Protocols;
using SerMtl.Evaluation;
using SerMtl.Kernels;
using SerMtl.Modeling;
using SerMtl.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>
/// Fine-tunes a <see cref="SerMtlModel"/> on L = CE + α·CTC as Cai et al. (2021) do, evaluating a validation split
/// after every epoch and keeping the best epoch's weights. Create one with <see cref="For"/>.
/// </summary>
/// <remarks>
/// <para>Reproducible: the data order and crops depend only on the seed and the epoch, and torch's random generator
/// (dropout, LayerDrop, SpecAugment) is re-seeded from (seed, epoch, forward pass) before every forward pass, so a run
/// that is interrupted and resumed ends with the same weights as one that is not (on CPU bit for bit; CUDA kernels
/// may add their own non-determinism). The re-seeding sets torch's global generator: do not train two models on one
/// process concurrently if they must be reproducible.</para>
/// <para>With a checkpoint directory, <see cref="Train(IReadOnlyList{SpeechSample}, IReadOnlyList{SpeechSample}?, CancellationToken)"/>
/// resumes from the checkpoint it finds there, and cancelling it writes one first. Memory stays flat across epochs:
/// every forward pass and update runs in its own dispose scope.</para>
/// </remarks>
public sealed class SerTrainer
{
    private const string BestFolder = "best";
    private const string BestWeightsFile = "model.safetensors"; // what SerMtlModel.Save writes

    private readonly ILogger _logger;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly TrainingCallbacks _callbacks;
    private readonly WaveformStore _store;
    private readonly Func<int, int, bool>? _injectNonFiniteLoss;
    // Gives freed native memory back after a pass much larger than usual (SerMtl's bounded native memory policy).
    private readonly RetainedMemoryGuard _retained = new();
    private long _lastPassSamples;

    internal SerTrainer(SerMtlModel model, TrainingOptions options, string? checkpointDirectory, Device device, ILogger logger,
        IProgress<TrainingProgress>? progress, TrainingCallbacks callbacks, WaveformStore store, Func<int, int, bool>? injectNonFiniteLoss)
    {
        Model = model;
        Options = options;
        CheckpointDirectory = checkpointDirectory is null ? null : Path.GetFullPath(checkpointDirectory);
        Device = device;
        _logger = logger;
        _progress = progress;
        _callbacks = callbacks;
        _store = store;
        _injectNonFiniteLoss = injectNonFiniteLoss;
    }

    /// <summary>Starts setting up a trainer for <paramref name="model"/> with the paper's defaults.</summary>
    public static SerTrainerBuilder For(SerMtlModel model) => new(model);

    /// <summary>The model being trained; after training it holds the best epoch's weights and is in evaluation mode.</summary>
    public SerMtlModel Model { get; }

    /// <summary>The training options.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Where checkpoints and the best model go, or null for none.</summary>
    public string? CheckpointDirectory { get; }

    /// <summary>The resumable checkpoint file, or null without a checkpoint directory.</summary>
    public string? CheckpointPath => CheckpointDirectory is null ? null : Path.Combine(CheckpointDirectory, TrainerCheckpoint.FileName);

    /// <summary>Where the best epoch's model is saved (a <see cref="SerMtlModel.Load"/> directory), or null without a checkpoint directory.</summary>
    public string? BestModelDirectory => CheckpointDirectory is null ? null : Path.Combine(CheckpointDirectory, BestFolder);

    /// <summary>The device training runs on.</summary>
    public Device Device { get; }

    /// <summary>Trains on a fold's training split, selecting the epoch on its validation split (never its test split).</summary>
    public TrainingResult Train(Fold fold, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fold);
        return Train(fold.Train, fold.Validation, cancellationToken);
    }

    /// <summary>
    /// Trains on <paramref name="train"/> for <see cref="TrainingOptions.Epochs"/> epochs, evaluating
    /// <paramref name="validation"/> after each and keeping the best epoch's weights (the last epoch's when there is no
    /// validation split). Resumes from <see cref="CheckpointPath"/> when it exists.
    /// </summary>
    /// <exception cref="ArgumentException">No training samples, a label the model does not know, or audio too short for the model.</exception>
    /// <exception cref="InvalidDataException">An audio file or the checkpoint cannot be read.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint was written for other options or data.</exception>
    /// <exception cref="NonFiniteLossException">Too many updates in a row had a non-finite loss.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; with a checkpoint directory, a checkpoint to resume from was written first.</exception>
    /// <exception cref="IOException">Another training run (in this process or another) is using the checkpoint directory.</exception>
    public TrainingResult Train(IReadOnlyList<SpeechSample> train, IReadOnlyList<SpeechSample>? validation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        validation ??= [];
        if (train.Count == 0) throw new ArgumentException("no training samples", nameof(train));
        using var directoryLock = CheckpointDirectory is null ? null : LockDirectory(CheckpointDirectory);
        var checkpointing = Model.Backbone.GradientCheckpointing;
        var run = Prepare(train, validation, cancellationToken);
        using var optimizer = run.Optimizer;
        Dictionary<string, Tensor>? bestInMemory = null;
        try
        {
            var state = new TrainerState { Recipe = Options.Recipe(), Data = Fingerprint(train, validation), Epoch = 0, Batch = 0, Step = 0 };
            var resumedFrom = 0;
            if (CheckpointPath is { } checkpoint && File.Exists(checkpoint))
            {
                CheckResumable(checkpoint, state);
                state = TrainerCheckpoint.Load(checkpoint, Model, optimizer);
                resumedFrom = state.Epoch;
                if (state.Epoch >= Options.Epochs)
                {
                    TrainingLog.AlreadyFinished(_logger, checkpoint, state.Epoch);
                    return Finish(state, resumedFrom, null);
                }
                TrainingLog.Resumed(_logger, checkpoint, state.Epoch, state.Step);
            }
            TrainingLog.Started(_logger, Device.ToString(), run.TrainSet.Count, run.TrainSet.Seconds(_store.SampleRate) / 3600,
                run.ValidationSet?.Count ?? 0, Options.ToString(), run.TotalSteps);
            MaterializeGradients(run.Trainable);

            for (var epoch = state.Epoch + 1; epoch <= Options.Epochs; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                var (trained, accumulator) = TrainEpoch(run, state, epoch, epochClock, cancellationToken);
                state = EndEpoch(run, trained, epoch, accumulator, epochClock, ref bestInMemory, cancellationToken);
            }
            return Finish(state, resumedFrom, bestInMemory);
        }
        finally
        {
            DisposeAll(bestInMemory);
            Model.Backbone.GradientCheckpointing = checkpointing;
        }
    }

    /// <summary>What one call of <see cref="Train(IReadOnlyList{SpeechSample}, IReadOnlyList{SpeechSample}?, CancellationToken)"/> works with.</summary>
    /// <param name="TrainSet">The encoded training utterances.</param>
    /// <param name="ValidationSet">The encoded validation utterances, or null without validation.</param>
    /// <param name="Crop">Random-crop length in samples, or null.</param>
    /// <param name="MaxBatchSamples">Padded samples a forward pass may hold, or null.</param>
    /// <param name="Plans">Each epoch's batches (indices into <paramref name="TrainSet"/>), fixed by seed and epoch.</param>
    /// <param name="TotalSteps">Optimizer updates over all epochs.</param>
    /// <param name="Schedule">The warm-up and decay of the learning rate.</param>
    /// <param name="Loss">CE + α·CTC.</param>
    /// <param name="Optimizer">AdamW over the trainable parameters (the caller disposes it).</param>
    /// <param name="Trainable">The parameters gradient clipping looks at.</param>
    /// <param name="Clock">Time since training started, for progress reports.</param>
    private sealed record TrainingRun(UtteranceSet TrainSet, UtteranceSet? ValidationSet, int? Crop, long? MaxBatchSamples, IReadOnlyList<int[]>[] Plans,
        long TotalSteps, LinearWarmupSchedule Schedule, MultiTaskLoss Loss, AdamW Optimizer, Parameter[] Trainable, Stopwatch Clock);

    /// <summary>The lock file a training run holds in its checkpoint directory.</summary>
    public const string LockFileName = ".sermtl-lock";

    /// <summary>
    /// Takes the checkpoint directory for this run: an exclusive lock (flock on Linux and macOS, a share-none handle on
    /// Windows) on a lock file, held until training returns and released by the system when the process dies however
    /// it dies, so a killed run leaves nothing stale. A second run on the directory, in this process or another, is
    /// refused before it reads or writes anything there.
    /// </summary>
    /// <exception cref="IOException">Another run holds the directory.</exception>
    private static FileStream LockDirectory(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, LockFileName);
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            stream.Write(pid);
            stream.Flush();
            return stream;
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            string holder;
            try
            {
                using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var text = new StreamReader(reader);
                holder = text.ReadToEnd().Trim();
            }
            catch (IOException)
            {
                holder = "";
            }
            throw new IOException($"{directory} is in use by another training run{(holder.Length > 0 ? $" (process {holder})" : "")}; wait for it to finish, or train into another directory", e);
        }
    }

    /// <summary>
    /// Gives every trainable parameter a zero gradient before the first update. <c>zero_grad</c> zeroes gradients in
    /// place, so once a parameter has had a backward pass it keeps a gradient and AdamW steps it at every update (a
    /// layer LayerDrop skipped steps with a zero gradient: decay and momentum). A parameter that has never had one is
    /// skipped instead (no step at all). Without this, a run resumed in a fresh process whose first update drops a layer
    /// would skip that layer's parameters where the uninterrupted run stepped them, and end with other weights.
    /// </summary>
    private static void MaterializeGradients(Parameter[] trainable)
    {
        using var scope = NewDisposeScope();
        var missing = trainable.Where(p => p.grad is null).ToArray();
        if (missing.Length == 0) return;
        using var grad = enable_grad();
        var zero = missing.Select(p => p.sum() * Scalars.Of(0.0)).Aggregate((a, b) => a.add(b, Scalars.Of(1L))); // d/dp = 0 everywhere
        zero.backward();
    }

    /// <summary>Moves the model, encodes the splits, plans every epoch's batches and creates the optimizer.</summary>
    private TrainingRun Prepare(IReadOnlyList<SpeechSample> train, IReadOnlyList<SpeechSample> validation, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = Options;
        Report(new TrainingProgress(TrainingPhase.Preparing, 0, options.Epochs, 0, 0, 0, 0, null, 0, clock.Elapsed));

        _ = Model.to(Device);
        if (options.FreezeFeatureEncoder) Model.Backbone.FreezeFeatureEncoder();
        Model.Backbone.GradientCheckpointing = options.GradientCheckpointing;
        var trainSet = UtteranceSet.Prepare("train", train, Model, _store, cancellationToken);
        var validationSet = validation.Count > 0 ? UtteranceSet.Prepare("validation", validation, Model, _store, cancellationToken) : null;
        LogDataIssues(trainSet);
        if (validationSet is not null) LogDataIssues(validationSet);
        else TrainingLog.NoValidation(_logger);
        if (_store.CachedCount > 0) TrainingLog.AudioCached(_logger, _store.CachedCount, _store.CachedBytes / 1e6);
        foreach (var warning in _store.Warnings.Order(StringComparer.Ordinal)) TrainingLog.AudioWarning(_logger, warning);

        var sampleRate = _store.SampleRate;
        var crop = options.RandomCropSeconds is { } c ? Math.Max((int)Math.Round(c * sampleRate), Model.Backbone.Config.ReceptiveField) : (int?)null;
        var lengths = trainSet.Items.Select(u => crop is { } max ? Math.Min(u.SampleCount, max) : u.SampleCount).ToArray();
        var maxBatchSamples = SerEvaluator.MaxSamples(options.MaxBatchSeconds, sampleRate);
        var plans = Enumerable.Range(1, options.Epochs)
            .Select(e => BatchPlanner.Training(lengths, options.BatchSize, maxBatchSamples, options.Seed, e)).ToArray();
        var totalSteps = plans.Sum(p => (long)Math.Ceiling(p.Count / (double)options.GradientAccumulationSteps));
        var schedule = LinearWarmupSchedule.FromRatio(totalSteps, options.WarmupRatio);
        var optimizer = OptimizerFactory.AdamW(Model, options.EffectiveLearningRate, (options.Beta1, options.Beta2), options.AdamEpsilon,
            options.WeightDecay, options.OptimizerStatePrecision, options.Seed);
        var trainable = Model.parameters().Where(p => p.requires_grad).ToArray();
        return new TrainingRun(trainSet, validationSet, crop, maxBatchSamples, plans, totalSteps, schedule,
            new MultiTaskLoss(options.Alpha, options.CtcReduction) { BlankId = Model.Vocabulary.BlankId }, optimizer, trainable, clock);
    }

    /// <summary>
    /// The updates of <paramref name="epoch"/> from where <paramref name="state"/> left it (a resumed epoch starts
    /// mid-way): returns the state after the last update and the epoch's sums so far.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; a checkpoint at the last update boundary was written first.</exception>
    /// <exception cref="NonFiniteLossException">Too many updates in a row had a non-finite loss.</exception>
    private (TrainerState State, EpochAccumulator Accumulator) TrainEpoch(TrainingRun run, TrainerState state, int epoch, Stopwatch epochClock,
        CancellationToken cancellationToken)
    {
        var options = Options;
        var batches = run.Plans[epoch - 1];
        var accumulator = state.Current;
        var batch = state.Batch;
        Model.train();
        while (batch < batches.Count)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                state = state with { Batch = batch, Current = Elapsed(accumulator, epochClock, training: true) };
                SaveOnCancel(state, run.Optimizer, epoch, "mid-epoch");
                cancellationToken.ThrowIfCancellationRequested();
            }
            var window = Math.Min(options.GradientAccumulationSteps, batches.Count - batch);
            var lr = options.EffectiveLearningRate * run.Schedule.Multiplier(state.Step);
            var finite = true;
            for (var k = 0; k < window && finite; k++)
            {
                finite = ForwardBackward(run.TrainSet, batches[batch + k], epoch, batch + k, run.Crop, window, run.Loss, ref accumulator);
                _retained.After(_lastPassSamples); // the pass's memory is free now: give it back if it was much larger than usual
            }
            finite = Update(run.Optimizer, run.Schedule, run.Trainable, state.Step, finite);
            var consecutive = finite ? 0 : state.ConsecutiveNonFinite + 1;
            state = state with
            {
                Step = state.Step + 1,
                Batch = batch + window,
                SkippedSteps = state.SkippedSteps + (finite ? 0 : 1),
                ConsecutiveNonFinite = consecutive,
            };
            accumulator = accumulator with { LearningRate = lr, SkippedSteps = accumulator.SkippedSteps + (finite ? 0 : 1) };
            batch += window;
            if (!finite)
            {
                TrainingLog.NonFiniteSkipped(_logger, epoch, state.Step, consecutive, options.MaxConsecutiveNonFiniteSteps);
                if (consecutive >= options.MaxConsecutiveNonFiniteSteps)
                    throw new NonFiniteLossException(string.Create(CultureInfo.InvariantCulture,
                        $"training stopped at epoch {epoch}, update {state.Step}: {consecutive} updates in a row had a NaN or infinite loss or gradient (limit {options.MaxConsecutiveNonFiniteSteps}); lower the learning rate or check the data{(CheckpointPath is { } p && File.Exists(p) ? $"; the last good checkpoint is {p}" : "")}"));
            }
            Report(new TrainingProgress(TrainingPhase.Training, epoch, options.Epochs, batch, batches.Count, state.Step, run.TotalSteps,
                accumulator.FinitePasses > 0 ? accumulator.LossSum / accumulator.FinitePasses : null, lr, run.Clock.Elapsed));
            if (options.CheckpointEverySteps > 0 && state.Step % options.CheckpointEverySteps == 0 && batch < batches.Count && CheckpointPath is not null)
            {
                var current = Elapsed(accumulator, epochClock, training: true);
                SaveCheckpoint(state with { Current = current }, run.Optimizer, CheckpointReason.StepInterval);
                // The clock restarts so time is not counted twice once the saved sums include it.
                accumulator = current;
                epochClock.Restart();
            }
        }
        accumulator = Elapsed(accumulator, epochClock, training: true);
        epochClock.Restart();
        return (state, accumulator);
    }

    /// <summary>
    /// Validates after <paramref name="epoch"/>, keeps the model when it is the best so far (in <c>best/</c>, or in
    /// <paramref name="bestInMemory"/> without a checkpoint directory), writes the epoch-end checkpoint, logs and calls
    /// back; returns the state with the epoch done.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled during validation; a checkpoint that starts with the validation was written first.</exception>
    private TrainerState EndEpoch(TrainingRun run, TrainerState state, int epoch, EpochAccumulator accumulator, Stopwatch epochClock,
        ref Dictionary<string, Tensor>? bestInMemory, CancellationToken cancellationToken)
    {
        EvaluationResult? validationResult = null;
        if (run.ValidationSet is not null)
        {
            try
            {
                validationResult = SerEvaluator.EvaluateSet(Model, run.ValidationSet, _store, Options.BatchSize, run.MaxBatchSamples, cancellationToken,
                    new ValidationProgress(this, epoch, state.Step, run.TotalSteps, accumulator.LearningRate, run.Clock));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Training of the epoch is done: the resumed run starts with its validation.
                state = state with { Batch = run.Plans[epoch - 1].Count, Current = Elapsed(accumulator, epochClock, training: false) };
                SaveOnCancel(state, run.Optimizer, epoch, "before validation");
                throw;
            }
            _callbacks.OnEvaluation(epoch, validationResult);
        }
        accumulator = Elapsed(accumulator, epochClock, training: false);

        var score = validationResult is null ? (double?)null : Score(validationResult);
        var isBest = score is { } s && (state.BestScore is not { } b || Better(s, b));
        var summary = Summarize(epoch, state, accumulator, validationResult, isBest);
        if (isBest)
        {
            if (BestModelDirectory is { } bestDirectory) Model.Save(bestDirectory);
            else
            {
                DisposeAll(bestInMemory);
                bestInMemory = Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().clone(), StringComparer.Ordinal);
            }
        }
        state = state with
        {
            Epoch = epoch,
            Batch = 0,
            Current = new EpochAccumulator(),
            History = [.. state.History, summary],
            BestEpoch = isBest ? epoch : state.BestEpoch,
            BestScore = isBest ? score : state.BestScore,
        };
        if (CheckpointPath is not null) SaveCheckpoint(state, run.Optimizer, CheckpointReason.EpochEnd);
        LogEpoch(summary);
        _callbacks.OnEpochEnd(summary);
        return state;
    }

    /// <summary>Evaluates the model on <paramref name="samples"/> with this trainer's device, batch settings and audio cache.</summary>
    /// <exception cref="ArgumentException">No samples, a label the model does not know, or audio too short for the model.</exception>
    public EvaluationResult Evaluate(IReadOnlyList<SpeechSample> samples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        _ = Model.to(Device);
        var set = UtteranceSet.Prepare("evaluation", samples, Model, _store, cancellationToken);
        return SerEvaluator.EvaluateSet(Model, set, _store, Options.BatchSize, SerEvaluator.MaxSamples(Options.MaxBatchSeconds, _store.SampleRate), cancellationToken);
    }

    /// <summary>
    /// One forward pass and its backward pass, in its own dispose scope. The loss is divided by the passes of the update
    /// so accumulated gradients average them. Returns false (and does not back-propagate) when the loss is not finite.
    /// </summary>
    private bool ForwardBackward(UtteranceSet set, int[] batch, int epoch, int pass, int? crop, int passesInUpdate,
        MultiTaskLoss lossFunction, ref EpochAccumulator accumulator)
    {
        using var scope = NewDisposeScope();
        Reseed(epoch, pass);
        var items = batch.Select(i => set.Items[i]).ToArray();
        var waveforms = batch.Select(i => Crop(set.Items[i], i, epoch, crop)).ToList();
        using var inputs = WaveformBatch.Create(waveforms, Model.Backbone.Preprocessing, Device);
        _lastPassSamples = (long)waveforms.Count * waveforms.Max(w => w.Length);
        SerMtlOutput Forward()
        {
            // Mixed precision needs only the forward pass inside: autograd returns float32 gradients to float32 weights.
            using var precision = Options.ComputePrecision == ComputePrecision.BFloat16 ? MixedPrecision.Use(ScalarType.BFloat16) : null;
            return Model.Forward(inputs);
        }
        using var output = Forward();
        var labels = tensor(items.Select(u => (long)u.LabelId).ToArray(), ScalarType.Int64, Device);
        MultiTaskLossResult loss;
        if (Options.Alpha == 0)
        {
            loss = lossFunction.Compute(output.EmotionLogits, labels);
        }
        else
        {
            var targets = tensor(items.SelectMany(u => u.Target).Select(t => (long)t).ToArray(), ScalarType.Int64, Device);    // [sum of lengths]
            var targetLengths = tensor(items.Select(u => (long)u.Target.Length).ToArray(), ScalarType.Int64, Device);          // [B]
            loss = lossFunction.Compute(output.EmotionLogits, labels, output.CtcLogits, output.FrameLengths, targets, targetLengths);
        }
        var total = loss.Total;
        if (_injectNonFiniteLoss?.Invoke(epoch, pass) == true) total = total * Scalars.Of(double.NaN);
        // One host sync per pass: the loss terms, for the log and the finiteness check.
        var terms = (loss.Ctc is null ? stack([total, loss.Emotion]) : stack([total, loss.Emotion, loss.Ctc])).to(ScalarType.Float64).cpu().data<double>().ToArray();
        if (!double.IsFinite(terms[0])) return false;
        (total / Scalars.Of((long)passesInUpdate)).backward();
        RecomputedLayer.ThrowIfRecomputationFailed();
        accumulator = accumulator with
        {
            LossSum = accumulator.LossSum + terms[0],
            CeSum = accumulator.CeSum + terms[1],
            CtcSum = accumulator.CtcSum + (terms.Length > 2 ? terms[2] : 0),
            FinitePasses = accumulator.FinitePasses + 1,
            Utterances = accumulator.Utterances + batch.Length,
        };
        return true;
    }

    /// <summary>Clips and applies the accumulated gradients, or drops them when a loss or the gradient is not finite.</summary>
    private bool Update(AdamW optimizer, LinearWarmupSchedule schedule, Parameter[] trainable, long step, bool finite)
    {
        using var scope = NewDisposeScope();
        if (finite && Options.MaxGradientNorm is { } maxNorm)
            finite = double.IsFinite(nn.utils.clip_grad_norm_(trainable, maxNorm));
        if (finite)
        {
            schedule.Apply(optimizer, step);
            optimizer.step();
        }
        optimizer.zero_grad();
        return finite;
    }

    /// <summary>The waveform of a training utterance, cut to <paramref name="crop"/> samples at an offset fixed by (seed, epoch, utterance).</summary>
    private float[] Crop(EncodedUtterance utterance, int index, int epoch, int? crop)
    {
        var samples = _store.Load(utterance.Sample.AudioPath);
        if (crop is not { } length || samples.Length <= length) return samples;
        var random = DeterministicRandom.For(Options.Seed, string.Create(CultureInfo.InvariantCulture, $"crop/{epoch}/{index}"));
        return samples.AsSpan(random.NextInt(samples.Length - length + 1), length).ToArray();
    }

    /// <summary>Seeds torch's generators from (seed, epoch, pass), so dropout and SpecAugment do not depend on what ran before.</summary>
    private void Reseed(int epoch, int pass)
    {
        var stream = DeterministicRandom.For(Options.Seed, string.Create(CultureInfo.InvariantCulture, $"torch/{epoch}/{pass}"));
        var seed = (long)(stream.NextUInt64() >> 1);
        _ = random.manual_seed(seed);
        if (Device.type == DeviceType.CUDA) cuda.manual_seed_all(seed);
    }

    private double Score(EvaluationResult result) => Options.SelectionMetric switch
    {
        SelectionMetric.WeightedAccuracy => result.WeightedAccuracy,
        SelectionMetric.MacroF1 => result.MacroF1,
        SelectionMetric.WordErrorRate => result.WordErrorRate,
        _ => result.UnweightedAccuracy,
    };

    /// <summary>Strictly better (ties keep the earlier epoch). WER is better when lower; NaN is never better.</summary>
    private bool Better(double candidate, double best) =>
        !double.IsNaN(candidate) && (double.IsNaN(best) || (Options.SelectionMetric == SelectionMetric.WordErrorRate ? candidate < best : candidate > best));

    private EpochSummary Summarize(int epoch, TrainerState state, EpochAccumulator accumulator, EvaluationResult? validation, bool isBest)
    {
        var passes = Math.Max(1, accumulator.FinitePasses);
        return new EpochSummary
        {
            Epoch = epoch,
            Step = state.Step,
            TrainLoss = accumulator.FinitePasses > 0 ? accumulator.LossSum / passes : double.NaN,
            TrainCe = accumulator.FinitePasses > 0 ? accumulator.CeSum / passes : double.NaN,
            TrainCtc = Options.Alpha == 0 ? null : accumulator.FinitePasses > 0 ? accumulator.CtcSum / passes : double.NaN,
            LearningRate = accumulator.LearningRate,
            ValidationWeightedAccuracy = validation?.WeightedAccuracy,
            ValidationUnweightedAccuracy = validation?.UnweightedAccuracy,
            ValidationMacroF1 = validation?.MacroF1,
            ValidationWer = validation?.WordErrorRate,
            ValidationCer = validation?.CharacterErrorRate,
            IsBest = isBest,
            SkippedSteps = accumulator.SkippedSteps,
            Seconds = accumulator.Seconds,
            UtterancesPerSecond = accumulator.TrainingSeconds > 0 ? accumulator.Utterances / accumulator.TrainingSeconds : 0,
        };
    }

    /// <summary>Loads the best epoch's weights (when there was validation), leaves the model in evaluation mode, and describes the run.</summary>
    private TrainingResult Finish(TrainerState state, int resumedFrom, Dictionary<string, Tensor>? bestInMemory)
    {
        string? bestDirectory = null;
        if (state.BestEpoch is not null)
        {
            if (BestModelDirectory is { } directory)
            {
                var weights = Path.Combine(directory, BestWeightsFile);
                if (!File.Exists(weights))
                    throw new InvalidDataException($"{weights}: the best model (epoch {state.BestEpoch}) is missing; the checkpoint says it was saved there");
                var tensors = SafeTensors.Read(weights);
                try
                {
                    StateDictLoader.Load(Model, tensors, weights);
                }
                finally
                {
                    DisposeAll(tensors);
                }
                bestDirectory = directory;
            }
            else if (bestInMemory is not null)
            {
                StateDictLoader.Load(Model, bestInMemory, $"best epoch {state.BestEpoch}");
            }
        }
        else if (BestModelDirectory is { } directory)
        {
            // Without validation the last epoch is the one kept: save it where a best model is looked for.
            Model.Save(directory);
            bestDirectory = directory;
        }
        Model.eval();
        return new TrainingResult(state.History, state.BestEpoch, state.BestScore, state.Step, state.SkippedSteps, bestDirectory, resumedFrom);
    }

    private void SaveCheckpoint(TrainerState state, AdamW optimizer, CheckpointReason reason)
    {
        var path = CheckpointPath!;
        Directory.CreateDirectory(CheckpointDirectory!);
        TrainerCheckpoint.Save(path, Model, optimizer, state);
        TrainingLog.CheckpointWritten(_logger, path, reason, state.Epoch, state.Step);
        _callbacks.OnCheckpoint(new CheckpointInfo(path, reason, state.Epoch, state.Step));
    }

    private void SaveOnCancel(TrainerState state, AdamW optimizer, int epoch, string where)
    {
        if (CheckpointPath is null)
        {
            TrainingLog.Cancelled(_logger, epoch, state.Step, $"{where}; no checkpoint directory, nothing saved");
            return;
        }
        SaveCheckpoint(state, optimizer, CheckpointReason.Cancelled);
        TrainingLog.Cancelled(_logger, epoch, state.Step, $"{where}; resume from {CheckpointPath}");
    }

    /// <summary>Refuses a checkpoint written for other options or data, naming what differs.</summary>
    private static void CheckResumable(string path, TrainerState expected)
    {
        var saved = TrainerCheckpoint.ReadState(path);
        if (saved.Data != expected.Data)
            throw new InvalidOperationException(
                $"{path}: this checkpoint was trained on other samples (different ids or labels in the training or validation split); delete it or choose another checkpoint directory");
        if (saved.Recipe == expected.Recipe) return;
        var before = JsonNode.Parse(saved.Recipe)!.AsObject();
        var now = JsonNode.Parse(expected.Recipe)!.AsObject();
        var changed = now.Select(kv => kv.Key).Union(before.Select(kv => kv.Key))
            .Where(k => before[k]?.ToJsonString() != now[k]?.ToJsonString())
            .Select(k => $"{k} {before[k]?.ToJsonString() ?? "(absent)"} -> {now[k]?.ToJsonString() ?? "(absent)"}");
        throw new InvalidOperationException(
            $"{path}: this checkpoint was written with other training options ({string.Join(", ", changed)}); delete it or choose another checkpoint directory");
    }

    /// <summary>Hash of the splits' ids and labels: a checkpoint only resumes the data it was trained on.</summary>
    private static string Fingerprint(IReadOnlyList<SpeechSample> train, IReadOnlyList<SpeechSample> validation)
    {
        var text = new StringBuilder();
        foreach (var (name, samples) in new[] { ("train", train), ("validation", validation) })
            foreach (var s in samples) text.Append(name).Append('\t').Append(s.Id).Append('\t').Append(s.Label).Append('\n');
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static EpochAccumulator Elapsed(EpochAccumulator accumulator, Stopwatch clock, bool training)
    {
        var seconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return accumulator with
        {
            Seconds = accumulator.Seconds + seconds,
            TrainingSeconds = accumulator.TrainingSeconds + (training ? seconds : 0),
        };
    }

    private void LogDataIssues(UtteranceSet set)
    {
        if (set.OutOfVocabulary.Count > 0)
            TrainingLog.OutOfVocabulary(_logger, set.Name, set.TranscriptsWithOutOfVocabulary, set.OutOfVocabulary.Values.Sum(), set.DescribeOutOfVocabulary());
        if (Options.Alpha > 0 && set.WithoutTranscript + set.EmptyTranscript > 0)
            TrainingLog.MissingTranscripts(_logger, set.Name, set.WithoutTranscript, set.EmptyTranscript);
    }

    private void LogEpoch(EpochSummary s)
    {
        static string F(double? v) => v is { } x ? x.ToString("0.0000", CultureInfo.InvariantCulture) : "-";
        TrainingLog.EpochEnded(_logger, s.Epoch, Options.Epochs, s.TrainLoss, s.TrainCe, F(s.TrainCtc), s.LearningRate,
            F(s.ValidationWeightedAccuracy), F(s.ValidationUnweightedAccuracy), F(s.ValidationWer), s.Seconds, s.UtterancesPerSecond,
            s.IsBest ? " (best)" : "");
    }

    private void Report(TrainingProgress progress) => _progress?.Report(progress);

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (var t in tensors.Values) t.Dispose();
        tensors.Clear();
    }

    /// <summary>Turns the evaluator's (done, total) into validation progress reports.</summary>
    private sealed class ValidationProgress(SerTrainer trainer, int epoch, long step, long totalSteps, double learningRate, Stopwatch clock)
        : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => trainer.Report(new TrainingProgress(
            TrainingPhase.Validating, epoch, trainer.Options.Epochs, value.Done, value.Total, step, totalSteps, null, learningRate, clock.Elapsed));
    }
}
