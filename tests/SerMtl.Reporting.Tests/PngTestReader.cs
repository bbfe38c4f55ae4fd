using System.Buffers.Binary;
using System.IO.Compression;

namespace SerMtl.Reporting.Tests;

/// <summary>
/// An independent PNG reader for the tests: splits chunks, and decodes 8-bit RGBA non-interlaced images by
/// undoing all five scanline filters, so encoder output can be checked pixel for pixel.
/// </summary>
internal static class PngTestReader
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public sealed record Chunk(string Type, byte[] Data, uint StoredCrc);

    public static IReadOnlyList<Chunk> Chunks(byte[] png)
    {
        Assert.True(png.AsSpan(0, 8).SequenceEqual(Signature), "PNG signature");
        var chunks = new List<Chunk>();
        var at = 8;
        while (at < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length).ToArray();
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            chunks.Add(new Chunk(type, data, crc));
            at += 12 + length;
        }
        Assert.Equal(png.Length, at);
        return chunks;
    }

    public static (int Width, int Height) Dimensions(byte[] png)
    {
        var ihdr = Chunks(png)[0];
        Assert.Equal("IHDR", ihdr.Type);
        return (BinaryPrimitives.ReadInt32BigEndian(ihdr.Data), BinaryPrimitives.ReadInt32BigEndian(ihdr.Data.AsSpan(4)));
    }

    /// <summary>The zlib-inflated concatenation of all IDAT chunks: [H, 1 + W*4] filter byte + filtered row.</summary>
    public static byte[] InflateIdat(byte[] png)
    {
        var idat = Chunks(png).Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray();
        using var input = new ZLibStream(new MemoryStream(idat), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Row-major RGBA pixels.</summary>
    public static (int Width, int Height, byte[] Rgba) Decode(byte[] png)
    {
        var (w, h) = Dimensions(png);
        var raw = InflateIdat(png);
        var stride = w * 4;
        var pixels = new byte[h * stride];
        for (var y = 0; y < h; y++)
        {
            var filter = raw[y * (stride + 1)];
            for (var i = 0; i < stride; i++)
            {
                var x = raw[y * (stride + 1) + 1 + i];
                int a = i >= 4 ? pixels[y * stride + i - 4] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
                int c = i >= 4 && y > 0 ? pixels[(y - 1) * stride + i - 4] : 0;
                var predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => PaethReference(a, b, c),
                    _ => throw new InvalidDataException($"filter type {filter} on row {y}"),
                };
                pixels[y * stride + i] = (byte)(x + predictor);
            }
        }
        return (w, h, pixels);
    }

    private static int PaethReference(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
