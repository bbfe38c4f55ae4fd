namespace SerMtl.Cli.Reporting;

/// <summary>The report's colours: neutral greys for chrome, a categorical set for series, a blue ramp for heatmaps.</summary>
internal static class Palette
{
    public static readonly Rgba Background = new(255, 255, 255);
    public static readonly Rgba Title = Rgba.Hex("#111827");
    public static readonly Rgba Text = Rgba.Hex("#374151");
    public static readonly Rgba Muted = Rgba.Hex("#6b7280");
    public static readonly Rgba Grid = Rgba.Hex("#e8ebef");
    public static readonly Rgba Axis = Rgba.Hex("#9ca3af");
    public static readonly Rgba Marker = Rgba.Hex("#6b7280");
    public static readonly Rgba Empty = Rgba.Hex("#f3f4f6");

    public static readonly Rgba Blue = Rgba.Hex("#2563c9");
    public static readonly Rgba Orange = Rgba.Hex("#e8772e");
    public static readonly Rgba Green = Rgba.Hex("#2a9d5c");
    public static readonly Rgba Red = Rgba.Hex("#d64545");
    public static readonly Rgba Purple = Rgba.Hex("#8456c9");
    public static readonly Rgba Slate = Rgba.Hex("#4b5563");
    public static readonly Rgba Teal = Rgba.Hex("#1a9aa8");

    /// <summary>Distinct colours for up to ten series (folds); they repeat after that.</summary>
    public static readonly IReadOnlyList<Rgba> Categorical =
    [
        Blue, Orange, Green, Red, Purple,
        Rgba.Hex("#9c6b3f"), Rgba.Hex("#d35ea8"), Rgba.Hex("#5f6b7a"), Rgba.Hex("#b09a12"), Teal,
    ];

    // A light-to-dark blue ramp: near-white for 0 so empty cells recede, deep navy for 1.
    private static readonly Rgba RampLow = Rgba.Hex("#f4f8fc");
    private static readonly Rgba RampMid = Rgba.Hex("#7eaed8");
    private static readonly Rgba RampHigh = Rgba.Hex("#123f7a");

    /// <summary>The heatmap colour of a value in [0, 1] (clamped).</summary>
    public static Rgba Ramp(double t)
    {
        t = Math.Clamp(double.IsFinite(t) ? t : 0, 0, 1);
        return t < 0.5 ? RampLow.Lerp(RampMid, t * 2) : RampMid.Lerp(RampHigh, (t - 0.5) * 2);
    }

    /// <summary>Black-ish or white text, whichever reads better on <paramref name="background"/>.</summary>
    public static Rgba TextOn(Rgba background) => background.Luminance < 0.55 ? new Rgba(255, 255, 255) : Title;
}
