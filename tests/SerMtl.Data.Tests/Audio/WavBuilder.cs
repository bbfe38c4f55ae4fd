using System.Buffers.Binary;
using System.Text;

namespace SerMtl.Data.Tests.Audio;

/// <summary>How test samples are written into the data chunk.</summary>
public enum WavSampleType
{
    U8,
    S16,
    S24,
    S32,
    F32,
    F64,
}

/// <summary>
/// Writes WAV bytes for tests, including every odd layout and lie a real-world file can contain: any format tag,
/// WAVE_FORMAT_EXTENSIBLE, extra chunks anywhere, data before fmt, overridden RIFF/data sizes, trailing junk.
/// </summary>
internal sealed class WavBuilder
{
    public ushort FormatTag { get; set; } = 1;
    public int Channels { get; set; } = 1;
    public uint SampleRate { get; set; } = 16000;
    public int Bits { get; set; } = 16;
    public int? BlockAlign { get; set; }
    public bool Extensible { get; set; }
    public ushort ValidBits { get; set; }
    public byte[]? SubFormatGuid { get; set; }
    public byte[]? FmtBody { get; set; }
    public List<(string Id, byte[] Body)> BeforeFmt { get; } = [];
    public List<(string Id, byte[] Body)> BeforeData { get; } = [];
    public List<(string Id, byte[] Body)> AfterData { get; } = [];
    public bool DataBeforeFmt { get; set; }
    public bool OmitFmt { get; set; }
    public bool OmitData { get; set; }
    public uint? RiffSize { get; set; }
    public uint? DataSize { get; set; }
    public byte[] Trailing { get; set; } = [];
    public string Magic { get; set; } = "RIFF";
    public string Form { get; set; } = "WAVE";

    public static WavBuilder For(WavSampleType type, int channels = 1, uint sampleRate = 16000) => new()
    {
        FormatTag = type is WavSampleType.F32 or WavSampleType.F64 ? (ushort)3 : (ushort)1,
        Bits = BitsOf(type),
        Channels = channels,
        SampleRate = sampleRate,
    };

    public static int BitsOf(WavSampleType type) => type switch
    {
        WavSampleType.U8 => 8,
        WavSampleType.S16 => 16,
        WavSampleType.S24 => 24,
        WavSampleType.S32 or WavSampleType.F32 => 32,
        _ => 64,
    };

    /// <summary>Interleaved raw sample values (integers for PCM, the U8 byte value for 8-bit) as little-endian bytes.</summary>
    public static byte[] Encode(WavSampleType type, params double[] interleaved)
    {
        var size = BitsOf(type) / 8;
        var bytes = new byte[interleaved.Length * size];
        for (var i = 0; i < interleaved.Length; i++)
        {
            var s = bytes.AsSpan(i * size, size);
            var v = interleaved[i];
            switch (type)
            {
                case WavSampleType.U8: s[0] = checked((byte)v); break;
                case WavSampleType.S16: BinaryPrimitives.WriteInt16LittleEndian(s, checked((short)v)); break;
                case WavSampleType.S24:
                    var x = checked((int)v);
                    if (x < -8388608 || x > 8388607) throw new ArgumentOutOfRangeException(nameof(interleaved));
                    s[0] = (byte)x;
                    s[1] = (byte)(x >> 8);
                    s[2] = (byte)(x >> 16);
                    break;
                case WavSampleType.S32: BinaryPrimitives.WriteInt32LittleEndian(s, checked((int)v)); break;
                case WavSampleType.F32: BinaryPrimitives.WriteSingleLittleEndian(s, (float)v); break;
                case WavSampleType.F64: BinaryPrimitives.WriteDoubleLittleEndian(s, v); break;
            }
        }
        return bytes;
    }

    /// <summary>16-bit PCM mono at <paramref name="sampleRate"/> holding <paramref name="samples"/> in [-1, 1).</summary>
    public static byte[] Pcm16Mono(float[] samples, uint sampleRate = 16000) =>
        For(WavSampleType.S16, 1, sampleRate).Build(Encode(WavSampleType.S16, samples.Select(s => Math.Round(Math.Clamp(s, -1f, 32767f / 32768) * 32768.0)).ToArray()));

    public byte[] Build(byte[] data)
    {
        using var ms = new MemoryStream();
        ms.Write(Encoding.ASCII.GetBytes(Magic));
        ms.Write(new byte[4]); // RIFF size, patched below
        ms.Write(Encoding.ASCII.GetBytes(Form));
        foreach (var (id, body) in BeforeFmt) WriteChunk(ms, id, body, null);
        if (DataBeforeFmt && !OmitData) WriteChunk(ms, "data", data, DataSize);
        if (!OmitFmt) WriteChunk(ms, "fmt ", FmtBody ?? BuildFmt(), null);
        foreach (var (id, body) in BeforeData) WriteChunk(ms, id, body, null);
        if (!DataBeforeFmt && !OmitData) WriteChunk(ms, "data", data, DataSize);
        foreach (var (id, body) in AfterData) WriteChunk(ms, id, body, null);
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), RiffSize ?? (uint)(bytes.Length - 8));
        return [.. bytes, .. Trailing];
    }

    private byte[] BuildFmt()
    {
        var align = BlockAlign ?? Channels * ((Bits + 7) / 8);
        var body = new byte[Extensible ? 40 : 16];
        BinaryPrimitives.WriteUInt16LittleEndian(body, Extensible ? (ushort)0xFFFE : FormatTag);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), (ushort)Channels);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), SampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(8), (uint)(SampleRate * align));
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(12), (ushort)align);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(14), (ushort)Bits);
        if (Extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(16), 22);
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(18), ValidBits == 0 ? (ushort)Bits : ValidBits);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(20), Channels == 2 ? 3u : 0u);
            var guid = SubFormatGuid ?? SubFormat(FormatTag);
            guid.CopyTo(body.AsSpan(24));
        }
        return body;
    }

    /// <summary>The KSDATAFORMAT_SUBTYPE GUID bytes for a format tag (PCM 1, float 3, …).</summary>
    public static byte[] SubFormat(ushort tag) =>
        [(byte)tag, (byte)(tag >> 8), 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    private static void WriteChunk(Stream s, string id, byte[] body, uint? sizeOverride)
    {
        s.Write(Encoding.ASCII.GetBytes(id));
        Span<byte> size = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(size, sizeOverride ?? (uint)body.Length);
        s.Write(size);
        s.Write(body);
        if ((body.Length & 1) != 0) s.WriteByte(0);
    }
}

/// <summary>A read-only stream that cannot seek and returns at most <c>chunk</c> bytes per read (like a pipe or socket).</summary>
internal sealed class TrickleStream(byte[] bytes, int chunk = 7) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(Math.Min(count, chunk), bytes.Length - _position);
        Array.Copy(bytes, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
