using System.CommandLine;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Reporting;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl cv aggregate</c>: pools folds that ran in separate processes or machines.</summary>
internal sealed class CvAggregateCommand : SermtlCommand
{
    private readonly TextWriter? _output;
    private readonly Option<string> _outDir = CliOption.Required("--out", "DIR", "where to write the combined run");
    private readonly Argument<string[]> _runs = CliOption.Operands("RUN", "run directories written by 'sermtl cv'");

    public CvAggregateCommand(TextWriter? output = null)
        : base("aggregate", "Combine the finished folds of several 'sermtl cv' run directories into one results.json and report", """
            Reads every finished fold (RUN/folds/<fold>/test.json) of each RUN, written by 'sermtl cv' runs of the
            same protocol and settings with different --folds (e.g. one per GPU or per cluster job), and writes
            DIR/results.json with per-fold and pooled metrics (WA over all test utterances, WER as the mean of the
            fold WERs), DIR/folds/<fold>/test.json and epochs.csv copies, and DIR/report.html. A fold found in two
            runs, or runs of different settings, are refused. DIR may be one of the RUNs.

            Examples:
              sermtl cv aggregate --out runs/paper-a0.1 runs/paper-a0.1-gpu0 runs/paper-a0.1-gpu1
            """)
    {
        _output = output;
        Add(_outDir);
        Add(_runs);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var reporter = new ConsoleReporter(_output);
        var outDir = Path.GetFullPath(parse.GetRequiredValue(_outDir));
        var runs = (parse.GetValue(_runs) ?? []).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        if (runs.Count == 0) throw new UsageException("give at least one run directory");

        RunManifest? manifest = null;
        string? manifestRun = null;
        var folds = new List<(FoldOutcome Fold, string Run)>();
        foreach (var run in runs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!Directory.Exists(run)) throw new DirectoryNotFoundException($"{run}: no such run directory");
            var manifestPath = Path.Combine(run, RunManifest.FileName);
            if (!File.Exists(manifestPath))
                throw new FileNotFoundException($"{run}: no {RunManifest.FileName}; expected a directory written by 'sermtl cv'", manifestPath);
            var current = RunManifest.Load(manifestPath);
            if (manifest is null)
            {
                manifest = current;
                manifestRun = run;
            }
            else
            {
                CheckSameSettings(manifest, manifestRun!, current, run);
            }
            var found = CrossValidation.ReadFolds(run);
            if (found.Count == 0) reporter.WriteLine($"warning: {run} has no finished fold");
            foreach (var fold in found)
            {
                var other = folds.FirstOrDefault(f => f.Fold.Name == fold.Name);
                if (other.Fold is not null && other.Run != run)
                    throw new InvalidOperationException($"fold '{fold.Name}' is finished in both {other.Run} and {run}; keep one");
                folds.Add((fold, run));
            }
        }
        if (folds.Count == 0) throw new InvalidOperationException("none of the runs has a finished fold (folds/<fold>/test.json)");

        var ordered = folds.OrderBy(f => f.Fold.Name, StringComparer.Ordinal).ToList();
        foreach (var (fold, run) in ordered)
        {
            if (run == outDir) continue;
            var source = CrossValidation.FoldDirectory(run, fold.Name);
            var target = CrossValidation.FoldDirectory(outDir, fold.Name);
            Directory.CreateDirectory(target);
            fold.Save(Path.Combine(target, FoldOutcome.FileName));
            foreach (var file in new[] { EpochLog.FileName, CrossValidation.PredictionsFileName })
                if (File.Exists(Path.Combine(source, file))) File.Copy(Path.Combine(source, file), Path.Combine(target, file), overwrite: true);
        }
        Directory.CreateDirectory(outDir);
        if (!runs.Contains(outDir)) manifest!.SaveOrCheck(outDir);
        var results = RunFiles.Results(manifest!, ordered.Select(f => f.Fold).ToList(),
            new Dictionary<string, string> { ["aggregated_from"] = string.Join(", ", runs) });
        results.Save(Path.Combine(outDir, RunResults.FileName));
        var report = ReportWriter.Write(outDir);
        CvCommand.Summarize(reporter, CrossValidationResult.Pool(ordered.Select(f => f.Fold)));
        reporter.WriteLine($"Wrote {Path.Combine(outDir, RunResults.FileName)} ({ordered.Count} folds from {runs.Count} runs) and {report.HtmlPath}");
        return ExitCodes.Success;
    }

    private static void CheckSameSettings(RunManifest first, string firstRun, RunManifest other, string otherRun)
    {
        // Paths differ between machines: compare the backbone by its folder name and not the data path at all.
        var differences = RunManifest.Differences(first, other, (a, b) => $"{a} vs {b}", key => key is not ("data" or "backbone")).ToList();
        if (Path.GetFileName(first.Recipe.GetValueOrDefault("backbone")) != Path.GetFileName(other.Recipe.GetValueOrDefault("backbone")))
            differences.Add($"backbone {first.Recipe.GetValueOrDefault("backbone")} vs {other.Recipe.GetValueOrDefault("backbone")}");
        if (differences.Count > 0)
            throw new InvalidOperationException($"{otherRun} was run with other settings than {firstRun} ({string.Join("; ", differences)}); aggregate runs of one setting");
    }
}
