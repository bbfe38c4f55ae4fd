using System.Buffers.Binary;
using System.IO.Compression;

namespace SerMtl.Cli.Reporting;

/// <summary>
/// Writes a <see cref="Canvas"/> as a PNG: 8-bit RGBA (colour type 6), non-interlaced, one IDAT chunk compressed
/// with zlib. Each scanline gets the filter (None, Sub, Up, Average or Paeth) whose output has the smallest sum of
/// absolute signed bytes, the usual heuristic that suits charts (flat areas, straight edges).
/// </summary>
internal static class PngEncoder
{
    /// <summary>The 8 bytes every PNG starts with.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The PNG file for <paramref name="canvas"/>.</summary>
    public static byte[] Encode(Canvas canvas)
    {
        using var file = new MemoryStream();
        file.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, canvas.Width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], canvas.Height);
        header[8] = 8;  // bit depth
        header[9] = 6;  // colour type: RGBA
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method: adaptive
        header[12] = 0; // no interlace
        WriteChunk(file, "IHDR"u8, header);

        WriteChunk(file, "IDAT"u8, CompressScanlines(canvas));
        WriteChunk(file, "IEND"u8, ReadOnlySpan<byte>.Empty);
        return file.ToArray();
    }

    /// <summary>Encodes and writes to <paramref name="path"/> through a temporary file, so readers never see half a PNG.</summary>
    public static void Save(Canvas canvas, string path)
    {
        var bytes = Encode(canvas);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        // The CRC covers the chunk type and data, not the length.
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Start, type), data)));
        output.Write(word);
    }

    private static byte[] CompressScanlines(Canvas canvas)
    {
        const int Bpp = 4;
        var stride = canvas.Width * Bpp;
        var pixels = canvas.Pixels;
        var previous = new byte[stride]; // the row above the first row is all zeros
        var candidate = new byte[5][];
        for (var f = 0; f < 5; f++) candidate[f] = new byte[stride];

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            for (var y = 0; y < canvas.Height; y++)
            {
                var row = pixels.Slice(y * stride, stride);
                var best = 0;
                var bestScore = long.MaxValue;
                for (var f = 0; f < 5; f++)
                {
                    var score = Filter(f, row, previous, candidate[f], Bpp);
                    if (score < bestScore)
                    {
                        bestScore = score;
                        best = f;
                    }
                }
                zlib.WriteByte((byte)best);
                zlib.Write(candidate[best]);
                row.CopyTo(previous);
            }
        }
        return compressed.ToArray();
    }

    /// <summary>Applies PNG filter <paramref name="type"/> to one row; returns the sum of |signed byte| of the output.</summary>
    private static long Filter(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> up, Span<byte> output, int bpp)
    {
        long score = 0;
        for (var i = 0; i < row.Length; i++)
        {
            int a = i >= bpp ? row[i - bpp] : 0; // left
            int b = up[i];                        // above
            int c = i >= bpp ? up[i - bpp] : 0;  // above-left
            var predictor = type switch
            {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) >> 1,
                _ => Paeth(a, b, c),
            };
            var value = (byte)(row[i] - predictor);
            output[i] = value;
            score += Math.Abs((int)(sbyte)value);
        }
        return score;
    }

    /// <summary>The Paeth predictor: whichever of left, above, above-left is closest to left + above - above-left.</summary>
    internal static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }
}
