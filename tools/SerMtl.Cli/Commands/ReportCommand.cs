using System.CommandLine;
using SerMtl.Experiments;
using SerMtl.Reporting;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl report</c>: report.html for a run directory.</summary>
internal sealed class ReportCommand : SermtlCommand
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Option<string> _run = CliOption.Required("--run", "DIR", "run directory written by 'sermtl cv', 'train' or 'demo' (must contain results.json)");
    private readonly Option<string?> _output = CliOption.Text("--out", "FILE", "where to write the page (default DIR/report.html); images go next to it, named after it");

    public ReportCommand(TextWriter? output = null, TextWriter? errors = null)
        : base("report", "Write report.html (curves, confusion matrix, per-fold table) for a cv/train/demo run", """
            Reads DIR/results.json and the per-epoch logs (DIR/folds/<fold>/epochs.csv, or DIR/epochs.csv for a
            single training run) and writes a self-contained HTML page with PNG charts beside it: validation
            accuracy and WER per epoch for each fold, training losses, the pooled confusion matrix, a per-fold
            table with the pooled row, and what the fold protocol means. 'sermtl cv' and 'sermtl demo' write this
            report on their own when they finish; run it again at any time, e.g. while folds are still training.

            Examples:
              sermtl report --run out/cv-paper-a0.1
              sermtl report --run out/demo --out /tmp/demo-report.html
            """)
    {
        _out = output ?? Console.Out;
        _err = errors ?? Console.Error;
        Add(_run);
        Add(_output);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var report = ReportWriter.Write(parse.GetRequiredValue(_run), parse.GetValue(_output));
        foreach (var warning in report.Warnings) _err.WriteLine($"sermtl report: warning: {warning}");
        _out.WriteLine($"Wrote {report.HtmlPath} ({report.Images.Count} image{(report.Images.Count == 1 ? "" : "s")})");
        return ExitCodes.Success;
    }
}
