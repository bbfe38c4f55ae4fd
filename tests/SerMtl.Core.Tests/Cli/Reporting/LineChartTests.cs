using SerMtl.Cli.Reporting;

namespace SerMtl.Tests.Cli.Reporting;

public class LineChartTests
{
    [Fact]
    public void Render_StackedPanels_DrawsEverySeriesInItsColour()
    {
        var acc = new ChartSeries("UA", Palette.Orange, [(1, 30), (2, 50), (3, 70)]);
        var wer = new ChartSeries("WER", Palette.Red, [(1, 100), (2, 40), (3, 30)]);
        var figure = new LineFigure("Fold A", "Epoch", [new ChartPanel("acc", [acc]), new ChartPanel("wer", [wer]) { PlotHeight = 80 }]);

        var canvas = LineChart.Render(figure);

        var colours = Pixels(canvas).ToHashSet();
        Assert.Contains(Palette.Orange, colours);
        Assert.Contains(Palette.Red, colours);
        Assert.Equal(figure.Width, canvas.Width);
    }

    [Fact]
    public void Render_NonFiniteValues_LeaveAGapInsteadOfFailing()
    {
        var loss = new ChartSeries("CE", Palette.Teal, [(1, 2), (2, double.NaN), (3, 1), (4, double.PositiveInfinity), (5, 0.5)]);
        var figure = new LineFigure("f", "Epoch", [new ChartPanel("loss", [loss]) { Scale = AxisScale.Log }]) { MarkerX = 3, MarkerLabel = "kept" };

        var canvas = LineChart.Render(figure);

        Assert.Contains(Palette.Teal, Pixels(canvas));
    }

    [Fact]
    public void Render_ManySeries_WrapsTheLegendAndGrowsThePanelHeader()
    {
        ChartSeries S(int i) => new($"Ses0{i}F-long-name", Palette.Categorical[i % 10], [(1, i), (2, i + 1)]);
        var one = LineChart.Render(new LineFigure("f", "Epoch", [new ChartPanel("UA", [S(1)])]));
        var ten = LineChart.Render(new LineFigure("f", "Epoch", [new ChartPanel("UA", Enumerable.Range(0, 10).Select(S).ToList())]));

        Assert.True(ten.Height > one.Height);
        Assert.Equal(one.Width, ten.Width);
    }

    private static IEnumerable<Rgba> Pixels(Canvas canvas)
    {
        for (var y = 0; y < canvas.Height; y++)
            for (var x = 0; x < canvas.Width; x++)
                yield return canvas.GetPixel(x, y);
    }
}
