using SerMtl.Checkpoints;
using TorchSharp;
using static SerMtl.Tests.Checkpoints.CheckpointTestKit;
using static TorchSharp.torch;

namespace SerMtl.Tests.Checkpoints;

public class TensorDataTests
{
    // The 1 GiB pieces used for huge tensors take the same path as these 8-byte ones.
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Byte)]
    public void WriteThenRead_InSmallPieces_RoundTripsEveryByte(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var source = (arange(0, 45, ScalarType.Float32) - 20).reshape(5, 9).to(dtype); // 45 elements: a partial last piece
        using var stream = new MemoryStream();
        TensorData.Write(source, stream, chunkBytes: 8);
        Assert.Equal(45 * TensorData.ElementSize(dtype), stream.Length);
        Assert.Equal(source.bytes.ToArray(), stream.ToArray());
        stream.Position = 0;
        var copy = empty(new long[] { 5, 9 }, dtype);
        TensorData.ReadExactly(stream, copy, chunkBytes: 8);
        AssertBitwiseEqual(source, copy, "copy");
    }

    [Fact]
    public void ReadExactly_StreamTooShort_ThrowsEndOfStream()
    {
        using var scope = NewDisposeScope();
        var t = empty(new long[] { 4 }, ScalarType.Float32);
        Assert.Throws<EndOfStreamException>(() => TensorData.ReadExactly(new MemoryStream(new byte[12]), t, chunkBytes: 8));
    }

    [Fact]
    public void CopyBytes_InSmallPieces_ReinterpretsBytesAsAnotherDtype()
    {
        using var scope = NewDisposeScope();
        var bytes = tensor(FloatBytes(1f, -2f, 0.5f, 3f, 7f));
        var floats = empty(new long[] { 5 }, ScalarType.Float32);
        TensorData.CopyBytes(bytes, floats, chunkBytes: 8);
        Assert.Equal(new[] { 1f, -2f, 0.5f, 3f, 7f }, Floats(floats));
    }

    [Fact]
    public void Write_NonContiguousTensor_IsRejected()
    {
        using var scope = NewDisposeScope();
        var t = ones(3, 4).t();
        Assert.Throws<ArgumentException>(() => TensorData.Write(t, new MemoryStream()));
    }
}
