using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SerMtl.Data.Protocols;
using SerMtl.Evaluation;
using SerMtl.Modeling;
using SerMtl.Training;

namespace SerMtl.Experiments;

/// <summary>
/// A cross-validation experiment in a run directory, written exactly as <c>sermtl cv</c> writes it, so
/// <c>sermtl report</c>, <c>cv aggregate</c> and <see cref="RunDirectory.Load"/> read it:
/// <code>
/// OUT/run.json                       the manifest (RunManifest): a rerun with other settings is refused
/// OUT/results.json                   per-fold and pooled metrics (RunResults), rewritten after every fold
/// OUT/folds/&lt;fold&gt;/epochs.csv       per-epoch log (EpochLog), appended as epochs end
/// OUT/folds/&lt;fold&gt;/best/, test.json, predictions.tsv, checkpoint.safetensors   (CrossValidation)
/// </code>
/// Running again resumes: finished folds are kept, an interrupted fold continues from its checkpoint. Folds finished
/// by other processes in the same directory are pooled into results.json too, in <see cref="FoldOrder"/>.
/// </summary>
public sealed class CrossValidationRun
{
    private readonly Func<Fold, SerMtlModel> _createModel;

    /// <summary>Creates a run in <paramref name="outputDirectory"/> made with the settings of <paramref name="manifest"/>.</summary>
    /// <param name="outputDirectory">The run directory (created if missing).</param>
    /// <param name="manifest">The settings that decide the results; checked against the directory's run.json.</param>
    /// <param name="createModel">Makes the untrained model of a fold; the run disposes it.</param>
    public CrossValidationRun(string outputDirectory, RunManifest manifest, Func<Fold, SerMtlModel> createModel)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(createModel);
        OutputDirectory = Path.GetFullPath(outputDirectory);
        Manifest = manifest;
        _createModel = createModel;
    }

    /// <summary>The run directory.</summary>
    public string OutputDirectory { get; }

    /// <summary>The run's settings (run.json).</summary>
    public RunManifest Manifest { get; }

    /// <summary>Sets up each fold's trainer; the epoch log is added in front of the callbacks it sets.</summary>
    public Action<SerTrainerBuilder, Fold>? ConfigureTrainer { get; init; }

    /// <summary>Where the run's own messages go.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Keep each fold's resumable checkpoint after the fold finishes. Default false.</summary>
    public bool KeepCheckpoints { get; init; }

    /// <summary>Settings shown in results.json beside the manifest's recipe (e.g. the device), which do not decide the results.</summary>
    public IReadOnlyDictionary<string, string>? ExtraSettings { get; init; }

    /// <summary>
    /// The protocol's fold names in order: results.json lists finished folds in this order and leaves out folds
    /// of other names found in the directory. Default: the folds given to <see cref="Run"/>.
    /// </summary>
    public IReadOnlyList<string>? FoldOrder { get; init; }

    /// <summary>Called when a fold's training ends (before its test), after its epochs.csv was rewritten from the full history.</summary>
    public Action<Fold, TrainingResult>? FoldTrained { get; init; }

    /// <summary>Called after results.json was rewritten for a finished fold.</summary>
    public Action<FoldOutcome>? FoldCompleted { get; init; }

    /// <summary>The path of results.json.</summary>
    public string ResultsPath => Path.Combine(OutputDirectory, RunResults.FileName);

    /// <summary>Runs <paramref name="folds"/> (see <see cref="CrossValidation.Run"/>) and returns the pooled result of these folds.</summary>
    /// <exception cref="InvalidOperationException">The directory holds a run of other settings.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the fold in progress saved a checkpoint to resume from.</exception>
    public CrossValidationResult Run(IReadOnlyList<Fold> folds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(folds);
        Manifest.SaveOrCheck(OutputDirectory);
        var names = FoldOrder ?? folds.Select(f => f.Name).ToList();
        var order = names.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i, StringComparer.Ordinal);
        var cv = new CrossValidation(OutputDirectory, _createModel)
        {
            Logger = Logger,
            KeepCheckpoints = KeepCheckpoints,
            ConfigureTrainer = (builder, fold) =>
            {
                ConfigureTrainer?.Invoke(builder, fold);
                builder.WithCallbacks(new EpochLogWriter(EpochLog.PathForFold(OutputDirectory, fold.Name), builder.Callbacks));
            },
            FoldTrained = (fold, training) =>
            {
                RunFiles.RewriteEpochLog(EpochLog.PathForFold(OutputDirectory, fold.Name), training.Epochs);
                FoldTrained?.Invoke(fold, training);
            },
            FoldCompleted = outcome =>
            {
                // Every finished fold in the directory, including those other processes finished, in protocol order.
                var finished = CrossValidation.ReadFolds(OutputDirectory).Where(f => order.ContainsKey(f.Name)).OrderBy(f => order[f.Name]).ToList();
                RunFiles.Results(Manifest, finished, ExtraSettings).Save(ResultsPath);
                FoldCompleted?.Invoke(outcome);
            },
        };
        return cv.Run(folds, cancellationToken);
    }
}
