using System.Globalization;
using ScottPlot;
using SerMtl.Experiments;

namespace SerMtl.Reporting;

/// <summary>A chart ready to be written as a PNG of a fixed size.</summary>
internal sealed class Chart(Action<string, int, int> save, int width, int height)
{
    public int Width { get; } = width;

    public int Height { get; } = height;

    public void SavePng(string path) => save(path, Width, Height);
}

/// <summary>The report's charts, drawn with ScottPlot: learning curves and confusion matrices.</summary>
internal static class Charts
{
    private static readonly Color Wa = Color.FromHex("#2563c9");
    private static readonly Color Ua = Color.FromHex("#e8710a");
    private static readonly Color Wer = Color.FromHex("#c62828");
    private static readonly Color Total = Color.FromHex("#475569");
    private static readonly Color Ce = Color.FromHex("#0f9d8a");
    private static readonly Color Ctc = Color.FromHex("#7b3fbf");

    /// <summary>
    /// One run's validation accuracy, validation WER and training losses (log scale) stacked on one epoch axis, the
    /// kept epoch dashed; null when the log has nothing to plot.
    /// </summary>
    public static Chart? FoldCurves(RunCurves curves)
    {
        var e = curves.Epochs;
        var maxEpoch = e.Count == 0 ? 1 : e.Max(r => r.Epoch);
        var panels = new List<Plot>();

        var accuracy = Panel("val. accuracy %");
        var hasAccuracy = AddSeries(accuracy, "WA", Wa, Points(e, r => r.ValWa, 100)) | AddSeries(accuracy, "UA", Ua, Points(e, r => r.ValUa, 100));
        if (hasAccuracy)
        {
            accuracy.Axes.SetLimitsY(0, 100);
            panels.Add(accuracy);
        }

        var wer = Panel("val. WER %");
        if (AddSeries(wer, "WER", Wer, Points(e, r => r.ValWer, 100)))
        {
            wer.Axes.SetLimitsY(0, Math.Max(100, e.Max(r => r.ValWer ?? 0) * 100 * 1.05));
            panels.Add(wer);
        }

        var loss = Panel("train loss (log)");
        var hasLoss = AddSeries(loss, "total", Total, LogPoints(e, r => r.TrainLoss))
            | AddSeries(loss, "CE", Ce, LogPoints(e, r => r.TrainCe))
            | AddSeries(loss, "CTC", Ctc, LogPoints(e, r => r.TrainCtc));
        if (hasLoss)
        {
            loss.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                IntegerTicksOnly = true,
                LabelFormatter = y => Math.Pow(10, y).ToString("G3", CultureInfo.InvariantCulture),
            };
            panels.Add(loss);
        }
        if (panels.Count == 0) return null;

        panels[0].Title(curves.Name == "run" && curves.Fold is null ? "Training run" : $"Fold {Shorten(curves.Name, 40)}");
        foreach (var panel in panels)
        {
            panel.Axes.SetLimitsX(0.5, maxEpoch + 0.5);
            if (curves.Fold?.BestEpoch is { } best)
            {
                var line = panel.Add.VerticalLine(best);
                line.LinePattern = LinePattern.Dashed;
                line.Color = Colors.Gray;
                line.LegendText = $"kept: epoch {best}";
            }
            panel.ShowLegend(ReferenceEquals(panel, accuracy) ? Alignment.LowerRight : Alignment.UpperRight);
        }
        panels[^1].XLabel("Epoch");
        return Stack(panels, 560, 190);
    }

    /// <summary>Every run's validation UA and WER over the same epochs; null when no run logged either.</summary>
    public static Chart? Overview(IReadOnlyList<RunCurves> runs)
    {
        var palette = new ScottPlot.Palettes.Category10();
        var ua = Panel("val. UA %");
        var wer = Panel("val. WER %");
        bool anyUa = false, anyWer = false;
        for (var i = 0; i < runs.Count; i++)
        {
            var color = palette.GetColor(i);
            var name = Shorten(runs[i].Name, 24);
            anyUa |= AddSeries(ua, name, color, Points(runs[i].Epochs, r => r.ValUa, 100), markers: false);
            anyWer |= AddSeries(wer, name, color, Points(runs[i].Epochs, r => r.ValWer, 100), markers: false);
        }
        var panels = new List<Plot>();
        if (anyUa)
        {
            ua.Axes.SetLimitsY(0, 100);
            panels.Add(ua);
        }
        if (anyWer) panels.Add(wer);
        if (panels.Count == 0) return null;
        panels[0].Title("All folds");
        panels[0].ShowLegend(Alignment.LowerRight);
        foreach (var panel in panels.Skip(1)) panel.HideLegend(); // one legend names the folds for both panels
        panels[^1].XLabel("Epoch");
        return Stack(panels, 560, 230);
    }

    /// <summary>
    /// A confusion matrix, rows true classes and columns predictions, coloured by the row-normalised share (each row
    /// sums to 100 %, the diagonal is the per-class recall) and labelled with the percentage and the count.
    /// </summary>
    public static Chart Confusion(string title, IReadOnlyList<string> labels, IReadOnlyList<IReadOnlyList<int>> counts, int size)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(counts);
        var n = labels.Count;
        if (counts.Count != n || counts.Any(r => r.Count != n))
            throw new ArgumentException($"the confusion matrix must be {n} x {n} (one row and column per label)", nameof(counts));
        var shares = new double[n, n];
        for (var r = 0; r < n; r++)
        {
            var total = counts[r].Sum(v => (long)v);
            for (var c = 0; c < n; c++) shares[r, c] = total == 0 ? double.NaN : 100.0 * counts[r][c] / total;
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Blues().Reversed(); // white at 0 %, deep blue at 100 %
        heatmap.ManualRange = new ScottPlot.Range(0, 100);
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = "% of the true class";
        for (var r = 0; r < n; r++)
        {
            for (var c = 0; c < n; c++)
            {
                var share = shares[r, c];
                var text = plot.Add.Text(double.IsNaN(share) ? "-" : $"{share.ToString("0", CultureInfo.InvariantCulture)}%\n{counts[r][c]}", c, n - 1 - r);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = n > 6 ? 10 : 13;
                text.LabelFontColor = share > 55 ? Colors.White : Colors.Black;
            }
        }
        var positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(positions, labels.Select(l => Shorten(l, 12)).ToArray());
        plot.Axes.Left.SetTicks(positions, labels.Reverse().Select(l => Shorten(l, 12)).ToArray());
        plot.XLabel("Predicted");
        plot.YLabel("True");
        plot.Title(title);
        plot.HideGrid();
        return new Chart((path, w, h) => plot.SavePng(path, w, h), size + 80, size);
    }

    private static Plot Panel(string title)
    {
        var plot = new Plot();
        plot.YLabel(title);
        plot.Axes.Left.Label.FontSize = 13;
        plot.Axes.Bottom.Label.FontSize = 13;
        plot.Legend.FontSize = 11;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        return plot;
    }

    /// <summary>Plots of one width stacked vertically into one image.</summary>
    private static Chart Stack(IReadOnlyList<Plot> panels, int width, int panelHeight)
    {
        var height = panelHeight * panels.Count + 30;
        return new Chart((path, w, h) =>
        {
            var multiplot = new Multiplot(panels[0]);
            foreach (var panel in panels.Skip(1)) multiplot.AddPlot(panel);
            multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
            multiplot.SavePng(path, w, h);
        }, width, height);
    }

    /// <summary>Adds a line with markers; returns false (adding nothing) when no point is finite.</summary>
    private static bool AddSeries(Plot plot, string name, Color color, List<(double X, double Y)> points, bool markers = true)
    {
        var finite = points.Where(p => double.IsFinite(p.Y)).ToList();
        if (finite.Count == 0) return false;
        var scatter = plot.Add.Scatter(finite.Select(p => p.X).ToArray(), finite.Select(p => p.Y).ToArray());
        scatter.LegendText = name;
        scatter.Color = color;
        scatter.LineWidth = 2;
        scatter.MarkerSize = markers && finite.Count <= 40 ? 5 : 0;
        return true;
    }

    private static List<(double X, double Y)> Points(IReadOnlyList<EpochRecord> rows, Func<EpochRecord, double?> value, double scale) =>
        rows.Where(r => value(r) is not null).Select(r => ((double)r.Epoch, value(r)!.Value * scale)).ToList();

    /// <summary>log10 of the positive values (a log axis: ScottPlot draws the ticks as powers of ten).</summary>
    private static List<(double X, double Y)> LogPoints(IReadOnlyList<EpochRecord> rows, Func<EpochRecord, double?> value) =>
        rows.Where(r => value(r) is > 0).Select(r => ((double)r.Epoch, Math.Log10(value(r)!.Value))).ToList();

    /// <summary><paramref name="text"/> cut to <paramref name="max"/> characters with an ellipsis.</summary>
    internal static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
