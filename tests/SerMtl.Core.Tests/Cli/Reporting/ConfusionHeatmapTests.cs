using SerMtl.Cli.Reporting;

namespace SerMtl.Tests.Cli.Reporting;

public class ConfusionHeatmapTests
{
    private static readonly string[] Labels = ["neutral", "happy", "angry"];

    // Row-normalised: row 0 = [0.8, 0.2, 0], row 1 = [0.1, 0.6, 0.3], row 2 = [0, 0, 1].
    private static readonly int[][] Counts = [[8, 2, 0], [1, 6, 3], [0, 0, 5]];

    [Fact]
    public void Render_CellColour_IsTheRampColourOfItsRowNormalisedValue()
    {
        var canvas = ConfusionHeatmap.Render("t", null, Labels, Counts, out var layout);
        var (w, _, rgba) = PngTestReader.Decode(PngEncoder.Encode(canvas));

        double[][] expected = [[0.8, 0.2, 0], [0.1, 0.6, 0.3], [0, 0, 1]];
        for (var r = 0; r < 3; r++)
        {
            for (var c = 0; c < 3; c++)
            {
                // Sample near the cell's corner, inside the gutter and away from the centred text.
                var cell = layout.Cell(r, c);
                var i = ((cell.Y + 3) * w + cell.X + 3) * 4;
                var pixel = new Rgba(rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]);
                Assert.Equal(Palette.Ramp(expected[r][c]), pixel);
            }
        }
    }

    [Fact]
    public void Render_LargerShare_IsDarker()
    {
        var canvas = ConfusionHeatmap.Render("t", null, Labels, Counts, out var layout);
        double Luminance(int r, int c) => canvas.GetPixel(layout.Cell(r, c).X + 3, layout.Cell(r, c).Y + 3).Luminance;

        Assert.True(Luminance(0, 0) < Luminance(0, 1));   // 80 % vs 20 %
        Assert.True(Luminance(0, 1) < Luminance(0, 2));   // 20 % vs 0 %
        Assert.True(Luminance(2, 2) < Luminance(1, 1));   // 100 % vs 60 %
        // The same count means different things in different rows: colour follows the share, not the count.
        Assert.True(Luminance(2, 2) < Luminance(0, 0));   // 5 of 5 vs 8 of 10
    }

    [Fact]
    public void Render_CellText_ContrastsWithItsBackground()
    {
        var canvas = ConfusionHeatmap.Render("t", null, Labels, Counts, out var layout);

        // The dark 100 % cell carries white text; the pale 0 % cell dark text.
        Assert.Contains(CellPixels(canvas, layout.Cell(2, 2)), p => p == new Rgba(255, 255, 255));
        Assert.Contains(CellPixels(canvas, layout.Cell(0, 2)), p => p.Luminance < 0.3);
    }

    [Fact]
    public void Render_RowWithoutUtterances_IsGreyedOut()
    {
        var canvas = ConfusionHeatmap.Render("t", null, ["a", "b"], [[3, 1], [0, 0]], out var layout);

        Assert.Equal(Palette.Empty, canvas.GetPixel(layout.Cell(1, 0).X + 3, layout.Cell(1, 0).Y + 3));
    }

    [Fact]
    public void Render_MatrixNotMatchingLabels_Throws() =>
        Assert.Throws<ArgumentException>(() => ConfusionHeatmap.Render("t", null, Labels, [[1, 2], [3, 4]], out _));

    [Fact]
    public void RenderGrid_TenFolds_LaysOutTwoBalancedRows()
    {
        var folds = Enumerable.Range(1, 10).Select(i => ($"F{i}", (IReadOnlyList<IReadOnlyList<int>>)Counts)).ToList();
        var tile = ConfusionHeatmap.Render("F1", null, Labels, Counts, out _, compact: true);

        var grid = ConfusionHeatmap.RenderGrid("per fold", Labels, folds);

        Assert.True(grid.Width <= 1100);
        Assert.True(grid.Height < 3 * tile.Height + 60, $"grid height {grid.Height} for tiles of {tile.Height}");
    }

    private static IEnumerable<Rgba> CellPixels(Canvas canvas, PixelRect cell)
    {
        for (var y = cell.Y; y < cell.Bottom; y++)
            for (var x = cell.X; x < cell.Right; x++)
                yield return canvas.GetPixel(x, y);
    }
}
