using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace SerMtl.Cli.Tests;

/// <summary>A strict reader of the float32 C-order <c>.npy</c> files the CLI writes, to check them independently.</summary>
internal sealed record NpyFile(string Header, long[] Shape, float[] Data, int DataOffset)
{
    public static NpyFile Read(string path) => Parse(File.ReadAllBytes(path));

    public static NpyFile Parse(byte[] bytes)
    {
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        var match = Regex.Match(header, @"^\{'descr': '<f4', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \} *\n$");
        Assert.True(match.Success, $"unexpected header: {header}");
        var shape = match.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var offset = 10 + headerLength;
        var count = shape.Aggregate(1L, (a, d) => a * d);
        Assert.Equal(count * 4, bytes.Length - offset);
        var data = new float[count];
        for (var i = 0; i < count; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(offset + 4 * i));
        return new NpyFile(header, shape, data, offset);
    }
}
