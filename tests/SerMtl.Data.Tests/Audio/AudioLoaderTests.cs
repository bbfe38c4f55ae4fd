using SerMtl.Data.Audio;

namespace SerMtl.Data.Tests.Audio;

public class AudioLoaderTests
{
    private static byte[] StereoTone(int rate, double frequency, int frames)
    {
        // Left carries the tone, right is silent: the mono mix has half the amplitude.
        var interleaved = new double[2 * frames];
        for (var i = 0; i < frames; i++) interleaved[2 * i] = Math.Round(16000 * Math.Sin(2 * Math.PI * frequency * i / rate));
        return WavBuilder.For(WavSampleType.S16, 2, (uint)rate).Build(WavBuilder.Encode(WavSampleType.S16, interleaved));
    }

    [Fact]
    public void LoadMono_StereoAt44k_GivesMono16kOfTheRightLength()
    {
        using var dir = new TempDirectory();
        var path = dir.WriteBytes("a.wav", StereoTone(44100, 1000, 44100));
        var samples = AudioLoader.LoadMono(path);
        Assert.Equal(16000, samples.Length);
        var peak = samples.Skip(4000).Take(8000).Max(Math.Abs);
        Assert.Equal(16000 / 32768.0 / 2, peak, 2e-3);
    }

    [Fact]
    public void LoadMono_Stream_MatchesThePathOverload()
    {
        using var dir = new TempDirectory();
        var bytes = StereoTone(22050, 440, 4410);
        var path = dir.WriteBytes("b.wav", bytes);
        Assert.Equal(AudioLoader.LoadMono(path), AudioLoader.LoadMono(new MemoryStream(bytes), "b.wav"));
    }

    [Fact]
    public void LoadMono_16kMono_ReturnsTheDecodedSamples()
    {
        var samples = new[] { 0.5f, -0.25f, 0f, 0.125f };
        Assert.Equal(samples, AudioLoader.LoadMono(new MemoryStream(WavBuilder.Pcm16Mono(samples)), "c.wav"));
    }

    [Fact]
    public void LoadMono_OtherTargetRate_Resamples()
    {
        var bytes = WavBuilder.Pcm16Mono(new float[16000]);
        Assert.Equal(8000, AudioLoader.LoadMono(new MemoryStream(bytes), "d.wav", sampleRate: 8000).Length);
    }

    [Fact]
    public void LoadMono_BadFile_NamesIt()
    {
        var e = Assert.Throws<InvalidDataException>(() => AudioLoader.LoadMono(new MemoryStream([1, 2, 3, 4, 5]), "e.wav"));
        Assert.StartsWith("e.wav: ", e.Message);
    }
}
