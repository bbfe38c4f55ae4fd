namespace SerMtl.Synthetic.Tests;

/// <summary>
/// Hand-made prosodic features of one utterance, computed after the same per-utterance zero-mean / unit-variance
/// normalisation the model applies, so anything they find survives it.
/// </summary>
/// <remarks>
/// All are relative measures (no absolute pitch level, which mostly tells the speaker's gender): pitch range,
/// contour slope and periodicity from a normalised autocorrelation, character rate from the energy envelope,
/// zero-crossing rate, loudness dynamics, speech fraction and the speech-to-floor energy ratio.
/// </remarks>
internal static class EmotionCueFeatures
{
    private const int Rate = 8000; // features are computed at 8 kHz (2:1 decimation)
    private const int Frame = 256; // 32 ms
    private const int Hop = 80; // 10 ms
    private const int MinLag = Rate / 450;
    private const int MaxLag = Rate / 70;

    public static readonly string[] Names =
    [
        "log f0 std", "log f0 slope", "periodicity", "character rate", "zero-crossing rate", "log energy std",
        "speech fraction", "speech/floor dB",
    ];

    /// <summary>Features of <paramref name="samples"/> (16 kHz).</summary>
    public static double[] Extract(float[] samples)
    {
        var x = Normalise(samples);
        var y = new double[x.Length / 2];
        for (var i = 0; i < y.Length; i++) y[i] = 0.5 * (x[2 * i] + x[2 * i + 1]);

        var frames = Math.Max(1, (y.Length - Frame) / Hop + 1);
        var logEnergy = new double[frames];
        var zcr = new double[frames];
        for (var f = 0; f < frames; f++)
        {
            double e = 0;
            var crossings = 0;
            for (var n = 0; n < Frame && f * Hop + n < y.Length; n++)
            {
                var v = y[f * Hop + n];
                e += v * v;
                // Zero crossings on the full-rate signal keep the high band (breath, brightness, frication).
                var j = 2 * (f * Hop + n);
                if (j + 2 < x.Length && Math.Sign(x[j]) != Math.Sign(x[j + 1])) crossings++;
                if (j + 2 < x.Length && Math.Sign(x[j + 1]) != Math.Sign(x[j + 2])) crossings++;
            }
            logEnergy[f] = 10 * Math.Log10(e / Frame + 1e-10);
            zcr[f] = crossings / (2.0 * Frame);
        }

        var sorted = logEnergy.Order().ToArray();
        var loud = sorted[(int)(0.95 * (sorted.Length - 1))];
        var floor = sorted[(int)(0.05 * (sorted.Length - 1))];
        var threshold = Math.Max(loud - 25, floor + 0.3 * (loud - floor));
        var speech = Enumerable.Range(0, frames).Where(f => logEnergy[f] > threshold).ToArray();

        var logF0 = new List<(double Time, double Value)>();
        var periodicity = new List<double>();
        foreach (var f in speech)
        {
            var (lag, r) = BestLag(y, f * Hop);
            periodicity.Add(r);
            if (r > 0.5) logF0.Add((f * Hop / (double)Rate, Math.Log(Rate / lag)));
        }
        var f0Values = logF0.Select(p => p.Value).ToArray();
        var f0Std = f0Values.Length > 1 ? Std(f0Values) : 0;
        var f0Mean = f0Values.Length > 0 ? f0Values.Average() : 0;
        var f0Slope = 0.0;
        if (logF0.Count > 2)
        {
            // Change of log f0 across the voiced span (regression slope × span).
            var t = logF0.Select(p => p.Time).ToArray();
            var tm = t.Average();
            var cov = logF0.Sum(p => (p.Time - tm) * (p.Value - f0Mean));
            var var = t.Sum(v => (v - tm) * (v - tm));
            f0Slope = var > 0 ? cov / var * (t[^1] - t[0]) : 0;
        }

        // Character rate: peaks (prominence >= 2 dB) of a finer energy envelope (20 ms frames, 5 ms hop, longer than a pitch period) per second
        // of speech.
        const int envFrame = 160, envHop = 40;
        var envFrames = Math.Max(1, (y.Length - envFrame) / envHop + 1);
        var envelope = new double[envFrames];
        for (var f = 0; f < envFrames; f++)
        {
            double e = 0;
            for (var n = 0; n < envFrame && f * envHop + n < y.Length; n++) e += y[f * envHop + n] * y[f * envHop + n];
            envelope[f] = 10 * Math.Log10(e / envFrame + 1e-10);
        }
        var peaks = 0;
        for (var f = 1; f < envFrames - 1; f++)
        {
            if (envelope[f] <= threshold || envelope[f] < envelope[f - 1] || envelope[f] < envelope[f + 1]) continue;
            var leftMin = envelope[f];
            for (var k = f - 1; k >= 0 && envelope[k] <= envelope[f]; k--) leftMin = Math.Min(leftMin, envelope[k]);
            var rightMin = envelope[f];
            for (var k = f + 1; k < envFrames && envelope[k] <= envelope[f]; k++) rightMin = Math.Min(rightMin, envelope[k]);
            if (envelope[f] - Math.Max(leftMin, rightMin) >= 2) peaks++;
        }
        var speechSeconds = Math.Max(1, speech.Length) * Hop / (double)Rate;

        var speechEnergy = speech.Select(f => logEnergy[f]).ToArray();
        return
        [
            f0Std,
            f0Slope,
            periodicity.Count > 0 ? periodicity.Average() : 0,
            peaks / speechSeconds,
            speech.Length > 0 ? speech.Average(f => zcr[f]) : 0,
            speechEnergy.Length > 1 ? Std(speechEnergy) : 0,
            speech.Length / (double)frames,
            loud - floor,
        ];
    }

    private static (double Lag, double R) BestLag(double[] y, int start)
    {
        var n = Math.Min(Frame, y.Length - start - MaxLag);
        if (n < Frame / 2) return (MinLag, 0);
        var bestLag = MinLag;
        var best = double.NegativeInfinity;
        var r = new double[MaxLag + 2];
        double e0 = 0;
        for (var i = 0; i < n; i++) e0 += y[start + i] * y[start + i];
        for (var lag = MinLag - 1; lag <= MaxLag + 1; lag++)
        {
            double c = 0, e1 = 0;
            for (var i = 0; i < n; i++)
            {
                var b = y[start + i + lag];
                c += y[start + i] * b;
                e1 += b * b;
            }
            r[lag] = c / Math.Sqrt(e0 * e1 + 1e-12);
        }
        for (var lag = MinLag; lag <= MaxLag; lag++) best = Math.Max(best, r[lag]);
        // The first peak close to the best avoids octave errors (r at two periods is nearly as high as at one).
        for (var lag = MinLag; lag <= MaxLag; lag++)
        {
            if (r[lag] >= 0.85 * best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1])
            {
                bestLag = lag;
                best = r[lag];
                break;
            }
        }
        // Parabolic interpolation around the peak for a sub-sample lag.
        var (a, m, c2) = (r[bestLag - 1], r[bestLag], r[bestLag + 1]);
        var denominator = a - 2 * m + c2;
        var shift = denominator < 0 ? 0.5 * (a - c2) / denominator : 0;
        return (bestLag + Math.Clamp(shift, -0.5, 0.5), best);
    }

    private static double[] Normalise(float[] samples)
    {
        var mean = samples.Average(v => (double)v);
        var std = Math.Sqrt(samples.Average(v => (v - mean) * (v - mean)));
        return samples.Select(v => (v - mean) / (std + 1e-7)).ToArray();
    }

    private static double Std(IReadOnlyCollection<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
    }
}
