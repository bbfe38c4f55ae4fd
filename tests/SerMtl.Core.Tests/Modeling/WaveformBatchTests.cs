using SerMtl.Modeling;

namespace SerMtl.Tests.Modeling;

public class WaveformBatchTests
{
    [Fact]
    public void Create_NormalizesEachWaveformOverItsOwnSamplesAndPadsWithZero()
    {
        var rng = new Random(3);
        float[] a = Enumerable.Range(0, 1000).Select(_ => (float)(rng.NextDouble() * 0.2 + 0.5)).ToArray();
        float[] b = Enumerable.Range(0, 300).Select(_ => (float)(rng.NextDouble() * 3 - 2)).ToArray();
        using var batch = WaveformBatch.Create([a, b]);

        Assert.Equal(new long[] { 2, 1000 }, batch.Waveforms.shape);
        Assert.Equal(new long[] { 1000, 300 }, batch.Lengths.data<long>().ToArray());
        Assert.Equal(new long[] { 1000, 300 }, batch.SampleCounts);
        var rows = batch.Waveforms.data<float>().ToArray();
        foreach (var (start, length) in new[] { (0, 1000), (1000, 300) })
        {
            var x = rows.AsSpan(start, length).ToArray();
            var mean = x.Average(v => (double)v);
            var variance = x.Average(v => (v - mean) * (v - mean));
            Assert.InRange(mean, -1e-5, 1e-5);
            Assert.InRange(variance, 1 - 1e-4, 1 + 1e-4);
        }
        Assert.All(rows.AsSpan(1300, 700).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Create_WithoutNormalization_CopiesSamplesAndUsesThePaddingValue()
    {
        using var batch = WaveformBatch.Create([[1f, 2f, 3f], [4f]], new FeatureExtractorConfig { DoNormalize = false, PaddingValue = -1 });
        Assert.Equal(new[] { 1f, 2f, 3f, 4f, -1f, -1f }, batch.Waveforms.data<float>().ToArray());
    }

    [Fact]
    public void Create_ConstantWaveform_StaysFiniteThanksToEpsilon()
    {
        using var batch = WaveformBatch.Create([Enumerable.Repeat(0.25f, 500).ToArray()]);
        Assert.All(batch.Waveforms.data<float>().ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Create_BadInput_ThrowsNamingTheWaveform()
    {
        Assert.Contains("no waveforms", Assert.Throws<ArgumentException>(() => WaveformBatch.Create([])).Message);
        Assert.Contains("waveform 1 is empty", Assert.Throws<ArgumentException>(() => WaveformBatch.Create([[1f], []])).Message);
        Assert.Contains("waveform 0 holds NaN", Assert.Throws<ArgumentException>(() => WaveformBatch.Create([[1f, float.NaN]])).Message);
    }
}
