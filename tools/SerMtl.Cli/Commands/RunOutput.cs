using System.Text.Json;
using SerMtl.Cli.Reporting;
using SerMtl.Data.Evaluation;
using SerMtl.Evaluation;
using SerMtl.Training;

namespace SerMtl.Cli.Commands;

/// <summary>
/// What a run directory records about how it was made (<c>run.json</c>): the protocol, labels and the recipe. A rerun
/// into the same directory must match it, so finished folds of other settings are never pooled with new ones.
/// </summary>
internal sealed record RunManifest(string Protocol, double Alpha, IReadOnlyList<string> Labels, IReadOnlyDictionary<string, string> Recipe)
{
    public const string FileName = "run.json";

    /// <summary>Writes the manifest, or checks it against the one already in <paramref name="directory"/>.</summary>
    /// <exception cref="InvalidOperationException">The directory holds a run of other settings; the message lists them.</exception>
    public void SaveOrCheck(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            var existing = Load(path);
            var differences = new List<string>();
            if (existing.Protocol != Protocol) differences.Add($"protocol {existing.Protocol} -> {Protocol}");
            if (!existing.Labels.SequenceEqual(Labels)) differences.Add($"labels [{string.Join(", ", existing.Labels)}] -> [{string.Join(", ", Labels)}]");
            foreach (var key in existing.Recipe.Keys.Union(Recipe.Keys).Order(StringComparer.Ordinal))
            {
                var before = existing.Recipe.GetValueOrDefault(key);
                var now = Recipe.GetValueOrDefault(key);
                if (before != now) differences.Add($"{key} {before ?? "(absent)"} -> {now ?? "(absent)"}");
            }
            if (differences.Count > 0)
                throw new InvalidOperationException(
                    $"{directory} holds a run with other settings ({string.Join("; ", differences)}); use another --out, or the same settings to resume");
            return;
        }
        Directory.CreateDirectory(directory);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(this, RunResults.JsonOptions));
        File.Move(temp, path, overwrite: true);
    }

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
}

/// <summary>Maps the library's results onto the report's files: results.json and epochs.csv.</summary>
internal static class RunOutput
{
    /// <summary>results.json for <paramref name="folds"/> (ordered as given), pooled over them.</summary>
    public static RunResults Results(RunManifest run, IReadOnlyList<FoldOutcome> folds, IReadOnlyDictionary<string, string>? extraSettings = null)
    {
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
    public static FoldResult FoldResult(FoldOutcome fold) => new()
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

    /// <summary>One row of epochs.csv.</summary>
    public static EpochRecord Record(EpochSummary s) => new()
    {
        Epoch = s.Epoch,
        Step = s.Step,
        TrainLoss = s.TrainLoss,
        TrainCe = s.TrainCe,
        TrainCtc = s.TrainCtc,
        Lr = s.LearningRate,
        ValWa = s.ValidationWeightedAccuracy,
        ValUa = s.ValidationUnweightedAccuracy,
        ValWer = s.ValidationWer is { } w && double.IsFinite(w) ? w : null,
        Seconds = s.Seconds,
        UtterancesPerSecond = s.UtterancesPerSecond,
    };

    /// <summary>Rewrites <paramref name="path"/> with one row per epoch (the resumed run's history is complete).</summary>
    public static void RewriteEpochLog(string path, IReadOnlyList<EpochSummary> epochs)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        foreach (var e in epochs) EpochLog.Append(temp, Record(e));
        if (File.Exists(temp)) File.Move(temp, path, overwrite: true);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static IReadOnlyList<IReadOnlyList<int>> Rows(ConfusionMatrix m) =>
        m.ToRows().Select(r => (IReadOnlyList<int>)r.Select(v => checked((int)v)).ToArray()).ToList();
}

/// <summary>Appends each finished epoch to an epochs.csv, so the report can show a run still in progress.</summary>
internal sealed class EpochLogWriter(string path) : TrainingCallbacks
{
    public string Path { get; } = path;

    public override void OnEpochEnd(EpochSummary summary) => EpochLog.Append(Path, RunOutput.Record(summary));
}
