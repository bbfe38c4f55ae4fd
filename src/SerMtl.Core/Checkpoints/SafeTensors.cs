using System.Text.Encodings.Web;
using System.Text.Json;
using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to its dtype, shape and byte range, then the raw little-endian tensor data.
/// </summary>
/// <remarks>
/// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL. Every header field is validated against the
/// file before anything is allocated, so a truncated or lying file gives an error naming the file and tensor.
/// </remarks>
public static class SafeTensors
{
    /// <summary>The reserved header key holding string metadata.</summary>
    private const string MetadataKey = "__metadata__";

    // The reference implementation refuses larger headers too; real ones are a few hundred KB.
    private const long MaxHeaderLength = 100_000_000;

    private static readonly (string Name, ScalarType DType)[] DTypes =
    [
        ("F64", ScalarType.Float64), ("F32", ScalarType.Float32), ("F16", ScalarType.Float16),
        ("BF16", ScalarType.BFloat16), ("I64", ScalarType.Int64), ("I32", ScalarType.Int32),
        ("I16", ScalarType.Int16), ("I8", ScalarType.Int8), ("U8", ScalarType.Byte), ("BOOL", ScalarType.Bool),
    ];

    /// <summary>Reads every tensor of <paramref name="path"/> onto the CPU, in its stored dtype and header order.</summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message names the file and tensor.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        EnsureLittleEndianHost();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var header = ReadHeader(stream, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in header.Entries)
                result.Add(e.Name, empty(e.Shape, e.DType));
            // Read in file order so the stream only moves forward.
            foreach (var e in header.Entries.OrderBy(e => e.Begin))
            {
                stream.Position = header.DataStart + e.Begin;
                try
                {
                    TensorData.ReadExactly(stream, result[e.Name]);
                }
                catch (EndOfStreamException)
                {
                    throw new InvalidDataException($"{path}: tensor '{e.Name}' is truncated (file ended while reading its {e.End - e.Begin} bytes)");
                }
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Reads the string metadata (<c>__metadata__</c>) of <paramref name="path"/>; empty when there is none.</summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096);
        return ReadHeader(stream, path).Metadata;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> (replacing it atomically: a temporary file in the
    /// same folder is renamed over it). Data are contiguous little-endian CPU copies, laid out by element size
    /// (largest first, so every tensor stays aligned) then by name, as the reference implementation does; the
    /// header is padded with spaces to a multiple of 8 bytes.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">Tensors by name, on any device; names must be non-empty and not <c>__metadata__</c>.</param>
    /// <param name="metadata">Optional string metadata stored under <c>__metadata__</c> (HF writes <c>format: pt</c>).</param>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        EnsureLittleEndianHost();
        foreach (var (key, tensor) in tensors)
        {
            if (key.Length == 0 || key == MetadataKey)
                throw new ArgumentException($"'{key}' cannot name a tensor in a safetensors file", nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, $"tensors['{key}']");
        }
        var order = tensors
            .Select(kv => (kv.Key, Tensor: kv.Value, Name: DTypeName(kv.Key, kv.Value), Size: TensorData.ElementSize(kv.Value.dtype)))
            .OrderByDescending(x => x.Size).ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToList();

        var headerBytes = BuildHeader(order.Select(x => (x.Key, x.Name, x.Tensor.shape, x.Tensor.numel() * x.Size)), metadata);
        var fullPath = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> length = stackalloc byte[8];
                BitConverter.TryWriteBytes(length, (ulong)headerBytes.Length);
                file.Write(length);
                file.Write(headerBytes);
                foreach (var (_, tensor, _, _) in order)
                {
                    // Only the copies made here are disposed; the caller's tensors are left alone.
                    using var scope = NewDisposeScope();
                    TensorData.Write(tensor.detach().cpu().contiguous(), file);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static byte[] BuildHeader(IEnumerable<(string Key, string DType, long[] Shape, long Bytes)> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (key, dtype, shape, bytes) in entries)
            {
                json.WriteStartObject(key);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (var d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data start (8 + header) is 8-byte aligned.
        var padding = (int)((8 - (8 + buffer.Length) % 8) % 8);
        for (var i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static string DTypeName(string key, Tensor tensor)
    {
        foreach (var (name, dtype) in DTypes)
            if (dtype == tensor.dtype) return name;
        throw new NotSupportedException($"tensor '{key}' has dtype {tensor.dtype}, which safetensors files here do not support (supported: {string.Join(", ", DTypes.Select(d => d.DType))})");
    }

    private sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

    private sealed record Header(long DataStart, IReadOnlyList<Entry> Entries, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Reads and validates the header: every entry well-formed, inside the data and not overlapping another.</summary>
    private static Header ReadHeader(FileStream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8)
            throw new InvalidDataException($"{path}: too short to be a safetensors file ({fileLength} bytes; the header length alone takes 8)");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > MaxHeaderLength)
            throw new InvalidDataException($"{path}: header length {headerLength} exceeds the {MaxHeaderLength}-byte limit (not a safetensors file?)");
        if ((long)headerLength > fileLength - 8)
            throw new InvalidDataException($"{path}: header length {headerLength} does not fit the file ({fileLength} bytes; truncated?)");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: header is not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: header must be a JSON object, found {doc.RootElement.ValueKind}");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new InvalidDataException($"{path}: header lists '{property.Name}' twice");
                if (property.Name == MetadataKey)
                    ReadMetadata(property.Value, metadata, path);
                else
                    entries.Add(ReadEntry(property.Name, property.Value, dataLength, path));
            }
            // Byte ranges must not overlap (empty tensors hold no bytes and may sit anywhere).
            Entry? previous = null;
            foreach (var e in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
            {
                if (previous is not null && e.Begin < previous.End)
                    throw new InvalidDataException($"{path}: tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{e.Name}' [{e.Begin}, {e.End}) overlap in the data");
                previous = e;
            }
            return new Header(dataStart, entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: '{MetadataKey}' must be an object of strings, found {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}: metadata '{item.Name}' must be a string, found {item.Value.ValueKind}");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static Entry ReadEntry(string name, JsonElement value, long dataLength, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: tensor '{name}' must be described by an object, found {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{path}: tensor '{name}' has no string 'dtype'");
        var dtypeName = dtypeElement.GetString()!;
        var match = DTypes.FirstOrDefault(d => d.Name == dtypeName);
        if (match.Name is null)
            throw new InvalidDataException($"{path}: tensor '{name}' has unsupported dtype '{dtypeName}' (supported: {string.Join(", ", DTypes.Select(d => d.Name))})");
        var shape = ReadIntegers(value, "shape", name, path, expectedCount: null);
        var offsets = ReadIntegers(value, "data_offsets", name, path, expectedCount: 2);
        var size = TensorData.ElementSize(match.DType);
        long needed;
        try
        {
            needed = checked(shape.Aggregate(1L, (a, b) => a * b) * size);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{path}: tensor '{name}' shape [{string.Join(", ", shape)}] is too large");
        }
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin || end - begin != needed)
            throw new InvalidDataException($"{path}: tensor '{name}' data_offsets [{begin}, {end}] hold {end - begin} bytes, but {dtypeName} shape [{string.Join(", ", shape)}] needs {needed}");
        if (end > dataLength)
            throw new InvalidDataException($"{path}: tensor '{name}' data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes; truncated?)");
        return new Entry(name, match.DType, shape, begin, end);
    }

    private static long[] ReadIntegers(JsonElement entry, string field, string name, string path, int? expectedCount)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: tensor '{name}' has no '{field}' array");
        var values = new List<long>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
                throw new InvalidDataException($"{path}: tensor '{name}' '{field}' must hold non-negative integers, found {item.GetRawText()}");
            values.Add(v);
        }
        if (expectedCount is { } n && values.Count != n)
            throw new InvalidDataException($"{path}: tensor '{name}' '{field}' must hold {n} integers, found {values.Count}");
        return values.ToArray();
    }

    private static void EnsureLittleEndianHost()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data are little-endian; big-endian hosts are not supported");
    }
}
