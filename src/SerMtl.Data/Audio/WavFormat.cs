using System.Buffers.Binary;

namespace SerMtl.Data.Audio;

/// <summary>How one sample of one channel is stored in the data chunk.</summary>
internal enum SampleEncoding
{
    UInt8,
    Int16,
    Int24,
    Int32,
    Float32,
    Float64,
}

/// <summary>The decoded, validated contents of a <c>fmt </c> chunk.</summary>
internal sealed record WavFormat(SampleEncoding Encoding, int Channels, int SampleRate, int BlockAlign)
{
    /// <summary>Lowest and highest sample rates accepted; anything outside is a corrupt header, not audio.</summary>
    public const int MinSampleRate = 1000;
    public const int MaxSampleRate = 1_000_000;

    private const ushort TagPcm = 0x0001;
    private const ushort TagFloat = 0x0003;
    private const ushort TagExtensible = 0xFFFE;

    // KSDATAFORMAT_SUBTYPE_* GUIDs are the format tag in the first two bytes followed by this fixed tail.
    private static ReadOnlySpan<byte> SubFormatGuidTail =>
        [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    /// <summary>Parses and validates a fmt chunk body; <paramref name="fail"/> builds the exception (it names the file).</summary>
    public static WavFormat Parse(ReadOnlySpan<byte> body, Func<string, Exception> fail)
    {
        if (body.Length < 16) throw fail($"fmt chunk is {body.Length} bytes, expected at least 16");
        var tag = BinaryPrimitives.ReadUInt16LittleEndian(body);
        var channels = (int)BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
        var sampleRate = BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
        var blockAlign = (int)BinaryPrimitives.ReadUInt16LittleEndian(body[12..]);
        var bits = (int)BinaryPrimitives.ReadUInt16LittleEndian(body[14..]);

        var what = "";
        if (tag == TagExtensible)
        {
            if (body.Length < 40)
                throw fail($"WAVE_FORMAT_EXTENSIBLE fmt chunk is {body.Length} bytes, expected 40");
            var extraSize = BinaryPrimitives.ReadUInt16LittleEndian(body[16..]);
            if (extraSize < 22)
                throw fail($"WAVE_FORMAT_EXTENSIBLE fmt chunk has cbSize {extraSize}, expected at least 22");
            var validBits = BinaryPrimitives.ReadUInt16LittleEndian(body[18..]);
            if (validBits > bits)
                throw fail($"WAVE_FORMAT_EXTENSIBLE declares {validBits} valid bits in a {bits}-bit container");
            var guid = body.Slice(24, 16);
            if (!guid[2..].SequenceEqual(SubFormatGuidTail))
                throw fail($"unsupported WAVE_FORMAT_EXTENSIBLE sub-format {new Guid(guid)}");
            tag = BinaryPrimitives.ReadUInt16LittleEndian(guid);
            what = "WAVE_FORMAT_EXTENSIBLE sub-format ";
        }

        if (tag != TagPcm && tag != TagFloat)
            throw fail($"unsupported {what}format tag {tag} (0x{tag:X4}{TagName(tag)}); only PCM (1) and IEEE float (3) are supported");
        if (channels == 0) throw fail("fmt chunk declares 0 channels");
        if (sampleRate < MinSampleRate || sampleRate > MaxSampleRate)
            throw fail($"sample rate {sampleRate} Hz is outside the supported range {MinSampleRate}–{MaxSampleRate} Hz");

        // Integer samples sit left-justified in whole-byte containers (12-bit audio in 2 bytes), so the
        // container size alone decides the decoding.
        var containerBytes = (bits + 7) / 8;
        SampleEncoding encoding;
        if (tag == TagPcm)
        {
            encoding = containerBytes switch
            {
                1 => SampleEncoding.UInt8,
                2 => SampleEncoding.Int16,
                3 => SampleEncoding.Int24,
                4 => SampleEncoding.Int32,
                _ => throw fail($"unsupported PCM sample size of {bits} bits; expected 8, 16, 24 or 32"),
            };
        }
        else
        {
            encoding = bits switch
            {
                32 => SampleEncoding.Float32,
                64 => SampleEncoding.Float64,
                _ => throw fail($"unsupported IEEE float sample size of {bits} bits; expected 32 or 64"),
            };
        }

        var expectedAlign = channels * containerBytes;
        if (blockAlign != expectedAlign)
            throw fail($"block align is {blockAlign} bytes but {channels} channel(s) of {bits}-bit samples need {expectedAlign}");
        return new WavFormat(encoding, channels, (int)sampleRate, blockAlign);
    }

    private static string TagName(ushort tag) => tag switch
    {
        0x0002 => ", Microsoft ADPCM",
        0x0006 => ", A-law",
        0x0007 => ", μ-law",
        0x0011 => ", IMA ADPCM",
        0x0031 => ", GSM 6.10",
        0x0050 => ", MPEG",
        0x0055 => ", MPEG Layer 3",
        0x0161 or 0x0162 or 0x0163 => ", Windows Media Audio",
        0x00FF or 0x1610 => ", AAC",
        0xF1AC => ", FLAC",
        _ => "",
    };

    /// <summary>
    /// Decodes <paramref name="frames"/> whole frames from <paramref name="data"/> into
    /// <paramref name="destination"/>, averaging the channels. Integer samples are summed exactly and scaled once.
    /// </summary>
    public void DecodeMono(ReadOnlySpan<byte> data, Span<float> destination, int frames)
    {
        var channels = Channels;
        var width = BlockAlign / channels;
        switch (Encoding)
        {
            case SampleEncoding.UInt8:
            {
                var scale = 1f / 128 / channels;
                for (int f = 0, o = 0; f < frames; f++)
                {
                    var sum = 0;
                    for (var c = 0; c < channels; c++, o++) sum += data[o] - 128;
                    destination[f] = sum * scale;
                }
                break;
            }
            case SampleEncoding.Int16:
            {
                var scale = 1f / 32768 / channels;
                for (int f = 0, o = 0; f < frames; f++)
                {
                    var sum = 0L;
                    for (var c = 0; c < channels; c++, o += 2) sum += BinaryPrimitives.ReadInt16LittleEndian(data[o..]);
                    destination[f] = sum * scale;
                }
                break;
            }
            case SampleEncoding.Int24:
            {
                var scale = 1.0 / 8388608 / channels;
                for (int f = 0, o = 0; f < frames; f++)
                {
                    var sum = 0L;
                    for (var c = 0; c < channels; c++, o += 3) sum += data[o] | (data[o + 1] << 8) | ((sbyte)data[o + 2] << 16);
                    destination[f] = (float)(sum * scale);
                }
                break;
            }
            case SampleEncoding.Int32:
            {
                var scale = 1.0 / 2147483648.0 / channels;
                for (int f = 0, o = 0; f < frames; f++)
                {
                    var sum = 0L;
                    for (var c = 0; c < channels; c++, o += 4) sum += BinaryPrimitives.ReadInt32LittleEndian(data[o..]);
                    destination[f] = (float)(sum * scale);
                }
                break;
            }
            default:
            {
                var scale = 1.0 / channels;
                for (int f = 0, o = 0; f < frames; f++)
                {
                    var sum = 0.0;
                    for (var c = 0; c < channels; c++, o += width)
                    {
                        sum += Encoding == SampleEncoding.Float32
                            ? BinaryPrimitives.ReadSingleLittleEndian(data[o..])
                            : BinaryPrimitives.ReadDoubleLittleEndian(data[o..]);
                    }
                    destination[f] = (float)(sum * scale);
                }
                break;
            }
        }
    }
}
