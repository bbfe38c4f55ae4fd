using System.Buffers.Binary;
using SerMtl.Data.Audio;

namespace SerMtl.Data.Tests.Audio;

public class WavReaderTests
{
    private static AudioClip Read(byte[] bytes, bool seekable = true, bool strict = false) =>
        WavReader.Read(seekable ? new MemoryStream(bytes) : new TrickleStream(bytes), "test.wav", new WavReadOptions { Strict = strict });

    private static InvalidDataException ReadFails(byte[] bytes, bool seekable = true, bool strict = false)
    {
        var e = Assert.Throws<InvalidDataException>(() => Read(bytes, seekable, strict));
        Assert.StartsWith("test.wav: ", e.Message);
        return e;
    }

    private static readonly double[] Int16Values = [0, 1, -1, 16384, -16384, 32767, -32768, 1234];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_Pcm16Mono_DecodesEverySampleExactly(bool seekable)
    {
        var bytes = WavBuilder.For(WavSampleType.S16, 1, 22050).Build(WavBuilder.Encode(WavSampleType.S16, Int16Values));
        var clip = Read(bytes, seekable);
        Assert.Equal(22050, clip.SampleRate);
        Assert.Equal(Int16Values.Select(v => (float)(v / 32768)), clip.Samples);
    }

    [Fact]
    public void Read_Pcm8_IsUnsignedWithMidpoint128()
    {
        var bytes = WavBuilder.For(WavSampleType.U8).Build(WavBuilder.Encode(WavSampleType.U8, 0, 128, 255, 64));
        Assert.Equal([-1f, 0f, 127f / 128, -0.5f], Read(bytes).Samples);
    }

    [Fact]
    public void Read_Pcm24_SignExtendsThreeByteSamples()
    {
        double[] values = [0, -8388608, 8388607, 1234567, -1234567, -1];
        var bytes = WavBuilder.For(WavSampleType.S24).Build(WavBuilder.Encode(WavSampleType.S24, values));
        Assert.Equal(values.Select(v => (float)(v / 8388608)), Read(bytes).Samples);
    }

    [Fact]
    public void Read_Pcm32_ScalesByTwoToThe31()
    {
        double[] values = [0, int.MinValue, int.MaxValue, 1 << 30, -(1 << 20)];
        var bytes = WavBuilder.For(WavSampleType.S32).Build(WavBuilder.Encode(WavSampleType.S32, values));
        Assert.Equal(values.Select(v => (float)(v / 2147483648.0)), Read(bytes).Samples);
    }

    [Theory]
    [InlineData(WavSampleType.F32)]
    [InlineData(WavSampleType.F64)]
    public void Read_IeeeFloat_KeepsValues(WavSampleType type)
    {
        double[] values = [0, 0.5, -0.25, 1, -1, 0.123456789, 1.5];
        var bytes = WavBuilder.For(type).Build(WavBuilder.Encode(type, values));
        Assert.Equal(values.Select(v => (float)v), Read(bytes).Samples);
    }

    [Theory]
    [InlineData(WavSampleType.S16, 1)]
    [InlineData(WavSampleType.S24, 1)]
    [InlineData(WavSampleType.F32, 3)]
    [InlineData(WavSampleType.F64, 3)]
    public void Read_Extensible_UsesTheSubFormat(WavSampleType type, ushort tag)
    {
        var builder = WavBuilder.For(type, 2, 48000);
        builder.Extensible = true;
        builder.FormatTag = tag;
        var raw = type is WavSampleType.F32 or WavSampleType.F64 ? new double[] { 0.5, -0.5, 0.25, 0.75 } : [1000, 3000, -2000, 0];
        var clip = Read(builder.Build(WavBuilder.Encode(type, raw)));
        var scale = type switch { WavSampleType.S16 => 32768.0, WavSampleType.S24 => 8388608.0, _ => 1.0 };
        Assert.Equal(48000, clip.SampleRate);
        Assert.Equal(2, clip.Samples.Length);
        Assert.Equal((raw[0] + raw[1]) / 2 / scale, clip.Samples[0], 6);
        Assert.Equal((raw[2] + raw[3]) / 2 / scale, clip.Samples[1], 6);
    }

    [Fact]
    public void Read_Extensible24BitsIn32BitContainer_DecodesAsLeftJustified()
    {
        var builder = WavBuilder.For(WavSampleType.S32);
        builder.Extensible = true;
        builder.ValidBits = 24;
        // A 24-bit value v stored left-justified is v << 8.
        var clip = Read(builder.Build(WavBuilder.Encode(WavSampleType.S32, 4194304 << 8, -8388608 << 8)));
        Assert.Equal([0.5f, -1f], clip.Samples);
    }

    [Fact]
    public void Read_Pcm12BitsIn16BitContainer_DecodesByContainer()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.Bits = 12;
        builder.BlockAlign = 2;
        var clip = Read(builder.Build(WavBuilder.Encode(WavSampleType.S16, 0x4000, -0x8000)));
        Assert.Equal([0.5f, -1f], clip.Samples);
    }

    [Fact]
    public void Read_Stereo_AveragesChannels()
    {
        var bytes = WavBuilder.For(WavSampleType.S16, 2).Build(WavBuilder.Encode(WavSampleType.S16, 16384, 0, -16384, -16384, 32767, -32768));
        Assert.Equal([0.25f, -0.5f, -0.5f / 32768], Read(bytes).Samples);
    }

    [Fact]
    public void Read_SixChannels_AveragesAllOfThem()
    {
        // One frame: channel c holds c * 1000.
        var bytes = WavBuilder.For(WavSampleType.S24, 6).Build(WavBuilder.Encode(WavSampleType.S24, 0, 1000, 2000, 3000, 4000, 5000));
        var sample = Assert.Single(Read(bytes).Samples);
        Assert.Equal(2500 / 8388608.0, sample, 9);
    }

    [Fact]
    public void Read_ExtraChunksEverywhere_AreSkippedIncludingPadBytes()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.BeforeFmt.Add(("JUNK", new byte[28]));
        builder.BeforeFmt.Add(("LIST", "INFOISFT\x05\0\0\0test\0"u8.ToArray())); // odd-sized, padded
        builder.BeforeData.Add(("fact", [4, 0, 0, 0]));
        builder.BeforeData.Add(("abc ", [1, 2, 3])); // unknown, odd
        builder.AfterData.Add(("cue ", new byte[28]));
        builder.AfterData.Add(("LIST", new byte[9]));
        var clip = Read(builder.Build(WavBuilder.Encode(WavSampleType.S16, 100, 200, 300, 400)));
        Assert.Equal(new[] { 100, 200, 300, 400 }.Select(v => v / 32768f), clip.Samples);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_OddSizedDataChunkFollowedByChunk_SkipsThePadByte(bool seekable)
    {
        var builder = WavBuilder.For(WavSampleType.U8);
        builder.AfterData.Add(("LIST", new byte[4]));
        var clip = Read(builder.Build(WavBuilder.Encode(WavSampleType.U8, 0, 128, 192)), seekable);
        Assert.Equal([-1f, 0f, 0.5f], clip.Samples);
    }

    [Fact]
    public void Read_PartialTrailingFrame_IsDropped()
    {
        var builder = WavBuilder.For(WavSampleType.S16, 2);
        var data = WavBuilder.Encode(WavSampleType.S16, 100, 300, 7);
        Assert.Equal([200 / 32768f], Read(builder.Build(data)).Samples);
    }

    [Fact]
    public void Read_DataBeforeFmtOnSeekableStream_IsHandled()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.DataBeforeFmt = true;
        builder.BeforeFmt.Add(("LIST", new byte[6]));
        var clip = Read(builder.Build(WavBuilder.Encode(WavSampleType.S16, 5, 6, 7)));
        Assert.Equal(new[] { 5, 6, 7 }.Select(v => v / 32768f), clip.Samples);
    }

    [Fact]
    public void Read_DataBeforeFmtOnNonSeekableStream_SaysWhy()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.DataBeforeFmt = true;
        var e = ReadFails(builder.Build(WavBuilder.Encode(WavSampleType.S16, 5, 6, 7)), seekable: false);
        Assert.Contains("data chunk before the fmt chunk", e.Message);
    }

    [Theory]
    [InlineData(0xFFFFFFFFu, 0xFFFFFFFFu, true)]
    [InlineData(0xFFFFFFFFu, 0xFFFFFFFFu, false)]
    [InlineData(0u, 0u, true)]
    [InlineData(0u, 0u, false)]
    [InlineData(0u, 0xFFFFFFFFu, true)]
    public void Read_StreamingWriterPlaceholderSizes_ReadToTheEndOfTheStream(uint riffSize, uint dataSize, bool seekable)
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.RiffSize = riffSize;
        builder.DataSize = dataSize;
        var clip = Read(builder.Build(WavBuilder.Encode(WavSampleType.S16, 1, 2, 3, 4, 5)), seekable);
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }.Select(v => v / 32768f), clip.Samples);
    }

    [Fact]
    public void Read_EmptyDataChunkWithHonestSizes_IsAnEmptyClip()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.AfterData.Add(("LIST", new byte[4]));
        var clip = Read(builder.Build([]));
        Assert.Empty(clip.Samples);
        Assert.Equal(16000, clip.SampleRate);
    }

    [Fact]
    public void Read_RiffSizeLargerThanTheFile_TrustsTheStreamLength()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.RiffSize = 1_000_000;
        Assert.Equal(2, Read(builder.Build(WavBuilder.Encode(WavSampleType.S16, 1, 2))).Samples.Length);
    }

    [Fact]
    public void Read_JunkAfterTheRiffChunk_IsIgnored()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.Trailing = [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06];
        Assert.Equal(2, Read(builder.Build(WavBuilder.Encode(WavSampleType.S16, 1, 2))).Samples.Length);
    }

    [Fact]
    public void Read_TruncatedMetadataAfterTheAudio_KeepsTheAudio()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.RiffSize = 0;
        var bytes = builder.Build(WavBuilder.Encode(WavSampleType.S16, 1, 2));
        bytes = [.. bytes, .. "LIST"u8.ToArray(), 100, 0, 0, 0, 1, 2];
        Assert.Equal(2, Read(bytes).Samples.Length);
    }

    [Fact]
    public void Read_StreamNotAtPositionZero_ReadsFromTheCurrentPosition()
    {
        var wav = WavBuilder.For(WavSampleType.S16).Build(WavBuilder.Encode(WavSampleType.S16, 9, 8));
        var stream = new MemoryStream([.. new byte[5], .. wav]) { Position = 5 };
        Assert.Equal([9 / 32768f, 8 / 32768f], WavReader.Read(stream, "embedded").Samples);
    }

    [Fact]
    public void Read_Path_ReadsTheFileAndNamesItInErrors()
    {
        using var dir = new TempDirectory();
        var good = dir.WriteBytes("good.wav", WavBuilder.Pcm16Mono([0.5f, -0.5f], 8000));
        var clip = WavReader.Read(good);
        Assert.Equal(8000, clip.SampleRate);
        Assert.Equal([0.5f, -0.5f], clip.Samples);
        Assert.Equal(TimeSpan.FromSeconds(2.0 / 8000), clip.Duration);

        var bad = dir.WriteBytes("bad.wav", "not audio"u8.ToArray());
        var e = Assert.Throws<InvalidDataException>(() => WavReader.Read(bad));
        Assert.StartsWith(bad + ": ", e.Message);
    }

    [Fact]
    public void Read_LargeFileAcrossManyBlocks_DecodesEverything()
    {
        var values = Enumerable.Range(0, 200_001).Select(i => (double)((i * 37) % 65536 - 32768)).ToArray();
        var bytes = WavBuilder.For(WavSampleType.S16).Build(WavBuilder.Encode(WavSampleType.S16, values));
        foreach (var seekable in new[] { true, false })
        {
            var clip = Read(bytes, seekable);
            Assert.Equal(values.Length, clip.Samples.Length);
            Assert.Equal(values[^1] / 32768, clip.Samples[^1]);
            Assert.Equal(values[123_457] / 32768, clip.Samples[123_457]);
        }
    }

    // ---- errors ----

    [Fact]
    public void Read_EmptyStream_SaysEmpty() => Assert.Contains("is empty", ReadFails([]).Message);

    [Fact]
    public void Read_FewBytes_SaysNotRiff() => Assert.Contains("not a RIFF/WAVE file", ReadFails([0x52, 0x49]).Message);

    [Fact]
    public void Read_Mp3_SaysNotRiffAndShowsTheMagic()
    {
        var e = ReadFails([.. "ID3\x03"u8.ToArray(), .. new byte[40]]);
        Assert.Contains("not a RIFF/WAVE file", e.Message);
        Assert.Contains("ID3", e.Message);
    }

    [Fact]
    public void Read_BinaryGarbage_ShowsHexBytes()
    {
        var e = ReadFails([0x00, 0xFF, 0x10, 0x80, 1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.Contains("00FF1080", e.Message);
    }

    [Theory]
    [InlineData("RIFX", "big-endian RIFX")]
    [InlineData("RF64", "RF64")]
    [InlineData("BW64", "BW64")]
    public void Read_UnsupportedContainers_AreNamed(string magic, string expected)
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.Magic = magic;
        var e = ReadFails(builder.Build(WavBuilder.Encode(WavSampleType.S16, 1)));
        Assert.Contains(expected, e.Message);
        Assert.Contains("not supported", e.Message);
    }

    [Fact]
    public void Read_RiffOfAnotherForm_SaysNotWave()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.Form = "AVI ";
        Assert.Contains("form type 'AVI ', not WAVE", ReadFails(builder.Build([])).Message);
    }

    [Fact]
    public void Read_HeaderCutShort_SaysTruncated() =>
        Assert.Contains("truncated", ReadFails("RIFF\x10\0\0\0WA"u8.ToArray()).Message);

    [Fact]
    public void Read_NoChunksAtAll_SaysNoFmt() =>
        Assert.Contains("has no fmt chunk", ReadFails("RIFF\x04\0\0\0WAVE"u8.ToArray()).Message);

    [Fact]
    public void Read_NoDataChunk_SaysSo()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.OmitData = true;
        builder.AfterData.Add(("LIST", new byte[4]));
        Assert.Contains("has no data chunk", ReadFails(builder.Build([])).Message);
    }

    [Fact]
    public void Read_NoFmtChunk_SaysSo()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.OmitFmt = true;
        Assert.Contains("has no fmt chunk", ReadFails(builder.Build(new byte[8])).Message);
    }

    [Fact]
    public void Read_TwoFmtChunks_IsAnError()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        var fmt = WavBuilder.For(WavSampleType.S16).Build([]).AsSpan(20, 16).ToArray();
        builder.BeforeData.Add(("fmt ", fmt));
        Assert.Contains("second fmt chunk", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Fact]
    public void Read_TwoDataChunks_IsAnError()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.AfterData.Add(("data", new byte[4]));
        Assert.Contains("second data chunk", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Fact]
    public void Read_FmtChunkTooSmall_SaysExpectedSize()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.FmtBody = new byte[14];
        Assert.Contains("fmt chunk is 14 bytes, expected at least 16", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Theory]
    [InlineData(2, "Microsoft ADPCM")]
    [InlineData(6, "A-law")]
    [InlineData(7, "μ-law")]
    [InlineData(0x55, "MPEG Layer 3")]
    [InlineData(0x1234, "0x1234")]
    public void Read_UnsupportedCodec_NamesTheFormatTag(ushort tag, string name)
    {
        var builder = WavBuilder.For(WavSampleType.U8);
        builder.FormatTag = tag;
        var e = ReadFails(builder.Build(new byte[16]));
        Assert.Contains($"unsupported format tag {tag}", e.Message);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Read_ExtensibleWithUnsupportedSubFormat_NamesIt()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.Extensible = true;
        builder.FormatTag = 7;
        Assert.Contains("unsupported WAVE_FORMAT_EXTENSIBLE sub-format format tag 7", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Fact]
    public void Read_ExtensibleWithForeignGuid_SaysUnsupportedSubFormat()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.Extensible = true;
        builder.SubFormatGuid = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        Assert.Contains("unsupported WAVE_FORMAT_EXTENSIBLE sub-format", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Fact]
    public void Read_ExtensibleFmtTooShort_SaysExpected40()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        var body = new byte[18];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 0xFFFE);
        builder.FmtBody = body;
        Assert.Contains("expected 40", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Fact]
    public void Read_ZeroChannels_IsAnError()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.Channels = 0;
        builder.BlockAlign = 2;
        Assert.Contains("0 channels", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(10u)]
    [InlineData(5_000_000u)]
    [InlineData(uint.MaxValue)]
    public void Read_AbsurdSampleRate_IsAnError(uint rate)
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.SampleRate = rate;
        Assert.Contains($"sample rate {rate} Hz is outside", ReadFails(builder.Build(new byte[4])).Message);
    }

    [Fact]
    public void Read_BlockAlignMismatch_SaysWhatWasExpected()
    {
        var builder = WavBuilder.For(WavSampleType.S16, 2);
        builder.BlockAlign = 3;
        Assert.Contains("block align is 3 bytes but 2 channel(s) of 16-bit samples need 4", ReadFails(builder.Build(new byte[8])).Message);
    }

    [Theory]
    [InlineData(1, 40, "PCM sample size of 40 bits")]
    [InlineData(1, 0, "PCM sample size of 0 bits")]
    [InlineData(3, 16, "IEEE float sample size of 16 bits")]
    public void Read_UnsupportedBitDepth_IsNamed(ushort tag, int bits, string expected)
    {
        var builder = new WavBuilder { FormatTag = tag, Bits = bits, BlockAlign = Math.Max(1, bits / 8) };
        Assert.Contains(expected, ReadFails(builder.Build(new byte[10])).Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_DataChunkCutShort_ReadsWhatIsThereAndWarns_StrictRefuses(bool seekable)
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.DataSize = 1000;
        builder.RiffSize = 1036;
        var bytes = builder.Build(WavBuilder.Encode(WavSampleType.S16, 1, 2, 3));

        var clip = Read(bytes, seekable);
        Assert.Equal(new[] { 1f, 2f, 3f }.Select(v => v / 32768f), clip.Samples);
        var warning = Assert.Single(clip.Warnings);
        Assert.StartsWith("test.wav: truncated: the data chunk declares 1000 bytes", warning);
        Assert.Contains("994 bytes are missing", warning);

        var e = ReadFails(bytes, seekable, strict: true);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("1000 bytes", e.Message);
    }

    [Fact]
    public void Read_RecordingCutInsideItsDataChunk_ReadsTheFramesThere()
    {
        // The case: a data chunk declaring 38400 bytes (1.2 s of 16-bit mono) of which 34028 remain.
        var samples = Enumerable.Range(0, 19200).Select(i => MathF.Sin(i * 0.01f) * 0.5f).ToArray();
        var whole = WavBuilder.Pcm16Mono(samples);
        var cut = whole[..(44 + 34028)];

        var clip = Read(cut);

        Assert.Equal(17014, clip.Samples.Length);
        Assert.Equal(Read(whole).Samples[..17014], clip.Samples);
        Assert.Contains("declares 38400 bytes but only 34028 remain; 4372 bytes are missing", Assert.Single(clip.Warnings));
        Assert.Empty(Read(whole).Warnings);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_LyingHugeDataSize_ReadsTheFrameThereWithoutAllocatingTheClaim(bool seekable)
    {
        var builder = WavBuilder.For(WavSampleType.F64, 8);
        builder.DataSize = 0x7FFFFFF0; // ~2 GiB claimed, 64 bytes (one 8-channel frame) present
        var bytes = builder.Build(new byte[64]);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clip = Read(bytes, seekable);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Single(clip.Samples);
        Assert.Contains("truncated", Assert.Single(clip.Warnings));
        Assert.True(allocated < 16 << 20, $"allocated {allocated} bytes for a 0.1 KB file");
        Assert.Contains("truncated", ReadFails(bytes, seekable, strict: true).Message);
    }

    [Fact]
    public void Read_LyingChunkSizeBeforeTheAudio_SaysTruncated()
    {
        var builder = WavBuilder.For(WavSampleType.S16);
        builder.OmitFmt = true;
        builder.OmitData = true;
        var bytes = builder.Build([]);
        bytes = [.. bytes, .. "LIST"u8.ToArray(), 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3];
        var e = ReadFails(bytes);
        Assert.Contains("chunk 'LIST' at byte 12 declares 2147483647 bytes but only 3 remain", e.Message);
        Assert.Contains("truncated", ReadFails(bytes, seekable: false).Message);
    }

    [Fact]
    public void Read_FmtChunkCutShort_SaysTruncated()
    {
        var bytes = WavBuilder.For(WavSampleType.S16).Build(new byte[4])[..30];
        Assert.Contains("truncated", ReadFails(bytes).Message);
        Assert.Contains("truncated", ReadFails(bytes, seekable: false).Message);
    }

    [Fact]
    public void Read_HugeFmtChunk_IsRejectedBeforeReadingIt()
    {
        byte[] bytes = [.. "RIFF\0\0\0\0WAVEfmt "u8.ToArray(), 0xFF, 0xFF, 0xFF, 0x0F];
        Assert.Contains("fmt chunk declares", ReadFails(bytes, seekable: false).Message);
    }

    [Fact]
    public void Read_GarbageWhereAChunkShouldBe_SaysCorrupt()
    {
        var bytes = "RIFF\0\0\0\0WAVE"u8.ToArray();
        bytes = [.. bytes, 0x00, 0x01, 0xFE, 0x99, 4, 0, 0, 0, 1, 2, 3, 4];
        Assert.Contains("not a chunk header at byte 12", ReadFails(bytes).Message);
    }

    [Fact]
    public void Read_ChunkHeaderCutShort_SaysTruncated()
    {
        var bytes = "RIFF\0\0\0\0WAVEfmt"u8.ToArray();
        Assert.Contains("chunk header at byte 12 is cut off", ReadFails(bytes).Message);
    }

    [Fact]
    public void Read_NonFiniteFloatSample_IsAnError()
    {
        var bytes = WavBuilder.For(WavSampleType.F32).Build(WavBuilder.Encode(WavSampleType.F32, 0.1, double.NaN));
        Assert.Contains("non-finite sample", ReadFails(bytes).Message);
    }
}
