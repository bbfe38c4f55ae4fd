using SerMtl.Inference;

namespace SerMtl.Data.Tests.Inference;

public sealed class SpeechSegmenterTests
{
    private const int Rate = 16000;

    /// <summary>Silence and tones laid end to end: (seconds, amplitude) per piece.</summary>
    private static float[] Signal(params (double Seconds, double Amplitude)[] pieces)
    {
        var samples = new List<float>();
        var random = new Random(3);
        foreach (var (seconds, amplitude) in pieces)
            for (var i = 0; i < (int)(seconds * Rate); i++)
                samples.Add((float)(amplitude * Math.Sin(2 * Math.PI * 200 * i / Rate) + 1e-4 * (random.NextDouble() - 0.5)));
        return samples.ToArray();
    }

    [Fact]
    public void Split_CutsAtPausesOnly_JoinsShortGaps_DropsClicks_PadsWithinTheRecording()
    {
        var samples = Signal((0.5, 0), (1.0, 0.5), (0.6, 0), (0.8, 0.3), (0.1, 0), (0.5, 0.3), (0.5, 0), (0.05, 0.9), (0.5, 0));
        var utterances = SpeechSegmenter.Split(samples, Rate, new TimelineOptions());
        Assert.Equal(2, utterances.Count);
        var (first, second) = (utterances[0], utterances[1]);
        Assert.InRange(first.Start / (double)Rate, 0.38, 0.42);                      // 0.5 s minus 0.1 s padding
        Assert.InRange((first.Start + first.Length) / (double)Rate, 1.58, 1.64);     // 1.5 s plus frame and padding
        Assert.InRange(second.Start / (double)Rate, 1.98, 2.02);                     // 2.1 s minus padding
        Assert.InRange((second.Start + second.Length) / (double)Rate, 3.58, 3.64);   // 3.5 s (the 0.1 s gap joined) plus frame and padding
    }

    [Fact]
    public void Split_SilenceAndNoiseFloor_FindNothing()
    {
        Assert.Empty(SpeechSegmenter.Split(Signal((2, 0)), Rate, new TimelineOptions()));
        Assert.Empty(SpeechSegmenter.Split(Signal((1, 0.0005)), Rate, new TimelineOptions()));   // -69 dBFS: under the floor
        Assert.Empty(SpeechSegmenter.Split([], Rate, new TimelineOptions()));
    }

    [Fact]
    public void Split_LoudThroughout_IsOneUtterance()
    {
        var samples = Signal((3, 0.4));
        Assert.Equal([(0, samples.Length)], SpeechSegmenter.Split(samples, Rate, new TimelineOptions()));
    }

    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(0.025, 0.03)]
    public void Options_OutOfRange_AreRefused(double frame, double hop)
    {
        Assert.Throws<ArgumentException>(() => new TimelineOptions { FrameSeconds = frame, HopSeconds = hop }.Validate());
    }
}
