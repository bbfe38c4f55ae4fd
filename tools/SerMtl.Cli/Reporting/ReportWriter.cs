using System.Globalization;
using System.Text;

namespace SerMtl.Cli.Reporting;

/// <summary>What <see cref="ReportWriter.Write"/> produced.</summary>
/// <param name="HtmlPath">The report page.</param>
/// <param name="Images">The PNG files it references, all in the page's folder.</param>
/// <param name="Warnings">Inconsistencies found in the run (also shown on the page).</param>
internal sealed record ReportOutput(string HtmlPath, IReadOnlyList<string> Images, IReadOnlyList<string> Warnings);

/// <summary>
/// Turns a run directory into <c>report.html</c> plus PNG charts beside it: per-fold validation accuracy and WER
/// over epochs (stacked on one epoch axis, like the paper's Figure 2), training losses, all folds overlaid, the
/// pooled confusion matrix and one per fold. The page is self-contained apart from those PNGs (inline CSS, no
/// scripts, no network), so the folder can be copied or zipped as is. <c>sermtl cv</c> and <c>demo</c> call
/// <see cref="Write"/> when they finish; <c>sermtl report</c> calls it on demand.
/// </summary>
internal static class ReportWriter
{
    /// <summary>The page's default name inside the run directory.</summary>
    public const string DefaultFileName = "report.html";

    /// <summary>
    /// Writes the report for <paramref name="runDirectory"/> to <paramref name="htmlPath"/> (default
    /// <c>RUN/report.html</c>; an existing directory means <c>DIR/report.html</c>). Images are named after the page
    /// (<c>report-confusion-pooled.png</c>, …) so several reports can share a folder.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The run directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">It has no results.json.</exception>
    /// <exception cref="InvalidDataException">results.json or an epochs.csv is malformed.</exception>
    public static ReportOutput Write(string runDirectory, string? htmlPath = null)
    {
        var run = RunDirectory.Load(runDirectory);
        htmlPath = Path.GetFullPath(htmlPath ?? Path.Combine(run.Directory, DefaultFileName));
        if (Directory.Exists(htmlPath)) htmlPath = Path.Combine(htmlPath, DefaultFileName);
        var outDir = Path.GetDirectoryName(htmlPath)!;
        Directory.CreateDirectory(outDir);
        var prefix = Path.GetFileNameWithoutExtension(htmlPath);

        var images = new List<string>();
        var usedNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string Save(Canvas canvas, string kind, out ReportImage image, string alt)
        {
            var stem = $"{prefix}-{kind}";
            var name = stem + ".png";
            for (var k = 2; !usedNames.Add(name); k++) name = $"{stem}-{k}.png";
            var path = Path.Combine(outDir, name);
            PngEncoder.Save(canvas, path);
            images.Add(path);
            image = new ReportImage(name, canvas.Width, canvas.Height, alt);
            return path;
        }

        var labels = run.Results.Labels;
        ReportImage? pooledImage = null;
        if (run.Results.Pooled.Confusion is { } pooled)
        {
            var subtitle = $"row-normalised: each row shows where one true class went; n = {run.Results.Pooled.Test}";
            Save(ConfusionHeatmap.Render("Pooled confusion matrix", subtitle, labels, pooled, out _), "confusion-pooled", out var img,
                "Pooled confusion matrix");
            pooledImage = img;
        }

        ReportImage? foldsConfusionImage = null;
        var foldMatrices = run.Results.Folds.Where(f => f.Confusion is not null).Select(f => (f.Name, f.Confusion!)).ToList();
        if (foldMatrices.Count >= 2)
        {
            Save(ConfusionHeatmap.RenderGrid("Confusion matrix per fold (row-normalised %)", labels, foldMatrices), "confusion-folds", out var img,
                "Confusion matrix of each fold");
            foldsConfusionImage = img;
        }

        ReportImage? overviewImage = null;
        var plotted = run.Curves.Where(c => c.Epochs.Count > 0).ToList();
        if (plotted.Count >= 2 && OverviewFigure(plotted) is { } overview)
        {
            Save(LineChart.Render(overview), "curves-all", out var img, "Validation UA and WER of every fold");
            overviewImage = img;
        }

        var foldImages = new List<(RunCurves Curves, ReportImage? Image)>();
        foreach (var curves in run.Curves)
        {
            ReportImage? image = null;
            if (FoldFigure(curves, run.Results.Alpha) is { } figure)
            {
                Save(LineChart.Render(figure), "curves-" + SafeFileName(curves.Name), out var img, $"Validation curves of {curves.Name}");
                image = img;
            }
            foldImages.Add((curves, image));
        }

        var html = ReportHtml.Build(run, new ReportImages(pooledImage, foldsConfusionImage, overviewImage, foldImages));
        var temp = htmlPath + ".tmp";
        File.WriteAllText(temp, html, new UTF8Encoding(false));
        File.Move(temp, htmlPath, overwrite: true);
        return new ReportOutput(htmlPath, images, run.Warnings);
    }

    /// <summary>Accuracy over WER over losses for one run's epochs; null when the log has nothing to plot.</summary>
    internal static LineFigure? FoldFigure(RunCurves curves, double alpha)
    {
        var e = curves.Epochs;
        static List<(double, double)> Points(IReadOnlyList<EpochRecord> rows, Func<EpochRecord, double?> value, double scale = 1) =>
            rows.Where(r => value(r) is not null).Select(r => ((double)r.Epoch, value(r)!.Value * scale)).ToList();

        var panels = new List<ChartPanel>();
        var accuracy = new List<ChartSeries>();
        AddSeries(accuracy, "WA", Palette.Blue, Points(e, r => r.ValWa, 100));
        AddSeries(accuracy, "UA", Palette.Orange, Points(e, r => r.ValUa, 100));
        if (accuracy.Count > 0) panels.Add(new ChartPanel("Validation accuracy (%)", accuracy) { PlotHeight = 170, Floor = 0, Ceiling = 100 });

        var wer = new List<ChartSeries>();
        AddSeries(wer, "WER", Palette.Red, Points(e, r => r.ValWer, 100));
        if (wer.Count > 0) panels.Add(new ChartPanel("Validation WER (%)", wer) { PlotHeight = 110, Floor = 0 });

        var loss = new List<ChartSeries>();
        AddSeries(loss, "total", Palette.Slate, Points(e, r => r.TrainLoss), positive: true);
        AddSeries(loss, "CE", Palette.Teal, Points(e, r => r.TrainCe), positive: true);
        AddSeries(loss, "CTC", Palette.Purple, Points(e, r => r.TrainCtc), positive: true);
        if (loss.Count > 0) panels.Add(new ChartPanel("Training loss (log scale)", loss) { PlotHeight = 110, Scale = AxisScale.Log });

        if (panels.Count == 0) return null;
        var subtitle = curves.Fold is { } fold
            ? $"validation split, per epoch   |   test: WA {Percent(fold.WeightedAccuracy)}, UA {Percent(fold.UnweightedAccuracy)}, n = {fold.Test}"
            : curves.Name == "run" ? "validation split, per epoch" : "validation split, per epoch   |   no test result yet";
        var title = curves.Name == "run" && curves.Fold is null ? "Training run" : $"Fold {BitmapFont.Shorten(curves.Name, 32)}";
        return new LineFigure(title, "Epoch", panels)
        {
            Subtitle = subtitle + $"   |   alpha = {alpha.ToString("G4", CultureInfo.InvariantCulture)}",
            Width = 540,
            MarkerX = curves.Fold?.BestEpoch,
            MarkerLabel = curves.Fold?.BestEpoch is { } b ? $"kept: epoch {b}" : null,
        };
    }

    /// <summary>Every fold's validation UA and WER on one epoch axis; null when no fold logged either.</summary>
    internal static LineFigure? OverviewFigure(IReadOnlyList<RunCurves> runs)
    {
        var ua = new List<ChartSeries>();
        var wer = new List<ChartSeries>();
        for (var i = 0; i < runs.Count; i++)
        {
            var color = Palette.Categorical[i % Palette.Categorical.Count];
            var rows = runs[i].Epochs;
            var name = BitmapFont.Shorten(runs[i].Name, 24);
            AddSeries(ua, name, color, rows.Where(r => r.ValUa is not null).Select(r => ((double)r.Epoch, r.ValUa!.Value * 100)).ToList());
            AddSeries(wer, name, color, rows.Where(r => r.ValWer is not null).Select(r => ((double)r.Epoch, r.ValWer!.Value * 100)).ToList());
        }
        var panels = new List<ChartPanel>();
        if (ua.Count > 0) panels.Add(new ChartPanel("Validation UA (%)", ua) { PlotHeight = 190, Floor = 0, Ceiling = 100 });
        if (wer.Count > 0) panels.Add(new ChartPanel("Validation WER (%)", wer) { PlotHeight = 140, Floor = 0, ShowLegend = ua.Count == 0 });
        if (panels.Count == 0) return null;
        return new LineFigure("All folds", "Epoch", panels) { Subtitle = "validation split of each fold, per epoch", Width = 540, MaxPointsWithDots = 0 };
    }

    private static void AddSeries(List<ChartSeries> into, string name, Rgba color, List<(double X, double Y)> points, bool positive = false)
    {
        if (points.Any(p => double.IsFinite(p.Y) && (!positive || p.Y > 0))) into.Add(new ChartSeries(name, color, points));
    }

    internal static string Percent(double? fraction, int decimals = 1) =>
        fraction is { } f && double.IsFinite(f) ? (f * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%" : "n/a";

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
internal sealed record ReportImages(ReportImage? PooledConfusion, ReportImage? FoldConfusions, ReportImage? Overview,
    IReadOnlyList<(RunCurves Curves, ReportImage? Image)> FoldCurves);
