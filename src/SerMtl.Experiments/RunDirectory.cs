namespace SerMtl.Experiments;

/// <summary>
/// Per-epoch curves of one training run: a fold of a cross-validation run, the single split of a training run,
/// or a fold folder that has a log but no result yet (still training).
/// </summary>
/// <param name="Name">Display name: the fold name, or "run" for a top-level log.</param>
/// <param name="Fold">The fold's result when results.json has one, else null.</param>
/// <param name="SourcePath">The epochs.csv read.</param>
/// <param name="Epochs">Rows in epoch order (possibly none).</param>
public sealed record RunCurves(string Name, FoldResult? Fold, string SourcePath, IReadOnlyList<EpochRecord> Epochs);

/// <summary>A run directory read from disk: results.json and every epochs.csv that goes with it.</summary>
/// <param name="Directory">The run directory (full path).</param>
/// <param name="Results">results.json, validated.</param>
/// <param name="Curves">Per-epoch logs, results.json's folds first (in its order), then other logs found.</param>
/// <param name="FoldsWithoutLog">Folds of results.json that have no epochs.csv.</param>
/// <param name="Warnings">Inconsistencies worth showing (totals that do not add up, unreadable fold names).</param>
public sealed record RunData(string Directory, RunResults Results, IReadOnlyList<RunCurves> Curves,
    IReadOnlyList<string> FoldsWithoutLog, IReadOnlyList<string> Warnings);

/// <summary>
/// Reads a run directory as <c>sermtl cv</c>, <c>train</c> and <c>demo</c> write it:
/// <code>
/// RUN/results.json                    required (RunResults)
/// RUN/folds/&lt;fold&gt;/epochs.csv        per fold, optional (EpochLog)
/// RUN/epochs.csv                      single-split runs, optional
/// </code>
/// A top-level epochs.csv belongs to the only fold when results.json has exactly one fold without its own log;
/// otherwise it is shown as a run of its own.
/// </summary>
public static class RunDirectory
{
    /// <summary>Loads <paramref name="path"/> (a run directory, or its results.json).</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">The directory has no results.json.</exception>
    /// <exception cref="InvalidDataException">results.json or an epochs.csv is malformed.</exception>
    public static RunData Load(string path)
    {
        var directory = Path.GetFullPath(path);
        if (File.Exists(directory) && Path.GetFileName(directory) == RunResults.FileName)
            directory = Path.GetDirectoryName(directory)!;
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{path}: no such directory; expected a run directory written by 'sermtl cv', 'train' or 'demo'");
        var resultsPath = Path.Combine(directory, RunResults.FileName);
        if (!File.Exists(resultsPath))
            throw new FileNotFoundException(
                $"{directory}: no {RunResults.FileName} here; expected a run directory written by 'sermtl cv', 'train' or 'demo'",
                resultsPath);
        var results = RunResults.Load(resultsPath);

        var warnings = new List<string>(results.ConsistencyWarnings());
        var curves = new List<RunCurves>();
        var withoutLog = new List<string>();
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fold in results.Folds)
        {
            if (!IsPlainName(fold.Name))
            {
                warnings.Add($"fold '{fold.Name}': the name is not a plain folder name, so its epochs.csv is not looked for");
                withoutLog.Add(fold.Name);
                continue;
            }
            var log = EpochLog.PathForFold(directory, fold.Name);
            claimed.Add(fold.Name);
            if (File.Exists(log)) curves.Add(new RunCurves(fold.Name, fold, log, EpochLog.Read(log)));
            else withoutLog.Add(fold.Name);
        }

        var topLevel = Path.Combine(directory, EpochLog.FileName);
        if (File.Exists(topLevel))
        {
            var epochs = EpochLog.Read(topLevel);
            if (results.Folds.Count == 1 && withoutLog.Count == 1)
            {
                curves.Add(new RunCurves(results.Folds[0].Name, results.Folds[0], topLevel, epochs));
                withoutLog.Clear();
            }
            else
            {
                curves.Add(new RunCurves("run", null, topLevel, epochs));
            }
        }

        // Fold folders with a log but no result: folds still training, or run elsewhere and not aggregated yet.
        var foldsRoot = Path.Combine(directory, EpochLog.FoldsFolder);
        if (System.IO.Directory.Exists(foldsRoot))
        {
            foreach (var folder in System.IO.Directory.GetDirectories(foldsRoot).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(folder);
                var log = Path.Combine(folder, EpochLog.FileName);
                if (claimed.Contains(name) || !File.Exists(log)) continue;
                curves.Add(new RunCurves(name, null, log, EpochLog.Read(log)));
            }
        }
        return new RunData(directory, results, curves, withoutLog, warnings);
    }

    private static bool IsPlainName(string name) =>
        name.Length > 0 && name is not ("." or "..") && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0
        && name.IndexOf('/') < 0 && name.IndexOf('\\') < 0;
}
