using SerMtl.Cli.Reporting;

namespace SerMtl.Tests.Cli.Reporting;

public class BitmapFontTests
{
    private static readonly Rgba White = new(255, 255, 255);
    private static readonly Rgba Black = new(0, 0, 0);

    [Fact]
    public void EveryPrintableAsciiCharacter_DrawsInkInsideItsMeasuredBox()
    {
        for (var ch = '!'; ch <= '~'; ch++)
        {
            var text = ch.ToString();
            var canvas = new Canvas(20, 20, White);
            canvas.DrawText(text, 5, 5, Black);
            var width = BitmapFont.Measure(text);
            var inked = Ink(canvas).ToList();
            Assert.True(inked.Count > 0, $"'{ch}' draws nothing");
            Assert.All(inked, p =>
            {
                Assert.InRange(p.X, 5, 5 + width - 1);
                Assert.InRange(p.Y, 5, 5 + BitmapFont.LineHeight() - 1);
            });
        }
    }

    [Fact]
    public void Digits_AllHaveTheSameWidth_SoColumnsOfNumbersAlign()
    {
        var widths = "0123456789".Select(d => BitmapFont.Measure(d.ToString())).Distinct();
        Assert.Single(widths);
        Assert.Equal(BitmapFont.Measure("1111"), BitmapFont.Measure("8888"));
    }

    [Fact]
    public void Measure_ScalesLinearlyAndBoldIsWider()
    {
        Assert.Equal(2 * BitmapFont.Measure("Epoch"), BitmapFont.Measure("Epoch", 2));
        Assert.True(BitmapFont.Measure("Epoch", bold: true) > BitmapFont.Measure("Epoch"));
        Assert.Equal(0, BitmapFont.Measure(""));
    }

    [Fact]
    public void CharacterOutsideTheTable_DrawsAsQuestionMark()
    {
        var a = new Canvas(20, 20, White);
        var b = new Canvas(20, 20, White);
        a.DrawText("\u03b1", 2, 2, Black);
        b.DrawText("?", 2, 2, Black);
        Assert.True(a.Pixels.SequenceEqual(b.Pixels));
    }

    [Fact]
    public void DrawTextUp_RotatesTheTextToReadUpwards()
    {
        var canvas = new Canvas(30, 60, White);
        var width = BitmapFont.Measure("Epoch");

        canvas.DrawTextUp("Epoch", 10, 50, Black);

        var inked = Ink(canvas).ToList();
        Assert.InRange(inked.Min(p => p.Y), 50 - width, 49);
        Assert.InRange(inked.Max(p => p.Y), 50 - width, 49);
        Assert.InRange(inked.Max(p => p.X), 10, 10 + BitmapFont.LineHeight() - 1);
    }

    [Fact]
    public void Shorten_LongLabel_IsCutWithMarker()
    {
        Assert.Equal("neutral", BitmapFont.Shorten("neutral", 10));
        Assert.Equal("abcdefgh..", BitmapFont.Shorten(new string('a', 1) + "bcdefghijklmnop", 10));
    }

    private static IEnumerable<(int X, int Y)> Ink(Canvas canvas)
    {
        for (var y = 0; y < canvas.Height; y++)
            for (var x = 0; x < canvas.Width; x++)
                if (canvas.GetPixel(x, y) != White) yield return (x, y);
    }
}
