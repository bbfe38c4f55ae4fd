using System.Globalization;

namespace SerMtl.Cli.Reporting;

/// <summary>How values map onto an axis.</summary>
internal enum AxisScale
{
    Linear,
    Log,
}

/// <summary>
/// A value axis: its range, its "nice" ticks (1, 2, 2.5 or 5 times a power of ten; 1-2-5 per decade on a log
/// axis) and their labels. <see cref="Position"/> maps a value to [0, 1] from <see cref="Min"/> to <see cref="Max"/>.
/// </summary>
internal sealed class ChartAxis
{
    private ChartAxis(double min, double max, AxisScale scale, IReadOnlyList<double> ticks)
    {
        Min = min;
        Max = max;
        Scale = scale;
        Ticks = ticks;
        Decimals = scale == AxisScale.Linear ? DecimalsFor(ticks) : 0;
    }

    public double Min { get; }
    public double Max { get; }
    public AxisScale Scale { get; }
    public IReadOnlyList<double> Ticks { get; }
    private int Decimals { get; }

    /// <summary>
    /// A linear axis covering [dataMin, dataMax] with about <paramref name="targetTicks"/> intervals. With
    /// <paramref name="tight"/> the range is the data's exactly (an epoch axis); with a <paramref name="margin"/>
    /// (a fraction of the data range) it is widened by that much on each side and ticks fall inside it; otherwise
    /// it is widened to whole ticks. Then it is limited to [floor, ceiling] when given (accuracy stays in 0–100 %).
    /// </summary>
    public static ChartAxis Linear(double dataMin, double dataMax, int targetTicks = 5, bool integer = false, bool tight = false,
        double? floor = null, double? ceiling = null, double? margin = null)
    {
        if (!double.IsFinite(dataMin) || !double.IsFinite(dataMax)) (dataMin, dataMax) = (0, 1);
        if (dataMax < dataMin) (dataMin, dataMax) = (dataMax, dataMin);
        if (dataMax - dataMin < 1e-12)
        {
            // One value (or a flat line): give it some room so it sits mid-axis instead of on the frame. A single
            // epoch gets half an epoch either side, keeping its one tick and no epoch 0.
            var pad = integer ? 0.5 : Math.Max(Math.Abs(dataMin) * 0.1, 1e-3);
            dataMin -= pad;
            dataMax += pad;
            tight = integer;
            margin = null;
        }
        var step = NiceStep((dataMax - dataMin) / Math.Max(targetTicks, 1));
        if (integer) step = Math.Max(1, Math.Round(step));
        double lo = dataMin, hi = dataMax;
        if (margin is { } m && !tight)
        {
            var pad = (dataMax - dataMin) * m;
            // Do not let the margin push a non-negative quantity below zero.
            lo = dataMin >= 0 && dataMin - pad < 0 ? 0 : dataMin - pad;
            hi = dataMax + pad;
        }
        else if (!tight)
        {
            lo = Math.Floor(dataMin / step + 1e-9) * step;
            hi = Math.Ceiling(dataMax / step - 1e-9) * step;
        }
        if (floor is { } f && lo < f) lo = f;
        if (ceiling is { } c && hi > c) hi = c;
        var ticks = new List<double>();
        for (var t = Math.Ceiling(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return new ChartAxis(lo, hi, AxisScale.Linear, ticks);
    }

    /// <summary>A base-10 log axis over the positive range [dataMin, dataMax].</summary>
    public static ChartAxis Log(double dataMin, double dataMax)
    {
        if (!(dataMin > 0) || !double.IsFinite(dataMax) || dataMax < dataMin) throw new ArgumentOutOfRangeException(nameof(dataMin), "log axis needs 0 < min <= max");
        var lowDecade = Math.Floor(Math.Log10(dataMin));
        var highDecade = Math.Ceiling(Math.Log10(dataMax));
        if (highDecade <= lowDecade) highDecade = lowDecade + 1;
        var decades = highDecade - lowDecade;
        // Few decades: 1-2-5 ticks, and the range snaps to the ticks around the data rather than whole decades.
        double[] mantissas = decades <= 2 ? [1, 2, 5] : [1];
        var every = decades > 6 ? 2 : 1;
        var candidates = new List<double>();
        for (var d = lowDecade; d <= highDecade; d++)
        {
            if ((d - lowDecade) % every != 0) continue;
            foreach (var m in mantissas) candidates.Add(m * Math.Pow(10, d));
        }
        var lo = candidates.Where(t => t <= dataMin * (1 + 1e-9)).DefaultIfEmpty(candidates[0]).Max();
        var hi = candidates.Where(t => t >= dataMax * (1 - 1e-9)).DefaultIfEmpty(candidates[^1]).Min();
        if (hi <= lo) hi = lo * 10;
        var ticks = candidates.Where(t => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)).ToList();
        return new ChartAxis(lo, hi, AxisScale.Log, ticks);
    }

    /// <summary>Where <paramref name="value"/> falls on the axis: 0 at <see cref="Min"/>, 1 at <see cref="Max"/>.</summary>
    public double Position(double value) => Scale == AxisScale.Log
        ? (Math.Log10(value) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min))
        : (value - Min) / (Max - Min);

    /// <summary>The text for a tick value.</summary>
    public string Label(double value)
    {
        if (Scale == AxisScale.Log)
            return value is >= 1e-3 and < 1e5
                ? value.ToString("0.###", CultureInfo.InvariantCulture)
                : value.ToString("0e0", CultureInfo.InvariantCulture);
        return value.ToString("F" + Decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>1, 2, 2.5 or 5 times a power of ten, the smallest not below <paramref name="raw"/>.</summary>
    internal static double NiceStep(double raw)
    {
        if (!(raw > 0) || !double.IsFinite(raw)) return 1;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var fraction = raw / magnitude;
        var nice = fraction <= 1 + 1e-9 ? 1 : fraction <= 2 + 1e-9 ? 2 : fraction <= 2.5 + 1e-9 ? 2.5 : fraction <= 5 + 1e-9 ? 5 : 10;
        return nice * magnitude;
    }

    private static int DecimalsFor(IReadOnlyList<double> ticks)
    {
        for (var d = 0; d < 6; d++)
        {
            var scale = Math.Pow(10, d);
            if (ticks.All(t => Math.Abs(t * scale - Math.Round(t * scale)) < 1e-6 * Math.Max(1, Math.Abs(t * scale)))) return d;
        }
        return 6;
    }
}
