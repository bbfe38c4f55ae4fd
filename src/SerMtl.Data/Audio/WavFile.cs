using System.Buffers;

namespace SerMtl.Data.Audio;

/// <summary>Where the audio of a WAV file is: its format, the first byte of its frames and how many whole frames there are.</summary>
internal sealed record WavLayout(WavFormat Format, long DataOffset, long Frames, IReadOnlyList<string> Warnings);

/// <summary>
/// A WAV file read a stretch at a time, so that a long recording is never in memory at once: mono samples of any range
/// of frames, at the file's rate or resampled to another, equal bit for bit to the same range of what
/// <see cref="WavReader"/> and <see cref="Resampler"/> give for the whole file. <see cref="Open"/> checks the file as
/// <see cref="WavReader"/> does (without reading the audio); each read opens the file again, so an instance holds no
/// file handle and may be shared between threads.
/// </summary>
public sealed class WavFile
{
    private const int ChunkFrames = 1 << 15;
    private readonly WavLayout _layout;

    private WavFile(string path, WavLayout layout)
    {
        Path = path;
        _layout = layout;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Frames per second.</summary>
    public int SampleRate => _layout.Format.SampleRate;

    /// <summary>Whole frames in the file (those present, when the data chunk is cut short).</summary>
    public long Frames => _layout.Frames;

    /// <summary>Length in seconds.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Frames / SampleRate);

    /// <summary>What the reader accepted but a caller should know (a truncated data chunk), each naming the file.</summary>
    public IReadOnlyList<string> Warnings => _layout.Warnings;

    /// <summary>Checks <paramref name="path"/> as <see cref="WavReader.Read(string, WavReadOptions?)"/> does, without reading its audio.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not WAV audio this reader decodes; the message names the file and the problem.</exception>
    public static WavFile Open(string path, WavReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 12);
        return new WavFile(path, new WavParser(stream, path, options?.Strict ?? false).ParseLayout());
    }

    /// <summary>Samples at <paramref name="sampleRate"/> Hz: <see cref="Resampler.OutputLength"/> of <see cref="Frames"/>.</summary>
    public long LengthAt(int sampleRate) =>
        sampleRate == SampleRate ? Frames : Resampler.OutputLength((int)Math.Min(Frames, Array.MaxLength), SampleRate, sampleRate);

    /// <summary>
    /// Mono samples [<paramref name="start"/>, <paramref name="start"/> + destination.Length) at the file's rate, channels
    /// averaged as <see cref="WavReader"/> averages them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range reaches outside [0, <see cref="Frames"/>).</exception>
    /// <exception cref="InvalidDataException">The file changed since <see cref="Open"/> (it is shorter now), or a float sample is NaN or infinite.</exception>
    public void ReadMono(long start, Span<float> destination)
    {
        if (start < 0 || start + destination.Length > Frames)
            throw new ArgumentOutOfRangeException(nameof(start), $"frames [{start}, {start + destination.Length}) are outside [0, {Frames})");
        if (destination.Length == 0) return;
        var format = _layout.Format;
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        stream.Position = _layout.DataOffset + start * format.BlockAlign;
        var block = new byte[Math.Min(destination.Length, ChunkFrames) * format.BlockAlign];
        for (var done = 0; done < destination.Length;)
        {
            var frames = Math.Min(destination.Length - done, ChunkFrames);
            var bytes = block.AsSpan(0, frames * format.BlockAlign);
            try
            {
                stream.ReadExactly(bytes);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"{Path}: the file is shorter than when it was opened (frames [{start}, {start + destination.Length}) were asked for)", e);
            }
            format.DecodeMono(bytes, destination.Slice(done, frames), frames);
            done += frames;
        }
        if (format.Encoding is SampleEncoding.Float32 or SampleEncoding.Float64)
            for (var i = 0; i < destination.Length; i++)
                if (!float.IsFinite(destination[i]))
                    throw new InvalidDataException($"{Path}: has a non-finite sample (NaN or infinity) at frame {start + i}");
    }

    /// <summary>
    /// Mono samples [<paramref name="start"/>, <paramref name="start"/> + destination.Length) at
    /// <paramref name="sampleRate"/> Hz: what <see cref="Resampler.Resample(float[], int, int)"/> gives for the whole file,
    /// read from the frames those samples depend on only.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range reaches outside [0, <see cref="LengthAt"/>(<paramref name="sampleRate"/>)).</exception>
    public void ReadMono(int sampleRate, long start, Span<float> destination)
    {
        if (sampleRate == SampleRate)
        {
            ReadMono(start, destination);
            return;
        }
        var length = LengthAt(sampleRate);
        if (start < 0 || start + destination.Length > length)
            throw new ArgumentOutOfRangeException(nameof(start), $"samples [{start}, {start + destination.Length}) are outside [0, {length}) at {sampleRate} Hz");
        if (destination.Length == 0) return;
        var filter = Resampler.FilterFor(SampleRate, sampleRate);
        var (from, to) = filter.InputRange(start, destination.Length);
        var rented = ArrayPool<float>.Shared.Rent((int)(to - from));
        try
        {
            var input = rented.AsSpan(0, (int)(to - from));
            input.Clear();                               // zeros where the file has no frames, as Apply pads
            var (first, last) = (Math.Max(from, 0), Math.Min(to, Frames));
            if (last > first) ReadMono(first, input.Slice((int)(first - from), (int)(last - first)));
            filter.ApplyRange(input, start, destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }
}
