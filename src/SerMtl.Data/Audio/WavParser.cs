using System.Buffers.Binary;
using System.Text;

namespace SerMtl.Data.Audio;

/// <summary>
/// One pass over a RIFF/WAVE stream. Positions are tracked here (not read from the stream) so non-seekable
/// streams work; the stream's length, when known, bounds every allocation and every skip.
/// </summary>
internal sealed class WavParser
{
    private const uint SizePlaceholder = 0xFFFFFFFF;
    private const int MaxFmtChunkBytes = 1 << 16;
    private const int BlockBytesTarget = 1 << 16;
    private const int UnknownLengthInitialFrames = 1 << 16;

    private readonly Stream _stream;
    private readonly string _name;
    private readonly long _origin;
    private readonly long? _length; // bytes from _origin to the end of the stream, when the stream can tell
    private long _position;         // bytes consumed from _origin

    private readonly bool _strict;
    private readonly List<string> _warnings = [];

    public WavParser(Stream stream, string name, bool strict = false)
    {
        _stream = stream;
        _name = name;
        _strict = strict;
        if (stream.CanSeek)
        {
            _origin = stream.Position;
            _length = Math.Max(0, stream.Length - _origin);
        }
    }

    public AudioClip Parse()
    {
        var (format, samples, _, _) = ParseChunks(readSamples: true);
        return new AudioClip(samples!, format.SampleRate) { Warnings = _warnings };
    }

    /// <summary>
    /// Checks the file as <see cref="Parse"/> does but reads no audio: the format, where the data starts (bytes from the
    /// stream's origin) and how many whole frames it holds (a truncated chunk counts the frames that are there). Needs a
    /// seekable stream.
    /// </summary>
    public WavLayout ParseLayout()
    {
        if (!_stream.CanSeek) throw new ArgumentException($"{_name}: reading a WAV file in pieces needs a seekable stream");
        var (format, _, offset, bytes) = ParseChunks(readSamples: false);
        return new WavLayout(format, _origin + offset, bytes / format.BlockAlign, _warnings);
    }

    private (WavFormat Format, float[]? Samples, long DataOffset, long DataBytes) ParseChunks(bool readSamples)
    {
        Span<byte> header = stackalloc byte[12];
        var got = ReadUpTo(header);
        if (got == 0) throw Fail("is empty (0 bytes)");
        if (got >= 4)
        {
            var magic = Encoding.ASCII.GetString(header[..4]);
            if (magic == "RIFX") throw Fail("is a big-endian RIFX file, which is not supported");
            if (magic is "RF64" or "BW64")
                throw Fail($"is an {magic} file (64-bit sizes), which is not supported; convert it to a plain RIFF WAV");
            if (magic != "RIFF") throw Fail($"is not a RIFF/WAVE file (it starts with {Describe(header[..4])})");
        }
        else
        {
            throw Fail($"is not a RIFF/WAVE file (only {got} bytes)");
        }
        if (got < 12) throw Fail($"is truncated: the RIFF header needs 12 bytes, found {got}");
        if (!header[8..12].SequenceEqual("WAVE"u8))
            throw Fail($"is a RIFF file of form type {Describe(header[8..12])}, not WAVE");

        // A RIFF size of 0 / 0xFFFFFFFF (streaming writers) or past the end of the stream is not trusted.
        var riffSize = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var riffEnd = 8L + riffSize;
        var riffSizeLies = riffSize == 0 || riffSize == SizePlaceholder || (_length is { } len && riffEnd > len);

        WavFormat? format = null;
        float[]? samples = null;
        var haveData = false;
        long dataOffset = -1, dataBytesFound = -1;
        long deferredDataOffset = -1, deferredDataBytes = -1;
        Span<byte> chunkHeader = stackalloc byte[8];
        while (true)
        {
            // Bytes after the RIFF chunk (trailing junk some tools append) are ignored once the audio is in.
            if (haveData && !riffSizeLies && _position >= riffEnd) break;
            var chunkStart = _position;
            got = ReadUpTo(chunkHeader);
            if (got == 0) break;
            if (got < 8)
            {
                if (haveData) break;
                throw Fail($"is truncated: the chunk header at byte {chunkStart} is cut off after {got} of 8 bytes");
            }
            if (!IsChunkId(chunkHeader[..4]))
            {
                if (haveData) break;
                throw Fail($"has bytes that are not a chunk header at byte {chunkStart} ({Describe(chunkHeader[..4])}); the file is corrupt");
            }
            var id = Encoding.ASCII.GetString(chunkHeader[..4]);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(chunkHeader[4..]);
            var remaining = _length - _position;

            if (id == "fmt ")
            {
                if (format is not null) throw Fail($"has a second fmt chunk at byte {chunkStart}");
                if (size > MaxFmtChunkBytes)
                    throw Fail($"fmt chunk declares {size} bytes; a WAVE format header is at most a few dozen bytes");
                var body = new byte[size];
                var bodyGot = ReadUpTo(body);
                if (bodyGot < size) throw Fail($"is truncated: the fmt chunk needs {size} bytes, found {bodyGot}");
                format = WavFormat.Parse(body, Fail);
                SkipPadByte(size);
            }
            else if (id == "data")
            {
                if (haveData || deferredDataOffset >= 0)
                    throw Fail($"has a second data chunk at byte {chunkStart}");
                // Streaming writers leave the data size as 0xFFFFFFFF, or 0 together with a lying RIFF size:
                // the audio then runs to the end of the stream.
                var runsToEnd = size == SizePlaceholder || (size == 0 && riffSizeLies);
                long? dataBytes = runsToEnd ? remaining : size;
                var truncated = !runsToEnd && remaining is { } r0 && size > r0;
                if (truncated && _strict)
                    throw Fail($"is truncated: the data chunk declares {size} bytes but only {remaining} remain");
                if (truncated)
                {
                    // Read what is there (whole frames), as sox and Python's wave do, and say what was missing.
                    _warnings.Add($"{_name}: truncated: the data chunk declares {size} bytes but only {remaining} remain; {size - remaining} bytes are missing, the frames that are there were read");
                    dataBytes = remaining;
                    runsToEnd = true; // nothing follows the cut-off data
                }
                if (format is null)
                {
                    if (!_stream.CanSeek)
                        throw Fail("has its data chunk before the fmt chunk, which needs a seekable stream");
                    deferredDataOffset = _position;
                    deferredDataBytes = dataBytes!.Value;
                    Skip(deferredDataBytes);
                    SkipPadByte(size);
                    continue;
                }
                haveData = true;
                dataOffset = _position;
                if (readSamples)
                {
                    samples = ReadSamples(format, dataBytes);
                    dataBytesFound = _position - dataOffset;
                }
                else
                {
                    dataBytesFound = dataBytes!.Value;
                    Skip(dataBytesFound);
                }
                if (!runsToEnd) SkipPadByte(size);
            }
            else
            {
                // LIST, fact, cue, bext, JUNK, ...: not needed for decoding.
                if ((remaining is { } r && size > r) || !Skip(size))
                {
                    if (haveData) break; // metadata cut short after the audio: the audio is intact
                    throw Fail($"is truncated: chunk '{id.TrimEnd()}' at byte {chunkStart} declares {size} bytes but only {remaining?.ToString() ?? "fewer"} remain");
                }
                SkipPadByte(size);
            }
        }

        if (format is null)
            throw Fail(!haveData && deferredDataOffset < 0 ? "has no fmt chunk (and no data chunk)" : "has no fmt chunk");
        if (!haveData)
        {
            if (deferredDataOffset < 0) throw Fail("has no data chunk");
            dataOffset = deferredDataOffset;
            dataBytesFound = deferredDataBytes;
            if (readSamples)
            {
                _stream.Position = _origin + deferredDataOffset;
                _position = deferredDataOffset;
                samples = ReadSamples(format, deferredDataBytes);
            }
        }
        return (format, samples, dataOffset, dataBytesFound);
    }

    /// <summary>
    /// Decodes the data chunk: <paramref name="dataBytes"/> bytes, or up to the end of the stream when null.
    /// A trailing partial frame is dropped.
    /// </summary>
    private float[] ReadSamples(WavFormat format, long? dataBytes)
    {
        var align = format.BlockAlign;
        long? frames = dataBytes / align;
        if (frames > Array.MaxLength)
            throw Fail($"has {frames} frames, more than one array can hold ({Array.MaxLength})");
        // Seekable streams have proven their length, so the size is real; otherwise grow as bytes arrive.
        var capacity = (int)Math.Min(frames ?? UnknownLengthInitialFrames, _length is null ? UnknownLengthInitialFrames : int.MaxValue);
        var output = new float[capacity];
        var framesPerBlock = Math.Max(1, BlockBytesTarget / align);
        var block = new byte[framesPerBlock * align];
        long done = 0;
        while (frames is null || done < frames)
        {
            var want = (int)Math.Min(framesPerBlock, (frames ?? long.MaxValue) - done);
            var bytes = ReadUpTo(block.AsSpan(0, want * align));
            var whole = bytes / align;
            if (whole > 0)
            {
                if (done + whole > output.Length)
                {
                    var grown = Math.Min(Array.MaxLength, Math.Max(done + whole, 2L * output.Length));
                    if (done + whole > grown) throw Fail($"has more frames than one array can hold ({Array.MaxLength})");
                    Array.Resize(ref output, (int)grown);
                }
                format.DecodeMono(block, output.AsSpan((int)done, whole), whole);
                done += whole;
            }
            if (bytes < want * align)
            {
                // End of stream. With a declared size this is truncation (seekable streams were checked up
                // front, so only a non-seekable stream gets here); a run-to-end data chunk just ends.
                if (frames is not null)
                {
                    var got = done * align + bytes % align;
                    if (_strict) throw Fail($"is truncated: the data chunk declares {dataBytes} bytes but the stream ended after {got}");
                    _warnings.Add($"{_name}: truncated: the data chunk declares {dataBytes} bytes but the stream ended after {got}; {dataBytes - got} bytes are missing, the frames that are there were read");
                }
                break;
            }
        }
        if (done != output.Length) Array.Resize(ref output, (int)done);
        if (format.Encoding is SampleEncoding.Float32 or SampleEncoding.Float64)
        {
            for (var i = 0; i < output.Length; i++)
            {
                if (!float.IsFinite(output[i]))
                    throw Fail($"has a non-finite sample (NaN or infinity) at frame {i}");
            }
        }
        return output;
    }

    private int ReadUpTo(Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = _stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        _position += total;
        return total;
    }

    /// <summary>Skips <paramref name="count"/> bytes; false when the stream ended first.</summary>
    private bool Skip(long count)
    {
        if (count <= 0) return true;
        if (_stream.CanSeek)
        {
            var target = Math.Min(_position + count, _length!.Value);
            _stream.Position = _origin + target;
            var complete = target == _position + count;
            _position = target;
            return complete;
        }
        var scratch = new byte[(int)Math.Min(count, 1 << 16)];
        var left = count;
        while (left > 0)
        {
            var got = ReadUpTo(scratch.AsSpan(0, (int)Math.Min(left, scratch.Length)));
            if (got == 0) return false;
            left -= got;
        }
        return true;
    }

    // An odd-sized chunk is followed by one pad byte; a missing pad byte at the very end is tolerated.
    private void SkipPadByte(uint size)
    {
        if ((size & 1) != 0) Skip(1);
    }

    private static bool IsChunkId(ReadOnlySpan<byte> id)
    {
        foreach (var b in id)
        {
            if (b < 0x20 || b > 0x7E) return false;
        }
        return true;
    }

    private static string Describe(ReadOnlySpan<byte> bytes)
    {
        var printable = 0;
        var text = new StringBuilder();
        foreach (var b in bytes)
        {
            if (b >= 0x20 && b <= 0x7E)
            {
                printable++;
                text.Append((char)b);
            }
            else
            {
                text.Append($"\\x{b:X2}");
            }
        }
        if (printable == bytes.Length) return $"'{text}'";
        var hex = "bytes " + Convert.ToHexString(bytes);
        return printable >= 2 ? $"{hex} ('{text}')" : hex;
    }

    private InvalidDataException Fail(string what) => new($"{_name}: {what}");
}
