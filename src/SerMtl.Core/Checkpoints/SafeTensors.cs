using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>Reads the safetensors format (8-byte little-endian header length, JSON header, raw little-endian data).</summary>
public static class SafeTensors
{
    /// <summary>Reads every tensor of <paramref name="path"/> onto the CPU, in its stored dtype.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var stream = File.OpenRead(path);
        var fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.Read(lengthBytes) != 8)
            throw new InvalidDataException($"{path}: too short to be a safetensors file ({fileLength} bytes)");
        var headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > 100_000_000 || (long)headerLength > fileLength - 8)
            throw new InvalidDataException($"{path}: header length {headerLength} does not fit the file ({fileLength} bytes)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataStart = 8 + (long)headerLength;

        using var doc = JsonDocument.Parse(header);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            var dtypeName = entry.Value.GetProperty("dtype").GetString();
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var (dtype, size) = dtypeName switch
            {
                "F32" => (ScalarType.Float32, 4),
                "F16" => (ScalarType.Float16, 2),
                "BF16" => (ScalarType.BFloat16, 2),
                "F64" => (ScalarType.Float64, 8),
                "I64" => (ScalarType.Int64, 8),
                _ => throw new InvalidDataException($"{path}: tensor '{entry.Name}' has unsupported dtype {dtypeName}"),
            };
            var count = shape.Aggregate(1L, (a, b) => a * b);
            if (offsets.Length != 2 || offsets[1] - offsets[0] != count * size || dataStart + offsets[1] > fileLength)
                throw new InvalidDataException($"{path}: tensor '{entry.Name}' data offsets [{string.Join(", ", offsets)}] do not match shape [{string.Join(", ", shape)}] x {size} bytes");
            var bytes = new byte[count * size];
            stream.Position = dataStart + offsets[0];
            stream.ReadExactly(bytes);
            var t = empty(shape, dtype);
            t.bytes = bytes;
            result[entry.Name] = t;
        }
        return result;
    }
}
