using SerMtl.Cli.Reporting;

namespace SerMtl.Tests.Cli.Reporting;

public class CanvasTests
{
    private static readonly Rgba White = new(255, 255, 255);
    private static readonly Rgba Red = new(255, 0, 0);

    [Fact]
    public void FillRect_OutsideTheCanvas_IsClipped()
    {
        var canvas = new Canvas(10, 10, White);

        canvas.FillRect(-5, -5, 8, 8, Red);

        Assert.Equal(Red, canvas.GetPixel(0, 0));
        Assert.Equal(Red, canvas.GetPixel(2, 2));
        Assert.Equal(White, canvas.GetPixel(3, 3));
    }

    [Fact]
    public void Blend_HalfTransparentRedOnWhite_GivesPink()
    {
        var canvas = new Canvas(1, 1, White);

        canvas.Blend(0, 0, Red.WithAlpha(0.5));

        var p = canvas.GetPixel(0, 0);
        Assert.Equal(255, p.R);
        Assert.InRange(p.G, 126, 128);
        Assert.Equal(255, p.A);
    }

    [Fact]
    public void DrawLine_Thick_IsSolidOnTheAxisAntiAliasedAtTheEdgeAndEmptyBeyond()
    {
        var canvas = new Canvas(40, 20, White);

        canvas.DrawLine(5, 10, 35, 10, width: 3, Red); // covers y in [8.5, 11.5]

        Assert.Equal(Red, canvas.GetPixel(20, 9));
        Assert.Equal(Red, canvas.GetPixel(20, 10));
        var edge = canvas.GetPixel(20, 8); // centre 8.5: half covered
        Assert.InRange(edge.G, 100, 160);
        Assert.Equal(White, canvas.GetPixel(20, 6));
        Assert.Equal(White, canvas.GetPixel(20, 13));
    }

    [Fact]
    public void StrokePolyline_TranslucentJoin_IsNotDarkerThanTheSegments()
    {
        var canvas = new Canvas(40, 40, White);
        var color = new Rgba(0, 0, 255).WithAlpha(0.5);

        canvas.StrokePolyline([(5, 20), (20, 20), (20, 35)], 4, color);

        // Coverage is merged over segments before blending, so the corner blends once, like the straight parts.
        Assert.Equal(canvas.GetPixel(12, 20), canvas.GetPixel(20, 20));
    }

    [Fact]
    public void Constructor_AbsurdSize_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Canvas(100_000, 10, White));
}
