namespace SerMtl.Data.Audio;

/// <summary>
/// Reads RIFF/WAVE audio: integer PCM (8-bit unsigned, 16, 24 and 32-bit signed, including containers wider
/// than the valid bits), IEEE float (32 and 64-bit) and <c>WAVE_FORMAT_EXTENSIBLE</c> with a PCM or float
/// sub-format, any number of channels (averaged to mono).
/// </summary>
/// <remarks>
/// Chunks other than <c>fmt </c> and <c>data</c> (<c>LIST</c>, <c>fact</c>, <c>cue </c>, <c>JUNK</c>, …) are
/// skipped, honouring the pad byte after odd-sized chunks. A <c>data</c> chunk before the <c>fmt </c> chunk is
/// accepted on seekable streams. RIFF and data sizes left as 0 or 0xFFFFFFFF by streaming writers are replaced by
/// the stream's actual length. Anything else that is wrong — empty, truncated, not RIFF/WAVE, RIFX or RF64,
/// an unsupported codec, zero channels, an implausible sample rate, a block align that does not match the
/// format — gives one <see cref="InvalidDataException"/> naming the file and the problem. Allocation is bounded by
/// the bytes actually present, never by a size field.
/// </remarks>
public static class WavReader
{
    /// <summary>Reads <paramref name="path"/> as mono float samples.</summary>
    /// <exception cref="InvalidDataException">The file is not readable WAV data; the message names it and says why.</exception>
    public static AudioClip Read(string path) => Read(path, null);

    /// <summary>Reads the WAV file at <paramref name="path"/> with <paramref name="options"/> (null: the defaults).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not WAV audio this reader decodes; the message names the file and the problem.</exception>
    public static AudioClip Read(string path, WavReadOptions? options)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(stream, path, options);
    }

    /// <summary>Reads a WAV stream from its current position; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The stream is not readable WAV data; the message names it and says why.</exception>
    public static AudioClip Read(Stream stream, string name) => Read(stream, name, null);

    /// <summary>Reads WAV audio from <paramref name="stream"/> (named <paramref name="name"/> in messages) with <paramref name="options"/>.</summary>
    /// <exception cref="InvalidDataException">The data are not WAV audio this reader decodes; the message names the stream and the problem.</exception>
    public static AudioClip Read(Stream stream, string name, WavReadOptions? options)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead) throw new ArgumentException($"{name}: the stream is not readable", nameof(stream));
        return new WavParser(stream, name, options?.Strict ?? false).Parse();
    }
}

/// <summary>How <see cref="WavReader"/> treats files that are damaged but still hold audio.</summary>
public sealed record WavReadOptions
{
    /// <summary>
    /// Refuse a data chunk cut short (a recording that was interrupted or copied incompletely). By default the frames
    /// that are there are read and <see cref="AudioClip.Warnings"/> says how many bytes were missing, as sox and
    /// Python's <c>wave</c> do.
    /// </summary>
    public bool Strict { get; init; }
}
