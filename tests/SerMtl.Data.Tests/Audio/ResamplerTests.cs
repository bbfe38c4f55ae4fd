using SerMtl.Data.Audio;

namespace SerMtl.Data.Tests.Audio;

public class ResamplerTests
{
    private static float[] Tone(double frequency, int rate, double seconds, double amplitude = 0.5, double phase = 0.3) =>
        Enumerable.Range(0, (int)(rate * seconds))
            .Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / rate + phase)))
            .ToArray();

    /// <summary>
    /// Least-squares amplitude of a sinusoid at <paramref name="frequency"/> in the middle half of
    /// <paramref name="signal"/> (away from the zero-padded edges).
    /// </summary>
    private static double AmplitudeAt(float[] signal, double frequency, int rate)
    {
        int from = signal.Length / 4, to = 3 * signal.Length / 4;
        double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
        for (var i = from; i < to; i++)
        {
            var w = 2 * Math.PI * frequency * i / rate;
            double s = Math.Sin(w), c = Math.Cos(w);
            ss += s * s;
            cc += c * c;
            sc += s * c;
            ys += signal[i] * s;
            yc += signal[i] * c;
        }
        var det = ss * cc - sc * sc;
        var a = (ys * cc - yc * sc) / det;
        var b = (yc * ss - ys * sc) / det;
        return Math.Sqrt(a * a + b * b);
    }

    /// <summary>RMS of the middle half, as the amplitude of a sinusoid with that power.</summary>
    private static double PeakEquivalent(float[] signal)
    {
        int from = signal.Length / 4, to = 3 * signal.Length / 4;
        double sum = 0;
        for (var i = from; i < to; i++) sum += signal[i] * (double)signal[i];
        return Math.Sqrt(2 * sum / (to - from));
    }

    private static double Db(double ratio) => 20 * Math.Log10(ratio);

    [Fact]
    public void Resample_SameRate_ReturnsTheSameArrayUntouched()
    {
        var samples = Tone(440, 16000, 0.1);
        var copy = samples.ToArray();
        var result = Resampler.Resample(samples, 16000, 16000);
        Assert.Same(samples, result);
        Assert.Equal(copy, result);
    }

    [Fact]
    public void ToMono16k_SixteenKilohertzClip_ReturnsItsSamples()
    {
        var clip = new AudioClip(Tone(440, 16000, 0.05), 16000);
        Assert.Same(clip.Samples, AudioLoader.ToMono16k(clip));
    }

    [Fact]
    public void Resample_SpanAtSameRate_CopiesExactly()
    {
        var samples = Tone(440, 16000, 0.05);
        var result = Resampler.Resample((ReadOnlySpan<float>)samples, 16000, 16000);
        Assert.NotSame(samples, result);
        Assert.Equal(samples, result);
    }

    [Theory]
    [InlineData(44100, 16000)]
    [InlineData(48000, 16000)]
    [InlineData(22050, 16000)]
    [InlineData(8000, 16000)]
    [InlineData(11025, 16000)]
    [InlineData(44101, 16000)] // gcd 1: the interpolated-kernel path
    [InlineData(16000, 44100)]
    public void Resample_OutputLength_IsRoundedRatio(int from, int to)
    {
        foreach (var n in new[] { 0, 1, 2, 3, 441, 1000, 44099, 44100, 44101 })
        {
            var expected = (int)Math.Floor(n * (double)to / from + 0.5);
            Assert.Equal(expected, Resampler.OutputLength(n, from, to));
            Assert.Equal(expected, Resampler.Resample(new float[n], from, to).Length);
        }
    }

    [Theory]
    [InlineData(44100, 100)]
    [InlineData(44100, 1000)]
    [InlineData(44100, 3000)]
    [InlineData(44100, 7000)]
    [InlineData(48000, 1000)]
    [InlineData(48000, 7100)]
    [InlineData(22050, 5000)]
    [InlineData(32000, 7000)]
    [InlineData(44101, 1000)]
    [InlineData(44101, 7000)]
    [InlineData(8000, 1000)]
    [InlineData(8000, 3500)]
    [InlineData(11025, 4500)]
    public void Resample_ToneBelowNyquist_KeepsAmplitudeWithinATenthOfADecibel(int from, double frequency)
    {
        var output = Resampler.Resample(Tone(frequency, from, 0.5), from, 16000);
        var gainDb = Db(AmplitudeAt(output, frequency, 16000) / 0.5);
        Assert.InRange(gainDb, -0.1, 0.1);
    }

    [Theory]
    [InlineData(44100, 8500)]
    [InlineData(44100, 9000)]
    [InlineData(44100, 12000)]
    [InlineData(44100, 15000)]
    [InlineData(44100, 20000)]
    [InlineData(48000, 8200)]
    [InlineData(48000, 16000)]
    [InlineData(48000, 23000)]
    [InlineData(22050, 10000)]
    [InlineData(44101, 9000)]
    [InlineData(44101, 21000)]
    public void Resample_ContentAboveTheNewNyquist_IsAttenuatedAtLeast40Decibels(int from, double frequency)
    {
        var output = Resampler.Resample(Tone(frequency, from, 0.5), from, 16000);
        // Whatever survives (aliased anywhere in 0..8 kHz) is measured by its power.
        Assert.True(Db(PeakEquivalent(output) / 0.5) <= -40, $"{frequency} Hz from {from} Hz: {Db(PeakEquivalent(output) / 0.5):F1} dB");
    }

    [Fact]
    public void Resample_Upsampling8kTo16k_ReproducesTheToneWithoutImages()
    {
        var input = Tone(3000, 8000, 0.5, amplitude: 0.5, phase: 0);
        var output = Resampler.Resample(input, 8000, 16000);
        Assert.Equal(8000, output.Length);
        Assert.InRange(Db(AmplitudeAt(output, 3000, 16000) / 0.5), -0.1, 0.1);
        // The image of 3 kHz sits at 8 - 3 = 5 kHz.
        Assert.True(Db(AmplitudeAt(output, 5000, 16000) / 0.5) <= -40);
        // No delay: the output is the same sine sampled at the new instants.
        for (var j = output.Length / 4; j < 3 * output.Length / 4; j++)
            Assert.Equal(0.5 * Math.Sin(2 * Math.PI * 3000 * j / 16000.0), output[j], 2e-3);
    }

    [Theory]
    [InlineData(44100)]
    [InlineData(48000)]
    [InlineData(44101)]
    public void Resample_Downsampling_HasNoDelay(int from)
    {
        var output = Resampler.Resample(Tone(440, from, 0.2, amplitude: 0.5, phase: 0), from, 16000);
        for (var j = output.Length / 4; j < 3 * output.Length / 4; j++)
            Assert.Equal(0.5 * Math.Sin(2 * Math.PI * 440 * j / 16000.0), output[j], 1e-3);
    }

    [Theory]
    [InlineData(44100)]
    [InlineData(8000)]
    [InlineData(44101)]
    public void Resample_ConstantSignal_StaysConstantAwayFromTheEdges(int from)
    {
        var output = Resampler.Resample(Enumerable.Repeat(0.25f, from / 5).ToArray(), from, 16000);
        for (var j = output.Length / 4; j < 3 * output.Length / 4; j++)
            Assert.Equal(0.25, output[j], 1e-4);
    }

    [Fact]
    public void Resample_RatesWithSmallGcd_UseTheInterpolatedKernel()
    {
        Assert.True(new PolyphaseFilter(44100, 16000).UsesExactPhases);
        Assert.False(new PolyphaseFilter(44101, 16000).UsesExactPhases);
    }

    [Fact]
    public void Resample_EmptyAndSingleSample_Work()
    {
        Assert.Empty(Resampler.Resample([], 44100, 16000));
        Assert.Equal(2, Resampler.Resample([1f], 8000, 16000).Length);
    }

    [Theory]
    [InlineData(0, 16000)]
    [InlineData(16000, 0)]
    [InlineData(-8000, 16000)]
    public void Resample_NonPositiveRate_Throws(int from, int to) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Resampler.Resample(new float[4], from, to));
}
