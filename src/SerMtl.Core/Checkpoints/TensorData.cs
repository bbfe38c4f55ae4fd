using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>
/// Moves raw little-endian tensor bytes between streams and a tensor's native memory, without an intermediate
/// managed copy (a 1.2 GB checkpoint is streamed straight into the tensors).
/// </summary>
internal static class TensorData
{
    /// <summary>
    /// Span&lt;byte&gt; is int-indexed, so larger tensors are moved in pieces of at most this many bytes (a multiple of
    /// every element size, so a piece never splits an element).
    /// </summary>
    public const long MaxChunkBytes = 1L << 30;

    /// <summary>Bytes per element of the dtypes the checkpoint formats can hold.</summary>
    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Bool or ScalarType.Byte or ScalarType.Int8 => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new NotSupportedException($"dtype {dtype} is not supported in checkpoint files"),
    };

    /// <summary>Fills a contiguous CPU tensor from exactly its byte size of <paramref name="source"/>.</summary>
    /// <exception cref="EndOfStreamException">The stream ends first.</exception>
    public static void ReadExactly(Stream source, Tensor destination, long chunkBytes = MaxChunkBytes)
    {
        ForEachChunk(destination, chunkBytes, span => source.ReadExactly(span));
    }

    /// <summary>Writes the bytes of a contiguous CPU tensor to <paramref name="destination"/>.</summary>
    public static void Write(Tensor source, Stream destination, long chunkBytes = MaxChunkBytes)
    {
        ForEachChunk(source, chunkBytes, span => destination.Write(span));
    }

    /// <summary>Copies the bytes of a contiguous CPU tensor into another of the same byte size (a reinterpretation).</summary>
    public static void CopyBytes(Tensor source, Tensor destination, long chunkBytes = MaxChunkBytes)
    {
        CheckChunk(chunkBytes);
        var total = source.numel() * ElementSize(source.dtype);
        if (total != destination.numel() * ElementSize(destination.dtype))
            throw new ArgumentException("tensors differ in byte size", nameof(destination));
        using var src = source.view(-1);
        using var dst = destination.view(-1);
        var srcSize = ElementSize(source.dtype);
        var dstSize = ElementSize(destination.dtype);
        // chunkBytes is a multiple of every element size, so both sides split at the same byte positions.
        for (long start = 0; start < total; start += chunkBytes)
        {
            var bytes = Math.Min(chunkBytes, total - start);
            using var s = src.narrow(0, start / srcSize, bytes / srcSize);
            using var d = dst.narrow(0, start / dstSize, bytes / dstSize);
            s.bytes.CopyTo(d.bytes);
        }
    }

    private delegate void SpanAction(Span<byte> span);

    private static void CheckChunk(long chunkBytes)
    {
        if (chunkBytes <= 0 || chunkBytes % 8 != 0 || chunkBytes > MaxChunkBytes)
            throw new ArgumentOutOfRangeException(nameof(chunkBytes), chunkBytes, $"must be a positive multiple of 8 up to {MaxChunkBytes}");
    }

    private static void ForEachChunk(Tensor tensor, long chunkBytes, SpanAction action)
    {
        CheckChunk(chunkBytes);
        if (!tensor.is_contiguous() || tensor.device_type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException("expected a contiguous CPU tensor", nameof(tensor));
        var size = ElementSize(tensor.dtype);
        var count = tensor.numel();
        if (count == 0) return;
        if (count * size <= chunkBytes)
        {
            action(tensor.bytes);
            return;
        }
        using var flat = tensor.view(-1);
        var perChunk = chunkBytes / size;
        for (long start = 0; start < count; start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, count - start));
            action(part.bytes);
        }
    }
}
