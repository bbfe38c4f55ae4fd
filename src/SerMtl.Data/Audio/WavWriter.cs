using System.Buffers;
using System.Buffers.Binary;

namespace SerMtl.Data.Audio;

/// <summary>Sample encodings <see cref="WavWriter"/> can write.</summary>
public enum WavOutputFormat
{
    /// <summary>16-bit signed integer PCM (format tag 1, canonical 44-byte header); samples are clipped to [-1, 1].</summary>
    Pcm16,

    /// <summary>
    /// 32-bit IEEE float (format tag 3) with the 18-byte <c>fmt </c> chunk and the <c>fact</c> chunk that non-PCM
    /// formats require; samples are written as they are (values outside [-1, 1] are kept).
    /// </summary>
    Float32,
}

/// <summary>Writes mono RIFF/WAVE files.</summary>
/// <remarks>
/// Integer PCM maps a sample <c>x</c> to <c>round(x * 32768)</c>, clamped to [-32768, 32767], which is the inverse of
/// the usual reading convention <c>s / 32768</c>. Non-finite samples are rejected rather than written as noise.
/// </remarks>
public static class WavWriter
{
    private const int PcmFormatTag = 1;
    private const int FloatFormatTag = 3;

    /// <summary>Writes <paramref name="samples"/> to a new file at <paramref name="path"/> (replacing any existing file).</summary>
    /// <param name="path">Destination file; its folder must exist.</param>
    /// <param name="samples">Mono samples, nominally in [-1, 1].</param>
    /// <param name="sampleRate">Samples per second (positive).</param>
    /// <param name="format">Sample encoding; 16-bit PCM by default.</param>
    /// <exception cref="ArgumentException">A sample is NaN or infinite, the rate is not positive, or the audio is too long for a RIFF file.</exception>
    public static void Write(string path, ReadOnlySpan<float> samples, int sampleRate, WavOutputFormat format = WavOutputFormat.Pcm16)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Validate before creating the file so a bad argument never leaves a truncated WAV behind.
        Validate(samples, sampleRate, format);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        WriteValidated(stream, samples, sampleRate, format);
    }

    /// <summary>Writes <paramref name="samples"/> as a complete WAV file to <paramref name="stream"/> at its current position.</summary>
    /// <param name="stream">A writable stream (need not be seekable); it is left open.</param>
    /// <param name="samples">Mono samples, nominally in [-1, 1].</param>
    /// <param name="sampleRate">Samples per second (positive).</param>
    /// <param name="format">Sample encoding; 16-bit PCM by default.</param>
    /// <exception cref="ArgumentException">A sample is NaN or infinite, the rate is not positive, the stream is not writable, or the audio is too long for a RIFF file.</exception>
    public static void Write(Stream stream, ReadOnlySpan<float> samples, int sampleRate, WavOutputFormat format = WavOutputFormat.Pcm16)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite) throw new ArgumentException("The stream is not writable.", nameof(stream));
        Validate(samples, sampleRate, format);
        WriteValidated(stream, samples, sampleRate, format);
    }

    /// <summary>Encodes <paramref name="samples"/> as the bytes of a complete WAV file.</summary>
    /// <param name="samples">Mono samples, nominally in [-1, 1].</param>
    /// <param name="sampleRate">Samples per second (positive).</param>
    /// <param name="format">Sample encoding; 16-bit PCM by default.</param>
    /// <returns>The file's bytes.</returns>
    public static byte[] ToBytes(ReadOnlySpan<float> samples, int sampleRate, WavOutputFormat format = WavOutputFormat.Pcm16)
    {
        Validate(samples, sampleRate, format);
        using var stream = new MemoryStream(HeaderSize(format) + samples.Length * BytesPerSample(format));
        WriteValidated(stream, samples, sampleRate, format);
        return stream.ToArray();
    }

    private static int BytesPerSample(WavOutputFormat format) => format == WavOutputFormat.Pcm16 ? 2 : 4;

    // PCM: RIFF(12) + fmt(8 + 16) + data(8) = 44. Float: RIFF(12) + fmt(8 + 18) + fact(8 + 4) + data(8) = 58.
    private static int HeaderSize(WavOutputFormat format) => format == WavOutputFormat.Pcm16 ? 44 : 58;

    private static void Validate(ReadOnlySpan<float> samples, int sampleRate, WavOutputFormat format)
    {
        if (format is not (WavOutputFormat.Pcm16 or WavOutputFormat.Float32))
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown WAV output format.");
        if (sampleRate <= 0)
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "The sample rate must be positive.");
        // The RIFF size field (file size - 8) is 32-bit.
        var total = (long)HeaderSize(format) - 8 + (long)samples.Length * BytesPerSample(format);
        if (total > uint.MaxValue)
            throw new ArgumentException(
                $"{samples.Length} samples need {total} bytes, more than a RIFF file can hold ({uint.MaxValue}).", nameof(samples));
        for (var i = 0; i < samples.Length; i++)
        {
            if (!float.IsFinite(samples[i]))
                throw new ArgumentException($"Sample {i} is {samples[i]}; WAV samples must be finite.", nameof(samples));
        }
    }

    private static void WriteValidated(Stream stream, ReadOnlySpan<float> samples, int sampleRate, WavOutputFormat format)
    {
        var bytesPerSample = BytesPerSample(format);
        var dataBytes = (uint)(samples.Length * (long)bytesPerSample);
        var headerSize = HeaderSize(format);
        Span<byte> header = stackalloc byte[58];
        header = header[..headerSize];
        WriteTag(header, 0, "RIFF");
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(headerSize - 8) + dataBytes);
        WriteTag(header, 8, "WAVE");
        WriteTag(header, 12, "fmt ");
        var fmtSize = format == WavOutputFormat.Pcm16 ? 16 : 18;
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)fmtSize);
        BinaryPrimitives.WriteUInt16LittleEndian(header[20..], (ushort)(format == WavOutputFormat.Pcm16 ? PcmFormatTag : FloatFormatTag));
        BinaryPrimitives.WriteUInt16LittleEndian(header[22..], 1); // channels
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], (uint)((long)sampleRate * bytesPerSample)); // byte rate
        BinaryPrimitives.WriteUInt16LittleEndian(header[32..], (ushort)bytesPerSample); // block align
        BinaryPrimitives.WriteUInt16LittleEndian(header[34..], (ushort)(8 * bytesPerSample));
        var offset = 36;
        if (format == WavOutputFormat.Float32)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header[36..], 0); // cbSize: no extension
            WriteTag(header, 38, "fact");
            BinaryPrimitives.WriteUInt32LittleEndian(header[42..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(header[46..], (uint)samples.Length); // samples per channel
            offset = 50;
        }
        WriteTag(header, offset, "data");
        BinaryPrimitives.WriteUInt32LittleEndian(header[(offset + 4)..], dataBytes);
        stream.Write(header);

        const int chunkSamples = 8192;
        var buffer = ArrayPool<byte>.Shared.Rent(chunkSamples * bytesPerSample);
        try
        {
            for (var start = 0; start < samples.Length; start += chunkSamples)
            {
                var block = samples.Slice(start, Math.Min(chunkSamples, samples.Length - start));
                var bytes = buffer.AsSpan(0, block.Length * bytesPerSample);
                if (format == WavOutputFormat.Pcm16)
                {
                    for (var i = 0; i < block.Length; i++)
                        BinaryPrimitives.WriteInt16LittleEndian(bytes[(2 * i)..], ToPcm16(block[i]));
                }
                else
                {
                    for (var i = 0; i < block.Length; i++)
                        BinaryPrimitives.WriteSingleLittleEndian(bytes[(4 * i)..], block[i]);
                }
                stream.Write(bytes);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static short ToPcm16(float sample)
    {
        var scaled = Math.Round(Math.Clamp((double)sample, -1.0, 1.0) * 32768.0);
        return (short)Math.Clamp(scaled, short.MinValue, short.MaxValue);
    }

    private static void WriteTag(Span<byte> header, int offset, string tag)
    {
        for (var i = 0; i < 4; i++) header[offset + i] = (byte)tag[i];
    }
}
