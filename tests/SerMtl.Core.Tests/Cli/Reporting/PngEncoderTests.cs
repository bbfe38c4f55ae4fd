using System.Buffers.Binary;
using SerMtl.Cli.Reporting;

namespace SerMtl.Tests.Cli.Reporting;

public class PngEncoderTests
{
    [Fact]
    public void Crc32_KnownVectors_MatchTheStandard()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0u, Crc32.Compute([]));
        // Incremental hashing equals one-shot hashing.
        Assert.Equal(Crc32.Compute("IHDRdata"u8), Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Start, "IHDR"u8), "data"u8)));
    }

    [Fact]
    public void Encode_Canvas_HasSignatureHeaderAndValidChunkCrcs()
    {
        var png = PngEncoder.Encode(SampleCanvas(37, 23));

        var chunks = PngTestReader.Chunks(png);
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        var ihdr = chunks[0].Data;
        Assert.Equal(13, ihdr.Length);
        Assert.Equal(37, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(23, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal(new byte[] { 8, 6, 0, 0, 0 }, ihdr[8..]); // 8-bit RGBA, deflate, adaptive filter, no interlace
        foreach (var chunk in chunks)
        {
            var typeAndData = System.Text.Encoding.ASCII.GetBytes(chunk.Type).Concat(chunk.Data).ToArray();
            Assert.Equal(Crc32.Compute(typeAndData), chunk.StoredCrc);
        }
        // IEND's CRC is a constant every PNG shares: an independent check of the table.
        Assert.Equal(0xAE426082u, chunks[^1].StoredCrc);
    }

    [Fact]
    public void Encode_Idat_InflatesToOneFilterBytePlusFourBytesPerPixelPerRow()
    {
        var png = PngEncoder.Encode(SampleCanvas(50, 31));

        var raw = PngTestReader.InflateIdat(png);

        Assert.Equal(31 * (1 + 50 * 4), raw.Length);
        for (var y = 0; y < 31; y++) Assert.InRange(raw[y * (1 + 50 * 4)], (byte)0, (byte)4);
    }

    [Fact]
    public void Encode_DecodedPixels_EqualTheCanvas()
    {
        var canvas = SampleCanvas(97, 61);

        var (w, h, rgba) = PngTestReader.Decode(PngEncoder.Encode(canvas));

        Assert.Equal((97, 61), (w, h));
        Assert.True(canvas.Pixels.SequenceEqual(rgba));
    }

    [Fact]
    public void Encode_SmoothContent_UsesPredictiveFilters()
    {
        // A horizontal gradient is cheapest with Sub, a vertical one with Up: the heuristic must pick more than None.
        var canvas = new Canvas(64, 64, new Rgba(255, 255, 255));
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 64; x++)
                canvas.Blend(x, y, new Rgba((byte)(x * 4), (byte)(y * 4), 128));

        var raw = PngTestReader.InflateIdat(PngEncoder.Encode(canvas));

        Assert.Contains(Enumerable.Range(0, 64).Select(y => raw[y * (1 + 64 * 4)]), f => f != 0);
    }

    [Fact]
    public void Save_WritesTheFileAndLeavesNoTemporary()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "x.png");

        PngEncoder.Save(SampleCanvas(10, 10), path);

        Assert.Equal((10, 10), PngTestReader.Dimensions(File.ReadAllBytes(path)));
        Assert.Equal(["x.png"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    /// <summary>Lines, text, translucent fills: content that exercises every filter type.</summary>
    internal static Canvas SampleCanvas(int w, int h)
    {
        var canvas = new Canvas(w, h, new Rgba(250, 250, 250));
        canvas.FillRect(2, 2, w / 2, h / 2, new Rgba(20, 90, 200));
        canvas.FillRect(w / 3, h / 3, w / 2, h / 2, new Rgba(230, 120, 40, 128));
        canvas.DrawLine(0, h, w, 0, 2.5, new Rgba(200, 30, 30));
        canvas.DrawText("Ab9%", 3, 3, new Rgba(0, 0, 0), 2);
        return canvas;
    }
}
