using System.Globalization;

namespace SerMtl.Cli.Reporting;

/// <summary>Where a rendered heatmap put its cells: cell (row, col) is the square at <see cref="Cell"/>.</summary>
internal sealed record HeatmapLayout(PixelRect Matrix, int CellSize)
{
    public PixelRect Cell(int row, int col) => new(Matrix.X + col * CellSize, Matrix.Y + row * CellSize, CellSize, CellSize);
}

/// <summary>
/// A confusion matrix as a heatmap: rows are true classes, columns predicted classes; each cell is coloured by its
/// row-normalised value (the share of that true class predicted as the column's class, so the diagonal reads as
/// per-class recall) and shows the count and the percentage. A full chart has axis captions, per-row totals and a
/// colour bar; the compact form (for small multiples) shows only percentages.
/// </summary>
internal static class ConfusionHeatmap
{
    private const int Gutter = 1; // white line between cells

    /// <summary>Renders the heatmap; <paramref name="counts"/> is [true class][predicted class].</summary>
    public static Canvas Render(string title, string? subtitle, IReadOnlyList<string> labels, IReadOnlyList<IReadOnlyList<int>> counts,
        out HeatmapLayout layout, bool compact = false)
    {
        var n = labels.Count;
        if (n == 0) throw new ArgumentException("confusion matrix has no classes", nameof(labels));
        if (counts.Count != n || counts.Any(r => r.Count != n))
            throw new ArgumentException($"confusion matrix must be {n}x{n} to match the labels", nameof(counts));

        var rowTotals = counts.Select(r => r.Sum(v => (long)v)).ToArray();
        labels = labels.Select(l => BitmapFont.Shorten(l, 24)).ToList();
        title = BitmapFont.Shorten(title, 60);
        var pad = compact ? 8 : 16;
        var cell = compact ? 38 : n <= 5 ? 92 : Math.Max(52, 480 / n);
        var titleScale = compact ? 1 : 2;
        var labelScale = compact || n > 6 ? 1 : 2; // class names match the counts' size on the full chart

        var rowLabelWidth = labels.Max(l => BitmapFont.Measure(l, labelScale));
        if (!compact) rowLabelWidth = Math.Max(rowLabelWidth, rowTotals.Max(t => BitmapFont.Measure(TotalText(t))));
        // Column captions: at the row labels' size when they fit the cells, else smaller, else turned upright.
        var columnScale = labelScale;
        var columnLabels = ColumnLabels(labels, cell - 4, columnScale, compact);
        if (columnScale > 1 && !columnLabels.All(l => BitmapFont.Measure(l, columnScale) <= cell - 4)) columnScale = 1;
        var columnsUpright = columnLabels.All(l => BitmapFont.Measure(l, columnScale) <= cell - 4);
        var columnLabelHeight = columnsUpright ? BitmapFont.CapHeight * columnScale : columnLabels.Max(l => BitmapFont.Measure(l, columnScale));

        var left = pad + (compact ? 0 : BitmapFont.LineHeight() + 14) + rowLabelWidth + 10;
        var top = pad + BitmapFont.CapHeight * titleScale + (subtitle is null ? 0 : BitmapFont.LineHeight() + 6) + (compact ? 10 : 16);
        var matrix = new PixelRect(left, top, n * cell, n * cell);
        layout = new HeatmapLayout(matrix, cell);

        var colorbarX = matrix.Right + 20;
        var width = compact ? matrix.Right + pad : colorbarX + 14 + 8 + BitmapFont.Measure("100%") + pad;
        width = Math.Max(width, LineChart.MeasureBold(title, titleScale) + 2 * pad);
        if (subtitle is not null) width = Math.Max(width, BitmapFont.Measure(subtitle) + 2 * pad);
        var height = matrix.Bottom + 8 + columnLabelHeight + (compact ? 0 : 14 + BitmapFont.CapHeight) + pad;

        var canvas = new Canvas(width, height, Palette.Background);
        LineChart.DrawBoldText(canvas, title, pad, pad, Palette.Title, titleScale);
        if (subtitle is not null) canvas.DrawText(subtitle, pad, pad + BitmapFont.CapHeight * titleScale + 8, Palette.Muted);

        for (var r = 0; r < n; r++)
        {
            for (var c = 0; c < n; c++)
            {
                var rect = layout.Cell(r, c);
                var inner = new PixelRect(rect.X + Gutter, rect.Y + Gutter, rect.Width - 2 * Gutter, rect.Height - 2 * Gutter);
                if (rowTotals[r] == 0)
                {
                    canvas.FillRect(inner, Palette.Empty);
                    canvas.DrawTextCentered("-", inner.CenterX, (int)inner.CenterY - 3, Palette.Muted);
                    continue;
                }
                var share = counts[r][c] / (double)rowTotals[r];
                var fill = Palette.Ramp(share);
                canvas.FillRect(inner, fill);
                var ink = Palette.TextOn(fill);
                var percent = FormatPercent(share);
                var cy = (int)Math.Round(inner.CenterY);
                if (compact)
                {
                    canvas.DrawTextCentered(percent, inner.CenterX, cy - BitmapFont.CapHeight / 2 - 1, ink);
                }
                else
                {
                    var count = counts[r][c].ToString(CultureInfo.InvariantCulture);
                    var scale = BitmapFont.Measure(count, 2) <= inner.Width - 8 ? 2 : 1;
                    canvas.DrawTextCentered(count, inner.CenterX, cy - BitmapFont.CapHeight * scale - 2, ink, scale);
                    canvas.DrawTextCentered(percent, inner.CenterX, cy + 5, ink);
                }
            }

            // Row label right-aligned against the matrix, with the row's total beneath it on the full chart.
            var labelRight = matrix.X - 10;
            var cyRow = (int)Math.Round(layout.Cell(r, 0).CenterY);
            if (compact)
            {
                canvas.DrawTextRight(labels[r], labelRight, cyRow - BitmapFont.CapHeight / 2 - 1, Palette.Text);
            }
            else
            {
                var labelY = cyRow - BitmapFont.CapHeight * labelScale - 1;
                canvas.DrawTextRight(labels[r], labelRight, labelY, Palette.Title, labelScale);
                canvas.DrawTextRight(TotalText(rowTotals[r]), labelRight, cyRow + 5, Palette.Muted);
            }
        }

        // Column labels under the matrix: upright when they fit the cell, else turned to read upwards.
        for (var c = 0; c < n; c++)
        {
            var rect = layout.Cell(0, c);
            var text = columnLabels[c];
            if (columnsUpright)
                canvas.DrawTextCentered(text, rect.CenterX, matrix.Bottom + 8, compact ? Palette.Text : Palette.Title, columnScale);
            else
                canvas.DrawTextUp(text, (int)Math.Round(rect.CenterX) - BitmapFont.CapHeight * columnScale / 2,
                    matrix.Bottom + 8 + BitmapFont.Measure(text, columnScale), Palette.Text, columnScale);
        }

        if (!compact)
        {
            var captionY = matrix.Bottom + 8 + columnLabelHeight + 14;
            canvas.DrawTextCentered("Predicted", matrix.CenterX, captionY, Palette.Text, bold: true);
            const string TrueCaption = "True class";
            var captionWidth = BitmapFont.Measure(TrueCaption, bold: true);
            canvas.DrawTextUp(TrueCaption, pad, (int)Math.Round(matrix.CenterY + captionWidth / 2.0), Palette.Text, bold: true);
            DrawColorbar(canvas, new PixelRect(colorbarX, matrix.Y, 14, matrix.Height));
        }
        return canvas;
    }

    /// <summary>Small multiples: one compact heatmap per fold, laid out in a grid no wider than <paramref name="maxWidth"/>.</summary>
    public static Canvas RenderGrid(string title, IReadOnlyList<string> labels, IReadOnlyList<(string Name, IReadOnlyList<IReadOnlyList<int>> Counts)> folds,
        int maxWidth = 1100)
    {
        const int Pad = 8;
        if (folds.Count == 0) throw new ArgumentException("no folds to draw", nameof(folds));
        var tiles = folds.Select(f => Render(f.Name, null, labels, f.Counts, out _, compact: true)).ToList();
        var tileW = tiles.Max(t => t.Width);
        var tileH = tiles.Max(t => t.Height);
        var maxColumns = Math.Clamp((maxWidth - 2 * Pad) / tileW, 1, folds.Count);
        // Balance the rows: 10 folds in 5 + 5 rather than 4 + 4 + 2.
        var rows = (folds.Count + maxColumns - 1) / maxColumns;
        var columns = (folds.Count + rows - 1) / rows;
        var top = 16 + BitmapFont.CapHeight * 2 + 8;
        var width = Math.Max(columns * tileW + 2 * Pad, LineChart.MeasureBold(title, 2) + 32);
        var canvas = new Canvas(width, top + rows * tileH + Pad, Palette.Background);
        LineChart.DrawBoldText(canvas, title, 16, 16, Palette.Title, 2);
        for (var i = 0; i < tiles.Count; i++)
            canvas.Blit(tiles[i], Pad + (i % columns) * tileW, top + (i / columns) * tileH);
        return canvas;
    }

    /// <summary>Column captions: the labels, or their first three letters on a compact chart when the full names do not fit.</summary>
    private static IReadOnlyList<string> ColumnLabels(IReadOnlyList<string> labels, int room, int scale, bool compact)
    {
        if (!compact || labels.All(l => BitmapFont.Measure(l, scale) <= room)) return labels;
        var shortened = labels.Select(l => l.Length > 3 ? l[..3] : l).ToList();
        return shortened.Distinct(StringComparer.Ordinal).Count() == labels.Count ? shortened : labels;
    }

    private static void DrawColorbar(Canvas canvas, PixelRect bar)
    {
        for (var y = 0; y < bar.Height; y++)
            canvas.FillRect(bar.X, bar.Bottom - 1 - y, bar.Width, 1, Palette.Ramp(y / (double)(bar.Height - 1)));
        canvas.StrokeRect(bar, Palette.Axis);
        foreach (var t in new[] { 0, 25, 50, 75, 100 })
        {
            var y = bar.Bottom - 1 - (int)Math.Round(t / 100.0 * (bar.Height - 1));
            canvas.FillRect(bar.Right, y, 4, 1, Palette.Axis);
            canvas.DrawText(t.ToString(CultureInfo.InvariantCulture) + "%", bar.Right + 7, y - BitmapFont.CapHeight / 2, Palette.Muted);
        }
    }

    private static string TotalText(long total) => "n = " + total.ToString(CultureInfo.InvariantCulture);

    private static string FormatPercent(double share) => (share * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
