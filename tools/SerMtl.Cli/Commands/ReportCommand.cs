using SerMtl.Cli.Reporting;

namespace SerMtl.Cli.Commands;

internal sealed class ReportCommand : ICliCommand
{
    public string Name => "report";
    public string Summary => "Write report.html (curves, confusion matrix, per-fold table) for a cv/train/demo run";

    public string Help => """
        Usage: sermtl report --run DIR [--out FILE]

        Reads DIR/results.json and the per-epoch logs (DIR/folds/<fold>/epochs.csv, or DIR/epochs.csv for a
        single training run) and writes a self-contained HTML page with PNG charts beside it: validation
        accuracy and WER per epoch for each fold, training losses, the pooled confusion matrix, a per-fold
        table with the pooled row, and what the fold protocol means. 'sermtl cv' and 'sermtl demo' write this
        report on their own when they finish; run it again at any time, e.g. while folds are still training.

        Options:
          --run DIR    run directory written by 'sermtl cv', 'train' or 'demo' (must contain results.json)
          --out FILE   where to write the page (default DIR/report.html); images go next to it, named after it

        Examples:
          sermtl report --run out/cv-paper-a0.1
          sermtl report --run out/demo --out /tmp/demo-report.html
        """;

    public int Run(CliArgs args, CancellationToken cancellationToken)
    {
        var run = args.Required("run");
        var output = args.Option("out");
        var extra = args.Positionals();
        if (extra.Count > 0) throw new UsageException($"unexpected argument '{extra[0]}'");

        var report = ReportWriter.Write(run, output);
        foreach (var warning in report.Warnings) Console.Error.WriteLine($"sermtl report: warning: {warning}");
        Console.WriteLine($"Wrote {report.HtmlPath} ({report.Images.Count} image{(report.Images.Count == 1 ? "" : "s")})");
        return ExitCodes.Success;
    }
}
