namespace SerMtl.Cli.Reporting;

/// <summary>One line on a chart. Non-finite Y values (and, on a log axis, Y ≤ 0) leave a gap.</summary>
internal sealed record ChartSeries(string Name, Rgba Color, IReadOnlyList<(double X, double Y)> Points)
{
    /// <summary>True to draw the line dashed (e.g. a secondary quantity).</summary>
    public bool Dashed { get; init; }
}

/// <summary>
/// A panel of a figure: a title (which doubles as the Y-axis caption, units included), its series and Y scale.
/// <see cref="Floor"/> / <see cref="Ceiling"/> bound the automatic range (accuracy stays within 0–100 %).
/// </summary>
internal sealed record ChartPanel(string Title, IReadOnlyList<ChartSeries> Series)
{
    public AxisScale Scale { get; init; } = AxisScale.Linear;

    /// <summary>Height of the plot area in pixels.</summary>
    public int PlotHeight { get; init; } = 170;

    public double? Floor { get; init; }
    public double? Ceiling { get; init; }

    /// <summary>False when a panel above already shows the same series' legend.</summary>
    public bool ShowLegend { get; init; } = true;
}

/// <summary>
/// A figure of one or more panels stacked over a shared X axis (like the paper's Figure 2: accuracy above, WER
/// below, same epochs). An optional vertical marker (the selected epoch) runs through every panel.
/// </summary>
internal sealed record LineFigure(string Title, string XLabel, IReadOnlyList<ChartPanel> Panels)
{
    public string? Subtitle { get; init; }
    public int Width { get; init; } = 600;
    public double? MarkerX { get; init; }
    public string? MarkerLabel { get; init; }

    /// <summary>Draw a dot at each point when a series has at most this many points.</summary>
    public int MaxPointsWithDots { get; init; } = 40;
}

/// <summary>Renders a <see cref="LineFigure"/> onto a <see cref="Canvas"/>.</summary>
internal static class LineChart
{
    private const int Pad = 16;
    private const int TitleScale = 2;
    private const int RightMargin = 18;
    private const int PanelGap = 18;
    private const int LegendLine = 14;
    private const int SwatchLength = 18;
    private const double LineWidth = 2.2;
    private const double DotRadius = 2.7;

    public static Canvas Render(LineFigure figure)
    {
        if (figure.Panels.Count == 0) throw new ArgumentException($"figure '{figure.Title}' has no panels", nameof(figure));
        var xs = figure.Panels.SelectMany(p => p.Series).SelectMany(s => s.Points).Select(p => p.X).Where(double.IsFinite).ToList();
        if (figure.MarkerX is { } m) xs.Add(m);
        var xAxis = ChartAxis.Linear(xs.DefaultIfEmpty(0).Min(), xs.DefaultIfEmpty(1).Max(), targetTicks: 6, integer: true, tight: true);
        var yAxes = figure.Panels.Select(YAxis).ToList();

        var tickWidth = yAxes.SelectMany(a => a.Ticks.Select(a.Label)).Max(l => BitmapFont.Measure(l));
        var left = Pad + tickWidth + 8;
        var right = figure.Width - RightMargin;
        var plotWidth = right - left;

        var top = Pad + BitmapFont.CapHeight * TitleScale + 8;
        if (figure.Subtitle is not null) top += BitmapFont.LineHeight() + 4;
        top += 10;

        // Legend rows per panel: entries flow right-to-left after the panel title and wrap when they run out.
        var legends = figure.Panels.Select(p => LayoutLegend(p, plotWidth)).ToList();
        var height = top;
        for (var i = 0; i < figure.Panels.Count; i++)
            height += legends[i].Height + figure.Panels[i].PlotHeight + (i < figure.Panels.Count - 1 ? PanelGap : 0);
        height += 6 + BitmapFont.CapHeight + 10 + BitmapFont.CapHeight + Pad;

        var canvas = new Canvas(figure.Width, height, Palette.Background);
        DrawBoldText(canvas, figure.Title, Pad, Pad, Palette.Title, TitleScale);
        if (figure.Subtitle is not null)
            canvas.DrawText(figure.Subtitle, Pad, Pad + BitmapFont.CapHeight * TitleScale + 8, Palette.Muted);

        var y = top;
        for (var i = 0; i < figure.Panels.Count; i++)
        {
            var panel = figure.Panels[i];
            var legend = legends[i];
            DrawBoldText(canvas, panel.Title, left, y, Palette.Text);
            foreach (var (entry, ex, ey) in legend.Entries) DrawLegendEntry(canvas, entry, right - ex, y + ey, figure);
            y += legend.Height;
            var plot = new PixelRect(left, y, plotWidth, panel.PlotHeight);
            DrawPanel(canvas, plot, panel, xAxis, yAxes[i], figure, isBottom: i == figure.Panels.Count - 1, isTop: i == 0);
            y += panel.PlotHeight + PanelGap;
        }

        var labelY = y - PanelGap + 6 + BitmapFont.CapHeight + 10;
        canvas.DrawTextCentered(figure.XLabel, left + plotWidth / 2.0, labelY, Palette.Text);
        return canvas;
    }

    private static ChartAxis YAxis(ChartPanel panel)
    {
        var values = panel.Series.SelectMany(s => s.Points).Select(p => p.Y)
            .Where(v => double.IsFinite(v) && (panel.Scale == AxisScale.Linear || v > 0)).ToList();
        if (values.Count == 0) return ChartAxis.Linear(panel.Floor ?? 0, panel.Ceiling ?? 1);
        return panel.Scale == AxisScale.Log
            ? ChartAxis.Log(values.Min(), values.Max())
            : ChartAxis.Linear(values.Min(), values.Max(), targetTicks: Math.Clamp(panel.PlotHeight / 28, 3, 8), floor: panel.Floor, ceiling: panel.Ceiling,
                margin: 0.06);
    }

    private sealed record Legend(IReadOnlyList<(ChartSeries Entry, int RightOffset, int Top)> Entries, int Height);

    private static Legend LayoutLegend(ChartPanel panel, int plotWidth)
    {
        var titleWidth = MeasureBold(panel.Title) + 24;
        var entries = new List<(ChartSeries, int, int)>();
        var row = 0;
        var used = 0; // pixels used on this row, from the right edge
        var rowWidth = plotWidth - titleWidth;
        // Lay out right to left so the first series ends up leftmost on its row: measure in order, then mirror.
        var rowItems = new List<(ChartSeries Series, int Width)>();
        void FlushRow()
        {
            var offset = 0;
            for (var k = rowItems.Count - 1; k >= 0; k--)
            {
                entries.Add((rowItems[k].Series, offset + rowItems[k].Width, row * LegendLine));
                offset += rowItems[k].Width + 14;
            }
            rowItems.Clear();
            used = 0;
            row++;
            rowWidth = plotWidth; // rows below the title line have the whole width
        }
        foreach (var s in panel.ShowLegend ? panel.Series : Array.Empty<ChartSeries>())
        {
            var w = SwatchLength + 5 + BitmapFont.Measure(s.Name);
            if (rowItems.Count > 0 && used + 14 + w > rowWidth) FlushRow();
            rowItems.Add((s, w));
            used += (used > 0 ? 14 : 0) + w;
        }
        if (rowItems.Count > 0) FlushRow();
        return new Legend(entries, Math.Max(row, 1) * LegendLine + 6);
    }

    private static void DrawLegendEntry(Canvas canvas, ChartSeries s, int x, int y, LineFigure figure)
    {
        var cy = y + BitmapFont.CapHeight / 2.0;
        if (s.Dashed) canvas.DrawDashedLine(x, cy, x + SwatchLength, cy, LineWidth, s.Color, 5, 3);
        else canvas.DrawLine(x + 1, cy, x + SwatchLength - 1, cy, LineWidth, s.Color);
        if (s.Points.Count <= figure.MaxPointsWithDots) canvas.FillCircle(x + SwatchLength / 2.0, cy, DotRadius, s.Color);
        canvas.DrawText(s.Name, x + SwatchLength + 5, y, Palette.Text);
    }

    private static void DrawPanel(Canvas canvas, PixelRect plot, ChartPanel panel, ChartAxis xAxis, ChartAxis yAxis, LineFigure figure,
        bool isBottom, bool isTop)
    {
        double Px(double x) => plot.X + 0.5 + xAxis.Position(x) * (plot.Width - 1);
        double Py(double y) => plot.Bottom - 0.5 - yAxis.Position(y) * (plot.Height - 1);

        foreach (var t in yAxis.Ticks)
        {
            var py = (int)Math.Floor(Py(t));
            canvas.FillRect(plot.X, py, plot.Width, 1, Palette.Grid);
            canvas.DrawTextRight(yAxis.Label(t), plot.X - 8, py - BitmapFont.CapHeight / 2, Palette.Muted);
        }
        foreach (var t in xAxis.Ticks)
        {
            var px = (int)Math.Floor(Px(t));
            canvas.FillRect(px, plot.Y, 1, plot.Height, Palette.Grid);
            canvas.FillRect(px, plot.Bottom, 1, 4, Palette.Axis);
            if (isBottom) canvas.DrawTextCentered(xAxis.Label(t), px + 0.5, plot.Bottom + 7, Palette.Muted);
        }
        canvas.FillRect(plot.X, plot.Bottom - 1, plot.Width, 1, Palette.Axis);
        canvas.FillRect(plot.X, plot.Y, 1, plot.Height, Palette.Axis);

        if (figure.MarkerX is { } mx)
        {
            var px = Math.Floor(Px(mx)) + 0.5;
            canvas.DrawDashedLine(px, plot.Y, px, plot.Bottom - 1, 1.2, Palette.Marker, 4, 3);
        }

        // Lines may touch the frame; clip a little outside it so round caps on the edge are not sliced.
        var clip = new PixelRect(plot.X - 3, plot.Y - 3, plot.Width + 6, plot.Height + 6);
        foreach (var s in panel.Series)
        {
            var usable = s.Points.Where(p => double.IsFinite(p.X)).OrderBy(p => p.X).ToList();
            var run = new List<(double X, double Y)>();
            void Flush()
            {
                if (run.Count == 1) canvas.FillCircle(run[0].X, run[0].Y, LineWidth / 2 + 0.5, s.Color);
                else if (run.Count > 1 && !s.Dashed) canvas.StrokePolyline(run.ToArray(), LineWidth, s.Color, clip);
                else if (run.Count > 1)
                    for (var k = 0; k + 1 < run.Count; k++) canvas.DrawDashedLine(run[k].X, run[k].Y, run[k + 1].X, run[k + 1].Y, LineWidth, s.Color);
                run.Clear();
            }
            foreach (var (x, yv) in usable)
            {
                var ok = double.IsFinite(yv) && (yAxis.Scale == AxisScale.Linear || yv > 0);
                if (!ok)
                {
                    Flush();
                    continue;
                }
                run.Add((Px(x), Math.Clamp(Py(yv), plot.Y - 2.0, plot.Bottom + 1.0)));
            }
            Flush();
            if (usable.Count <= figure.MaxPointsWithDots)
            {
                foreach (var (x, yv) in usable)
                {
                    if (!double.IsFinite(yv) || (yAxis.Scale == AxisScale.Log && yv <= 0)) continue;
                    canvas.FillCircle(Px(x), Math.Clamp(Py(yv), plot.Y - 2.0, plot.Bottom + 1.0), DotRadius, s.Color);
                }
            }
        }

        if (isTop && figure.MarkerX is { } markerX && figure.MarkerLabel is { } label)
        {
            // The kept epoch is usually where accuracy peaks, so the panel's bottom edge is the free spot. Drawn
            // last, on a translucent white box, beside the marker on whichever side has room.
            var px = (int)Math.Floor(Px(markerX));
            var w = BitmapFont.Measure(label);
            var lx = px + 6 + w <= plot.Right - 4 ? px + 6 : px - 6 - w;
            var ly = plot.Bottom - BitmapFont.CapHeight - 7;
            canvas.FillRect(lx - 3, ly - 3, w + 6, BitmapFont.CapHeight + 6, Palette.Background.WithAlpha(0.9));
            canvas.DrawText(label, lx, ly, Palette.Text);
        }
    }

    /// <summary>
    /// Bold text (titles, captions). At scale 1 the font's bold (strokes doubled, spacing widened); larger text is
    /// drawn twice one device pixel apart, which thickens strokes without clogging counters.
    /// </summary>
    internal static void DrawBoldText(Canvas canvas, string text, int x, int y, Rgba color, int scale = 1)
    {
        if (scale == 1)
        {
            canvas.DrawText(text, x, y, color, bold: true);
            return;
        }
        canvas.DrawText(text, x, y, color, scale);
        canvas.DrawText(text, x + 1, y, color, scale);
    }

    /// <summary>Width of <see cref="DrawBoldText"/>'s output.</summary>
    internal static int MeasureBold(string text, int scale = 1) =>
        scale == 1 ? BitmapFont.Measure(text, bold: true) : BitmapFont.Measure(text, scale) + 1;
}
