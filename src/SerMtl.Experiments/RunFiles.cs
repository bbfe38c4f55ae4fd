using System.Text.Json;
using SerMtl.Data.Evaluation;
using SerMtl.Evaluation;
using SerMtl.Training;

namespace SerMtl.Experiments;

/// <summary>
/// What a run directory records about how it was made (<c>run.json</c>): the protocol, the labels, α and every other
/// setting that decides the results (the recipe, as display strings). A rerun into the same directory must match it,
/// so finished folds of other settings are never pooled with new ones.
/// </summary>
/// <param name="Protocol">The fold protocol's name (<c>paper</c>, <c>speaker</c>, <c>session</c>, <c>kfold:K</c>, or your own).</param>
/// <param name="Alpha">α in L = CE + α·CTC.</param>
/// <param name="Labels">The emotion classes, in the model's order.</param>
/// <param name="Recipe">Everything else that decides the results (backbone, learning rate, epochs, seed, data, …).</param>
public sealed record RunManifest(string Protocol, double Alpha, IReadOnlyList<string> Labels, IReadOnlyDictionary<string, string> Recipe)
{
    /// <summary>The file name inside a run directory.</summary>
    public const string FileName = "run.json";

    /// <summary>Writes the manifest, or checks it against the one already in <paramref name="directory"/>.</summary>
    /// <exception cref="InvalidOperationException">The directory holds a run of other settings; the message lists each difference.</exception>
    /// <exception cref="InvalidDataException">The existing run.json is malformed.</exception>
    public void SaveOrCheck(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            var differences = Differences(Load(path), this, (before, now) => $"{before} -> {now}");
            if (differences.Count > 0)
                throw new InvalidOperationException(
                    $"{directory} holds a run with other settings ({string.Join("; ", differences)}); use another output directory, or the same settings to resume");
            return;
        }
        Directory.CreateDirectory(directory);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(this, RunResults.JsonOptions));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a run.json.</summary>
    /// <exception cref="InvalidDataException">The file is not a run manifest.</exception>
    public static RunManifest Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunManifest>(File.ReadAllBytes(path), RunResults.JsonOptions)
                ?? throw new InvalidDataException($"{path}: expected a JSON object, found null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a run manifest ({e.Message})", e);
        }
    }

    /// <summary>
    /// The settings in which <paramref name="first"/> and <paramref name="second"/> differ (protocol, α, labels, each
    /// recipe key that <paramref name="compareKey"/> accepts), each described by <paramref name="describe"/>(first's
    /// value, second's value); a missing recipe key shows as <c>(absent)</c>.
    /// </summary>
    public static IReadOnlyList<string> Differences(RunManifest first, RunManifest second, Func<string, string, string> describe,
        Func<string, bool>? compareKey = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentNullException.ThrowIfNull(describe);
        var differences = new List<string>();
        if (first.Protocol != second.Protocol) differences.Add($"protocol {describe(first.Protocol, second.Protocol)}");
        if (!first.Alpha.Equals(second.Alpha)) differences.Add($"alpha {describe(Number(first.Alpha), Number(second.Alpha))}");
        if (!first.Labels.SequenceEqual(second.Labels))
            differences.Add($"labels {describe($"[{string.Join(", ", first.Labels)}]", $"[{string.Join(", ", second.Labels)}]")}");
        // A recipe's own "alpha" entry (the sermtl tool writes one) is the field above, compared once.
        foreach (var key in first.Recipe.Keys.Union(second.Recipe.Keys).Where(k => k != "alpha" && (compareKey?.Invoke(k) ?? true)).Order(StringComparer.Ordinal))
        {
            var before = first.Recipe.GetValueOrDefault(key);
            var now = second.Recipe.GetValueOrDefault(key);
            if (before != now) differences.Add($"{key} {describe(before ?? "(absent)", now ?? "(absent)")}");
        }
        return differences;
    }

    private static string Number(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Maps the library's results onto the run directory's files: results.json rows and epochs.csv rows.</summary>
public static class RunFiles
{
    /// <summary>results.json for <paramref name="folds"/> (ordered as given), pooled over them.</summary>
    /// <param name="run">The run's manifest: protocol, α, labels; its recipe becomes the settings.</param>
    /// <param name="folds">The finished folds.</param>
    /// <param name="extraSettings">Settings to show beside the recipe (e.g. the device), overriding recipe keys of the same name.</param>
    public static RunResults Results(RunManifest run, IReadOnlyList<FoldOutcome> folds, IReadOnlyDictionary<string, string>? extraSettings = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(folds);
        var pooled = CrossValidationResult.Pool(folds);
        var settings = new Dictionary<string, string>(run.Recipe);
        if (extraSettings is not null)
            foreach (var (k, v) in extraSettings) settings[k] = v;
        return new RunResults
        {
            Protocol = run.Protocol,
            Alpha = run.Alpha,
            Labels = run.Labels,
            Folds = folds.Select(FoldResult).ToList(),
            Pooled = new FoldMetrics
            {
                Test = checked((int)pooled.Pooled.Total),
                WeightedAccuracy = pooled.Pooled.WeightedAccuracy,
                UnweightedAccuracy = pooled.Pooled.UnweightedAccuracy,
                MacroF1 = pooled.Pooled.MacroF1,
                Wer = Finite(pooled.PooledWordErrorRate),
                Cer = Finite(pooled.PooledCharacterErrorRate),
                Confusion = Rows(pooled.Pooled.Confusion),
            },
            Settings = settings,
        };
    }

    /// <summary>One fold of results.json.</summary>
    public static FoldResult FoldResult(FoldOutcome fold)
    {
        ArgumentNullException.ThrowIfNull(fold);
        return new FoldResult
        {
            Name = fold.Name,
            Test = checked((int)fold.Test.Total),
            WeightedAccuracy = fold.Test.WeightedAccuracy,
            UnweightedAccuracy = fold.Test.UnweightedAccuracy,
            MacroF1 = fold.Test.MacroF1,
            Wer = Finite(fold.WordErrorRate),
            Cer = Finite(fold.CharacterErrorRate),
            Confusion = Rows(fold.Test.Confusion),
            BestEpoch = fold.BestEpoch,
        };
    }

    /// <summary>One row of epochs.csv.</summary>
    public static EpochRecord Record(EpochSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new EpochRecord
        {
            Epoch = summary.Epoch,
            Step = summary.Step,
            TrainLoss = summary.TrainLoss,
            TrainCe = summary.TrainCe,
            TrainCtc = summary.TrainCtc,
            Lr = summary.LearningRate,
            ValWa = summary.ValidationWeightedAccuracy,
            ValUa = summary.ValidationUnweightedAccuracy,
            ValWer = summary.ValidationWer is { } w && double.IsFinite(w) ? w : null,
            Seconds = summary.Seconds,
            UtterancesPerSecond = summary.UtterancesPerSecond,
        };
    }

    /// <summary>
    /// Rewrites <paramref name="path"/> with one row per epoch of <paramref name="epochs"/> (after a resume the
    /// trainer's history is complete, while the appended log may repeat or miss epochs).
    /// </summary>
    public static void RewriteEpochLog(string path, IReadOnlyList<EpochSummary> epochs)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(epochs);
        var temp = path + ".tmp";
        File.Delete(temp);
        foreach (var e in epochs) EpochLog.Append(temp, Record(e));
        if (File.Exists(temp)) File.Move(temp, path, overwrite: true);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static IReadOnlyList<IReadOnlyList<int>> Rows(ConfusionMatrix m) =>
        m.ToRows().Select(r => (IReadOnlyList<int>)r.Select(v => checked((int)v)).ToArray()).ToList();
}

/// <summary>
/// Appends each finished epoch to an epochs.csv, so a report can show a run still in progress, then passes every hook
/// on to <paramref name="next"/>.
/// </summary>
/// <param name="path">The epochs.csv to append to.</param>
/// <param name="next">Hooks to call after this one (e.g. <see cref="SerTrainerBuilder.Callbacks"/>), or null.</param>
public sealed class EpochLogWriter(string path, TrainingCallbacks? next = null) : TrainingCallbacks
{
    /// <summary>The epochs.csv appended to.</summary>
    public string Path { get; } = path;

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochSummary summary)
    {
        EpochLog.Append(Path, RunFiles.Record(summary));
        next?.OnEpochEnd(summary);
    }

    /// <inheritdoc/>
    public override void OnEvaluation(int epoch, EvaluationResult validation) => next?.OnEvaluation(epoch, validation);

    /// <inheritdoc/>
    public override void OnCheckpoint(CheckpointInfo checkpoint) => next?.OnCheckpoint(checkpoint);
}
