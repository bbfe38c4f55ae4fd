using SerMtl.Data.Audio;

namespace SerMtl.Data.Tests.Audio;

/// <summary>
/// WavFile reads any stretch of a recording, at the file's rate or another, equal bit for bit to that stretch of the
/// whole file as WavReader and Resampler give it: the ground for predicting long recordings in bounded memory.
/// </summary>
public sealed class WavFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static double[] Signal(int frames, int channels, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, frames * channels).Select(i => 0.6 * Math.Sin(0.013 * i) + 0.3 * (random.NextDouble() - 0.5)).ToArray();
    }

    public static TheoryData<WavSampleType, int, uint> Formats => new()
    {
        { WavSampleType.S16, 1, 16000 },
        { WavSampleType.S16, 2, 44100 },
        { WavSampleType.S24, 2, 48000 },
        { WavSampleType.F32, 1, 22050 },
        { WavSampleType.U8, 3, 8000 },
        { WavSampleType.S16, 1, 44101 }, // a rate whose gcd with 16 kHz is 1: the interpolated kernel
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void ReadMono_AnyStretch_EqualsThatStretchOfTheWholeFileResampled(WavSampleType type, int channels, uint rate)
    {
        var frames = (int)rate * 2 + 123;
        var path = Write("x.wav", WavBuilder.For(type, channels, rate).Build(WavBuilder.Encode(type, Signal(frames, channels, 7))));
        var whole = WavReader.Read(path);
        var file = WavFile.Open(path);
        Assert.Equal((whole.SampleRate, (long)whole.Samples.Length), (file.SampleRate, file.Frames));

        var native = new float[700];
        file.ReadMono(frames - 700, native);
        Assert.Equal(whole.Samples.AsSpan(frames - 700).ToArray(), native);

        var resampled = Resampler.Resample(whole.Samples, whole.SampleRate, 16000);
        Assert.Equal(resampled.Length, file.LengthAt(16000));
        foreach (var (start, count) in new[] { (0, 1), (0, 5000), (17, 3001), (resampled.Length - 4000, 4000), (resampled.Length - 1, 1), (9000, 16000) })
        {
            var piece = new float[count];
            file.ReadMono(16000, start, piece);
            Assert.True(resampled.AsSpan(start, count).SequenceEqual(piece), $"[{start}, {start + count}) differs");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadMono(16000, resampled.Length - 10, new float[11]));
    }

    [Fact]
    public void Open_TruncatedDataChunk_CountsTheFramesThatAreThereAndWarns()
    {
        var bytes = WavBuilder.For(WavSampleType.S16, 2).Build(WavBuilder.Encode(WavSampleType.S16, Signal(4000, 2, 3)));
        var path = Write("cut.wav", bytes[..^1003]); // cut inside a frame
        var whole = WavReader.Read(path);
        var file = WavFile.Open(path);
        Assert.Equal(whole.Samples.Length, file.Frames);
        Assert.Contains("truncated", Assert.Single(file.Warnings));
        var tail = new float[50];
        file.ReadMono(file.Frames - 50, tail);
        Assert.Equal(whole.Samples.AsSpan(whole.Samples.Length - 50).ToArray(), tail);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => WavFile.Open(path, new WavReadOptions { Strict = true })).Message);
    }

    [Fact]
    public void Open_LyingOrBrokenFiles_FailAsTheReaderDoesAndAFileThatShrankIsNamed()
    {
        var notWav = Write("bad.wav", "RIFF\u0004\0\0\0WAVX"u8.ToArray());
        Assert.Equal(Assert.Throws<InvalidDataException>(() => WavReader.Read(notWav)).Message, Assert.Throws<InvalidDataException>(() => WavFile.Open(notWav)).Message);

        var path = Write("shrinks.wav", WavBuilder.For(WavSampleType.S16).Build(WavBuilder.Encode(WavSampleType.S16, Signal(8000, 1, 1))));
        var file = WavFile.Open(path);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..4000]);
        Assert.Contains("shorter than when it was opened", Assert.Throws<InvalidDataException>(() => file.ReadMono(7000, new float[1000])).Message);
    }

    [Fact]
    public void ReadMono_FloatFileWithANaN_IsRefusedNamingTheFrame()
    {
        var values = Signal(3000, 1, 2);
        values[2500] = double.NaN;
        var path = Write("nan.wav", WavBuilder.For(WavSampleType.F32).Build(WavBuilder.Encode(WavSampleType.F32, values)));
        var file = WavFile.Open(path);
        file.ReadMono(0, new float[2000]); // before the NaN
        Assert.Contains("frame 2500", Assert.Throws<InvalidDataException>(() => file.ReadMono(2000, new float[1000])).Message);
    }
}
