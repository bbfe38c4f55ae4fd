using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace SerMtl.Cli;

/// <summary>Writes NumPy <c>.npy</c> files (format version 1.0): little-endian float32, C order.</summary>
internal static class NpyWriter
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>Writes <paramref name="data"/> (row-major, <c>shape</c> product elements) to <paramref name="path"/>.</summary>
    public static void WriteFloat32(string path, ReadOnlySpan<float> data, params long[] shape)
    {
        using var stream = File.Create(path);
        WriteFloat32(stream, data, shape);
    }

    /// <summary>Writes a float32 array as <c>.npy</c> bytes to <paramref name="stream"/>.</summary>
    public static void WriteFloat32(Stream stream, ReadOnlySpan<float> data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < 0)) throw new ArgumentException($"negative dimension in shape ({string.Join(", ", shape)})", nameof(shape));
        var count = shape.Aggregate(1L, (a, d) => a * d);
        if (count != data.Length)
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} elements, data has {data.Length}", nameof(data));

        stream.Write(Header(shape));
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data));
            return;
        }
        var buffer = new byte[4];
        foreach (var v in data)
        {
            BinaryPrimitives.WriteSingleLittleEndian(buffer, v);
            stream.Write(buffer);
        }
    }

    /// <summary>Magic, version, header length and the header dict, space-padded so the data starts at a multiple of 64 bytes.</summary>
    internal static byte[] Header(IReadOnlyList<long> shape)
    {
        var dims = shape.Count == 1
            ? shape[0].ToString(CultureInfo.InvariantCulture) + ","
            : string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        var unpadded = Magic.Length + 2 + dict.Length + 1; // + the closing newline
        var padding = (64 - unpadded % 64) % 64;
        var text = dict + new string(' ', padding) + "\n";
        if (text.Length > ushort.MaxValue) throw new ArgumentException("shape too long for an NPY v1.0 header", nameof(shape));
        var header = new byte[Magic.Length + 2 + text.Length];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(Magic.Length), (ushort)text.Length);
        Encoding.ASCII.GetBytes(text, header.AsSpan(Magic.Length + 2));
        return header;
    }
}
