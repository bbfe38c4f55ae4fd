using System.Text;
using SerMtl.Experiments;

namespace SerMtl.Reporting;

/// <summary>What <see cref="ReportWriter.Write"/> produced.</summary>
/// <param name="HtmlPath">The report page.</param>
/// <param name="Images">The PNG files it references, all in the page's folder.</param>
/// <param name="Warnings">Inconsistencies found in the run (also shown on the page).</param>
public sealed record ReportOutput(string HtmlPath, IReadOnlyList<string> Images, IReadOnlyList<string> Warnings);

/// <summary>
/// Turns a run directory (<see cref="RunDirectory"/>) into <c>report.html</c> plus PNG charts beside it: per-fold
/// validation accuracy and WER over epochs (stacked on one epoch axis, like the paper's Figure 2) with the training
/// losses, all folds overlaid, the pooled confusion matrix and one per fold. The page is self-contained apart from
/// those PNGs (inline CSS, no scripts, no network), so the folder can be copied or zipped as is.
/// </summary>
public static class ReportWriter
{
    /// <summary>The page's default name inside the run directory.</summary>
    public const string DefaultFileName = "report.html";

    /// <summary>
    /// Writes the report for <paramref name="runDirectory"/> (or its results.json) to <paramref name="htmlPath"/>
    /// (default <c>RUN/report.html</c>; an existing directory means <c>DIR/report.html</c>). Images are named after
    /// the page (<c>report-confusion-pooled.png</c>, …) so several reports can share a folder.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The run directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">It has no results.json.</exception>
    /// <exception cref="InvalidDataException">results.json or an epochs.csv is malformed.</exception>
    public static ReportOutput Write(string runDirectory, string? htmlPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        var run = RunDirectory.Load(runDirectory);
        htmlPath = Path.GetFullPath(htmlPath ?? Path.Combine(run.Directory, DefaultFileName));
        if (Directory.Exists(htmlPath)) htmlPath = Path.Combine(htmlPath, DefaultFileName);
        var outDir = Path.GetDirectoryName(htmlPath)!;
        Directory.CreateDirectory(outDir);
        var prefix = Path.GetFileNameWithoutExtension(htmlPath);

        var images = new List<string>();
        var usedNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        ReportImage Save(Chart chart, string kind, string alt)
        {
            var stem = $"{prefix}-{kind}";
            var name = stem + ".png";
            for (var k = 2; !usedNames.Add(name); k++) name = $"{stem}-{k}.png";
            var path = Path.Combine(outDir, name);
            chart.SavePng(path);
            images.Add(path);
            return new ReportImage(name, chart.Width, chart.Height, alt);
        }

        var labels = run.Results.Labels;
        var pooled = run.Results.Pooled.Confusion is { } matrix
            ? Save(Charts.Confusion($"Pooled, n = {run.Results.Pooled.Test}", labels, matrix, 420), "confusion-pooled", "Pooled confusion matrix")
            : null;
        var foldConfusions = new List<(string Fold, ReportImage Image)>();
        if (run.Results.Folds.Count(f => f.Confusion is not null) >= 2)
        {
            foreach (var fold in run.Results.Folds.Where(f => f.Confusion is not null))
                foldConfusions.Add((fold.Name, Save(Charts.Confusion($"{Charts.Shorten(fold.Name, 30)}, n = {fold.Test}", labels, fold.Confusion!, 300),
                    "confusion-" + SafeFileName(fold.Name), $"Confusion matrix of {fold.Name}")));
        }

        var plotted = run.Curves.Where(c => c.Epochs.Count > 0).ToList();
        var overview = plotted.Count >= 2 && Charts.Overview(plotted) is { } all
            ? Save(all, "curves-all", "Validation UA and WER of every fold")
            : null;
        var foldCurves = run.Curves
            .Select(curves => (curves, Charts.FoldCurves(curves) is { } chart
                ? Save(chart, "curves-" + SafeFileName(curves.Name), $"Validation curves of {curves.Name}")
                : null))
            .ToList();

        var html = ReportHtml.Build(run, new ReportImages(pooled, foldConfusions, overview, foldCurves));
        var temp = htmlPath + ".tmp";
        File.WriteAllText(temp, html, new UTF8Encoding(false));
        File.Move(temp, htmlPath, overwrite: true);
        return new ReportOutput(htmlPath, images, run.Warnings);
    }

    /// <summary>A fold name reduced to characters safe in any file system and URL.</summary>
    internal static string SafeFileName(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray();
        var safe = new string(chars);
        return safe.Length == 0 ? "run" : safe.Length > 64 ? safe[..64] : safe;
    }
}

/// <summary>A PNG the page shows: its file name (relative to the page), pixel size and alt text.</summary>
internal sealed record ReportImage(string FileName, int Width, int Height, string Alt);

/// <summary>The images of one report, by role; null where there was nothing to draw.</summary>
internal sealed record ReportImages(ReportImage? PooledConfusion, IReadOnlyList<(string Fold, ReportImage Image)> FoldConfusions,
    ReportImage? Overview, IReadOnlyList<(RunCurves Curves, ReportImage? Image)> FoldCurves);
