using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SerMtl.Batching;
using SerMtl.Data.Evaluation;
using SerMtl.Data.Protocols;
using SerMtl.Evaluation;
using SerMtl.Modeling;
using SerMtl.Training;

namespace SerMtl.Experiments;

/// <summary>Per-fold test results and the metrics pooled over them.</summary>
/// <param name="Folds">The folds' outcomes, in the order given.</param>
/// <param name="Pooled">Emotion metrics of the summed confusion matrices: every test utterance counts once (the paper's Eq. 4 for WA).</param>
/// <param name="PooledWordErrorRate">Mean of the folds' WERs (the paper's Eq. 5), over folds that have one; NaN when none has.</param>
/// <param name="PooledCharacterErrorRate">Mean of the folds' CERs, likewise.</param>
public sealed record CrossValidationResult(
    IReadOnlyList<FoldOutcome> Folds,
    ClassificationMetrics Pooled,
    double PooledWordErrorRate,
    double PooledCharacterErrorRate)
{
    /// <summary>Pools fold outcomes (from one run, or gathered from several with <see cref="CrossValidation.ReadFolds"/>).</summary>
    /// <exception cref="ArgumentException">No folds, two folds with one name, or folds over different labels.</exception>
    public static CrossValidationResult Pool(IEnumerable<FoldOutcome> folds)
    {
        ArgumentNullException.ThrowIfNull(folds);
        var list = folds.ToList();
        if (list.Count == 0) throw new ArgumentException("no folds to pool", nameof(folds));
        var duplicate = list.GroupBy(f => f.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"fold '{duplicate.Key}' appears {duplicate.Count()} times", nameof(folds));
        var wers = list.Select(f => f.WordErrorRate).Where(double.IsFinite).ToList();
        var cers = list.Select(f => f.CharacterErrorRate).Where(double.IsFinite).ToList();
        return new CrossValidationResult(list, ClassificationMetrics.Pool(list.Select(f => f.Test)),
            wers.Count > 0 ? ErrorRates.PoolFolds(wers) : double.NaN,
            cers.Count > 0 ? ErrorRates.PoolFolds(cers) : double.NaN);
    }
}

/// <summary>
/// Cross-validation: for each fold, a fresh model trained on the fold's training split (epoch chosen on its
/// validation split) and tested on its test split. Each fold is an independent unit under
/// <c>OUTPUT/folds/&lt;name&gt;/</c> — resumable checkpoint, <c>best/</c> model, <c>test.json</c> and
/// <c>predictions.tsv</c> — so a subset of folds can run in one process and others elsewhere (gather them with
/// <see cref="ReadFolds"/> and <see cref="CrossValidationResult.Pool"/>). Running again skips folds that have a
/// <c>test.json</c> and resumes an interrupted fold from its checkpoint.
/// </summary>
public sealed class CrossValidation
{
    /// <summary>The folder under the output directory that holds one folder per fold.</summary>
    public const string FoldsFolder = "folds";

    /// <summary>The per-utterance test predictions of a fold (tab-separated).</summary>
    public const string PredictionsFileName = "predictions.tsv";

    private readonly Func<Fold, SerMtlModel> _createModel;

    /// <summary>Creates a cross-validation writing under <paramref name="outputDirectory"/>.</summary>
    /// <param name="outputDirectory">Where the folds' folders go.</param>
    /// <param name="createModel">Makes the untrained model of a fold (e.g. <see cref="SerMtlModel.FromPretrained"/>); the run disposes it.</param>
    public CrossValidation(string outputDirectory, Func<Fold, SerMtlModel> createModel)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        ArgumentNullException.ThrowIfNull(createModel);
        OutputDirectory = Path.GetFullPath(outputDirectory);
        _createModel = createModel;
    }

    /// <summary>The output directory.</summary>
    public string OutputDirectory { get; }

    /// <summary>Sets up each fold's trainer (options, device, progress, callbacks); its checkpoint directory is always the fold's folder.</summary>
    public Action<SerTrainerBuilder, Fold>? ConfigureTrainer { get; init; }

    /// <summary>Called when a fold's training ends (before its test), with every epoch's summary, resumed ones included.</summary>
    public Action<Fold, TrainingResult>? FoldTrained { get; init; }

    /// <summary>Called when a fold finishes (or is found finished), e.g. to update a summary file.</summary>
    public Action<FoldOutcome>? FoldCompleted { get; init; }

    /// <summary>Where the run's own messages go (each trainer's logger is set with <see cref="ConfigureTrainer"/>).</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Keep each fold's resumable checkpoint after the fold finishes (its <c>best/</c> model is always kept). Default false.</summary>
    public bool KeepCheckpoints { get; init; }

    /// <summary>The folder of fold <paramref name="foldName"/> under <paramref name="outputDirectory"/>.</summary>
    /// <exception cref="ArgumentException">The name is not a plain folder name.</exception>
    public static string FoldDirectory(string outputDirectory, string foldName)
    {
        ArgumentNullException.ThrowIfNull(outputDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(foldName);
        if (foldName is "." or ".." || foldName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || foldName.Contains('/') || foldName.Contains('\\'))
            throw new ArgumentException($"fold name '{foldName}' cannot be used as a folder name", nameof(foldName));
        return Path.Combine(outputDirectory, FoldsFolder, foldName);
    }

    /// <summary>The finished folds under <paramref name="outputDirectory"/> (those with a <c>test.json</c>), by name.</summary>
    /// <exception cref="InvalidDataException">A <c>test.json</c> is malformed.</exception>
    public static IReadOnlyList<FoldOutcome> ReadFolds(string outputDirectory)
    {
        var root = Path.Combine(outputDirectory, FoldsFolder);
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root).Order(StringComparer.Ordinal)
            .Select(d => Path.Combine(d, FoldOutcome.FileName))
            .Where(File.Exists)
            .Select(FoldOutcome.Load)
            .ToList();
    }

    /// <summary>
    /// Runs <paramref name="folds"/> in order — skipping finished ones, resuming an interrupted one — and pools them.
    /// The test split of a fold is used once, after training, never to choose an epoch.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; the fold in progress saved a checkpoint to resume from.</exception>
    public CrossValidationResult Run(IReadOnlyList<Fold> folds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(folds);
        if (folds.Count == 0) throw new ArgumentException("no folds to run", nameof(folds));
        foreach (var f in folds) _ = FoldDirectory(OutputDirectory, f.Name);
        WaveformStore? store = null;
        var outcomes = new List<FoldOutcome>();
        foreach (var fold in folds)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var directory = FoldDirectory(OutputDirectory, fold.Name);
            var outcomePath = Path.Combine(directory, FoldOutcome.FileName);
            if (File.Exists(outcomePath))
            {
                var done = FoldOutcome.Load(outcomePath);
                if (done.Name != fold.Name) throw new InvalidDataException($"{outcomePath}: holds fold '{done.Name}', expected '{fold.Name}'");
                CrossValidationLog.FoldAlreadyDone(Logger, fold.Name, outcomePath);
                outcomes.Add(done);
                FoldCompleted?.Invoke(done);
                continue;
            }

            CrossValidationLog.FoldStarted(Logger, fold.Name, fold.Train.Count, fold.Validation.Count, fold.Test.Count);
            using var model = _createModel(fold) ?? throw new InvalidOperationException($"the model factory returned null for fold '{fold.Name}'");
            var builder = SerTrainer.For(model);
            ConfigureTrainer?.Invoke(builder, fold);
            builder.WithCheckpoints(directory, builder.Options.CheckpointEverySteps);
            store ??= new WaveformStore(model.Backbone.Preprocessing.SamplingRate, builder.Options.AudioCacheBytes);
            var trainer = builder.WithWaveformStore(store).Build();
            var training = trainer.Train(fold, cancellationToken);
            FoldTrained?.Invoke(fold, training);
            var test = trainer.Evaluate(fold.Test, cancellationToken);
            var outcome = FoldOutcome.From(fold.Name, test, training.BestEpoch);
            WritePredictions(Path.Combine(directory, PredictionsFileName), test);
            outcome.Save(outcomePath);
            if (!KeepCheckpoints && trainer.CheckpointPath is { } checkpoint) File.Delete(checkpoint);
            CrossValidationLog.FoldFinished(Logger, fold.Name, test.WeightedAccuracy, test.UnweightedAccuracy, test.WordErrorRate, training.BestEpoch ?? 0);
            outcomes.Add(outcome);
            FoldCompleted?.Invoke(outcome);
        }
        return CrossValidationResult.Pool(outcomes);
    }

    /// <summary>id, label, predicted, probabilities (label order), reference and decoded transcript, tab-separated.</summary>
    /// <remarks>Written atomically (a temporary file, then renamed). <c>sermtl train</c> and <c>evaluate</c> write it too.</remarks>
    public static void WritePredictions(string path, EvaluationResult result)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(result);
        static string Clean(string? s) => (s ?? "").Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
        var text = new StringBuilder();
        var labels = result.Classification.Labels;
        text.Append("id\tlabel\tpredicted\t").AppendJoin('\t', labels.Select(l => "p_" + l)).Append("\treference\ttranscript\n");
        foreach (var p in result.Predictions)
        {
            text.Append(Clean(p.Id)).Append('\t').Append(Clean(p.Label)).Append('\t').Append(Clean(p.Predicted)).Append('\t')
                .AppendJoin('\t', p.Probabilities.Select(v => v.ToString("0.######", CultureInfo.InvariantCulture)))
                .Append('\t').Append(Clean(p.Reference)).Append('\t').Append(Clean(p.Transcript)).Append('\n');
        }
        var temp = path + ".tmp";
        File.WriteAllText(temp, text.ToString(), new UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>Cross-validation log messages.</summary>
internal static partial class CrossValidationLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Fold {Fold}: {Train} train, {Validation} validation, {Test} test utterances")]
    public static partial void FoldStarted(ILogger logger, string fold, int train, int validation, int test);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Fold {Fold}: test WA {Wa:0.0000}, UA {Ua:0.0000}, WER {Wer:0.0000} (epoch {BestEpoch})")]
    public static partial void FoldFinished(ILogger logger, string fold, double wa, double ua, double wer, int bestEpoch);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Fold {Fold}: already finished ({Path})")]
    public static partial void FoldAlreadyDone(ILogger logger, string fold, string path);
}
