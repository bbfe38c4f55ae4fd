using System.Buffers.Binary;
using System.Text;
using SerMtl.Data.Audio;

namespace SerMtl.Data.Tests.Audio;

public class WavWriterTests
{
    private static float[] Tone(int count) =>
        Enumerable.Range(0, count).Select(n => (float)(0.8 * Math.Sin(2 * Math.PI * 440 * n / 16000.0))).ToArray();

    [Fact]
    public void Pcm16_RoundTripsThroughWavReader_WithinHalfAStep()
    {
        var samples = Tone(1600).Append(-1f).Append(0f).ToArray();
        var bytes = WavWriter.ToBytes(samples, 16000);

        var clip = WavReader.Read(new MemoryStream(bytes), "tone.wav");

        Assert.Equal(16000, clip.SampleRate);
        Assert.Equal(samples.Length, clip.Samples.Length);
        for (var i = 0; i < samples.Length; i++) Assert.InRange(clip.Samples[i] - samples[i], -0.5f / 32768, 0.5f / 32768);
        Assert.Equal(-1f, clip.Samples[^2]);
    }

    [Fact]
    public void Pcm16_Header_IsCanonical44Bytes()
    {
        var bytes = WavWriter.ToBytes(Tone(100), 22050);

        Assert.Equal(44 + 200, bytes.Length);
        Assert.Equal("RIFF", Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal((uint)(bytes.Length - 8), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal("WAVEfmt ", Encoding.ASCII.GetString(bytes, 8, 8));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(20))); // PCM
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(22))); // mono
        Assert.Equal(22050u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(44100u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(28))); // byte rate
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(32))); // block align
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(34)));
        Assert.Equal("data", Encoding.ASCII.GetString(bytes, 36, 4));
        Assert.Equal(200u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(40)));
    }

    [Fact]
    public void Pcm16_OutOfRangeSamples_AreClipped()
    {
        var bytes = WavWriter.ToBytes([2f, -3f, 1f, 0.5f, -0.5f], 16000);

        var pcm = Enumerable.Range(0, 5).Select(i => BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(44 + 2 * i))).ToArray();

        Assert.Equal(new short[] { 32767, -32768, 32767, 16384, -16384 }, pcm);
    }

    [Fact]
    public void Float32_HasFmt18AndFactChunk_AndKeepsSamplesExactly()
    {
        float[] samples = [0.25f, -1.5f, 3e-7f, 1f, -0.123456f];
        var bytes = WavWriter.ToBytes(samples, 48000, WavOutputFormat.Float32);

        Assert.Equal(58 + 4 * samples.Length, bytes.Length);
        Assert.Equal((uint)(bytes.Length - 8), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(18u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(20))); // IEEE float
        Assert.Equal(48000u * 4, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(28)));
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(32)));
        Assert.Equal(32, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(34)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(36))); // cbSize
        Assert.Equal("fact", Encoding.ASCII.GetString(bytes, 38, 4));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(42)));
        Assert.Equal((uint)samples.Length, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(46)));
        Assert.Equal("data", Encoding.ASCII.GetString(bytes, 50, 4));
        Assert.Equal((uint)(4 * samples.Length), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(54)));
        var read = Enumerable.Range(0, samples.Length).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(58 + 4 * i))).ToArray();
        Assert.Equal(samples, read);
    }

    [Fact]
    public void Write_ToFile_EqualsToBytes()
    {
        var samples = Tone(3000);
        var path = Path.Combine(Path.GetTempPath(), $"sermtl-wavwriter-{Guid.NewGuid():N}.wav");
        try
        {
            WavWriter.Write(path, samples, 16000);

            Assert.Equal(WavWriter.ToBytes(samples, 16000), File.ReadAllBytes(path));
            Assert.Equal(samples.Length, WavReader.Read(path).Samples.Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Write_ToNonSeekableStream_Works()
    {
        var samples = Tone(20000); // more than one internal chunk
        var sink = new MemoryStream();

        WavWriter.Write(new ForwardOnlyStream(sink), samples, 16000, WavOutputFormat.Float32);

        Assert.Equal(WavWriter.ToBytes(samples, 16000, WavOutputFormat.Float32), sink.ToArray());
    }

    [Fact]
    public void Write_NoSamples_GivesValidEmptyFile()
    {
        var bytes = WavWriter.ToBytes([], 16000);

        Assert.Equal(44, bytes.Length);
        Assert.Empty(WavReader.Read(new MemoryStream(bytes), "empty.wav").Samples);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Write_NonFiniteSample_ThrowsNamingTheIndex_AndCreatesNoFile(float bad)
    {
        var path = Path.Combine(Path.GetTempPath(), $"sermtl-wavwriter-{Guid.NewGuid():N}.wav");

        var error = Assert.Throws<ArgumentException>(() => WavWriter.Write(path, [0f, 0.1f, bad], 16000));

        Assert.Contains("Sample 2", error.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Write_NonPositiveSampleRate_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WavWriter.ToBytes([0f], 0));
    }

    /// <summary>A write-only stream that cannot seek or report its length, like a network or pipe stream.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
