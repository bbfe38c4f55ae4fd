using System.Text;
using SerMtl.Checkpoints;
using TorchSharp;
using static SerMtl.Tests.Checkpoints.CheckpointTestKit;
using static TorchSharp.torch;

namespace SerMtl.Tests.Checkpoints;

public class SafeTensorsTests
{
    [Fact]
    public void Read_TinyGroupModel_LoadsEveryTensorWithItsShape()
    {
        var tensors = SafeTensors.Read(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        try
        {
            Assert.Equal(51, tensors.Count);
            Assert.Equal(new long[] { 16, 1, 10 }, tensors["feature_extractor.conv_layers.0.conv.weight"].shape);
            Assert.Equal(new long[] { 32, 8, 16 }, tensors["encoder.pos_conv_embed.conv.weight_v"].shape);
            Assert.True(float.IsFinite(tensors["encoder.layers.0.attention.q_proj.weight"].abs().sum().item<float>()));
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    [Fact]
    public void ReadMetadata_ReturnsTheFormatEntry()
    {
        var metadata = SafeTensors.ReadMetadata(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        Assert.Equal("pt", metadata["format"]);
        Assert.Empty(SafeTensors.ReadMetadata(Path.Combine(TestPaths.TinyGroup, "expected.safetensors")));
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Int16)]
    [InlineData(ScalarType.Int8)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    public void WriteThenRead_EachDtype_RoundTripsBitwise(ScalarType dtype)
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var values = (arange(-12, 12, ScalarType.Float64) * 0.75).reshape(2, 3, 4);
        var tensors = new Dictionary<string, Tensor>
        {
            ["x"] = dtype == ScalarType.Bool ? values.gt(0) : values.to(dtype),
            ["x_transposed"] = (dtype == ScalarType.Bool ? values.lt(1) : values.to(dtype)).transpose(0, 2), // non-contiguous input
            ["scalar"] = ones(Array.Empty<long>(), dtype),
            ["empty"] = zeros(new long[] { 0, 5 }, dtype),
        };
        SafeTensors.Write(dir.File("t.safetensors"), tensors);
        var read = SafeTensors.Read(dir.File("t.safetensors"));
        try
        {
            AssertBitwiseEqual(tensors, read);
        }
        finally
        {
            DisposeAll(read);
        }
    }

    [Fact]
    public void Write_F16AndBF16_StoresTheIeeeBitPatterns()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var values = tensor(new float[] { 1f, -2f, 0.5f, 65504f });
        SafeTensors.Write(dir.File("h.safetensors"), new Dictionary<string, Tensor>
        {
            ["h"] = values.to(ScalarType.Float16),
            ["b"] = values.to(ScalarType.BFloat16),
        });
        var bytes = File.ReadAllBytes(dir.File("h.safetensors"));
        var headerLength = (int)BitConverter.ToUInt64(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        // Both are 2-byte dtypes, so the data follow in name order: b then h.
        Assert.StartsWith("{\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]},\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[8,16]}}", header);
        var dataStart = 8 + headerLength;
        ushort At(int i) => BitConverter.ToUInt16(bytes, dataStart + 2 * i);
        Assert.Equal(new ushort[] { 0x3F80, 0xC000, 0x3F00, 0x4780 }, Enumerable.Range(0, 4).Select(At)); // 65504 rounds to 65536 in bf16
        Assert.Equal(new ushort[] { 0x3C00, 0xC000, 0x3800, 0x7BFF }, Enumerable.Range(4, 4).Select(At));
    }

    [Theory]
    [InlineData("f16.safetensors", ScalarType.Float16)]
    [InlineData("bf16.safetensors", ScalarType.BFloat16)]
    public void Read_HalfPrecisionFixture_WidensToThePythonFloat32Values(string file, ScalarType dtype)
    {
        var tensors = SafeTensors.Read(Fixture("checkpoints", file));
        try
        {
            Assert.Equal(dtype, tensors["weight"].dtype);
            Assert.Equal(dtype, tensors["bias"].dtype);
            using var widened = tensors["weight"].to(ScalarType.Float32);
            AssertBitwiseEqual(tensors["weight_as_f32"], widened, "weight");
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    [Fact]
    public void Write_TinyGroupExpectedOutputs_IsByteIdenticalToThePythonWrittenFile()
    {
        // Same rules as the fixture writer: sorted keys, no gaps, header padded with spaces to 8 bytes.
        using var dir = new TempDir();
        var source = Path.Combine(TestPaths.TinyGroup, "expected.safetensors");
        var tensors = SafeTensors.Read(source);
        try
        {
            SafeTensors.Write(dir.File("copy.safetensors"), tensors);
            Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(dir.File("copy.safetensors")));
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    [Fact]
    public void Write_MixedElementSizes_KeepsEveryTensorAlignedAndTheHeaderPadded()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        SafeTensors.Write(dir.File("m.safetensors"), new Dictionary<string, Tensor>
        {
            ["a_u8"] = ones(3, ScalarType.Byte),
            ["b_f32"] = ones(3, ScalarType.Float32),
            ["c_f16"] = ones(3, ScalarType.Float16),
            ["d_i64"] = ones(1, ScalarType.Int64),
        }, new Dictionary<string, string> { ["format"] = "pt" });
        var bytes = File.ReadAllBytes(dir.File("m.safetensors"));
        var headerLength = (long)BitConverter.ToUInt64(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"},\"d_i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},\"b_f32\"", header);
        Assert.Contains("\"b_f32\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]},\"c_f16\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[20,26]},\"a_u8\"", header);
        Assert.Equal("pt", SafeTensors.ReadMetadata(dir.File("m.safetensors"))["format"]);
    }

    [Fact]
    public void Write_ExistingFile_IsReplacedAndNoTemporaryFileRemains()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var path = dir.File("w.safetensors");
        File.WriteAllText(path, "old contents");
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["w"] = full(2, 3.5f) });
        Assert.Equal(new[] { "w.safetensors" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        var read = SafeTensors.Read(path);
        Assert.Equal(new[] { 3.5f, 3.5f }, Floats(read["w"]));
        DisposeAll(read);
    }

    [Fact]
    public void Write_ReservedOrEmptyName_Throws()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Write(dir.File("x.safetensors"), new Dictionary<string, Tensor> { ["__metadata__"] = ones(1) }));
        Assert.Contains("__metadata__", e.Message);
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(dir.File("x.safetensors"), new Dictionary<string, Tensor> { [""] = ones(1) }));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Write_UnsupportedDtype_ThrowsNamingTheTensor()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var e = Assert.Throws<NotSupportedException>(() => SafeTensors.Write(dir.File("x.safetensors"), new Dictionary<string, Tensor> { ["z"] = ones(2, ScalarType.ComplexFloat32) }));
        Assert.Contains("'z'", e.Message);
        Assert.Contains("ComplexFloat32", e.Message);
    }

    // ---- malformed files: every error names the file and says what is wrong ----

    private static string WriteRaw(TempDir dir, string header, int dataBytes, ulong? headerLength = null)
    {
        var path = dir.File("bad.safetensors");
        var h = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes(headerLength ?? (ulong)h.Length));
        f.Write(h);
        f.Write(new byte[dataBytes]);
        return path;
    }

    private static InvalidDataException ReadFails(string path)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.StartsWith(path, e.Message);
        return e;
    }

    [Fact]
    public void Read_FileShorterThanTheLengthField_Throws()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("bad.safetensors"), [1, 2, 3]);
        Assert.Contains("too short", ReadFails(dir.File("bad.safetensors")).Message);
    }

    [Fact]
    public void Read_HugeHeaderLength_ThrowsWithoutAllocating()
    {
        using var dir = new TempDir();
        var e = ReadFails(WriteRaw(dir, "{}", 0, headerLength: ulong.MaxValue / 2));
        Assert.Contains("exceeds", e.Message);
    }

    [Fact]
    public void Read_HeaderLengthBeyondTheFile_Throws()
    {
        using var dir = new TempDir();
        var e = ReadFails(WriteRaw(dir, "{}", 0, headerLength: 5000));
        Assert.Contains("header length 5000 does not fit the file", e.Message);
    }

    [Theory]
    [InlineData("{\"a\": {\"dtype\": \"F32\",", "not valid JSON")]
    [InlineData("[1, 2]", "must be a JSON object, found Array")]
    [InlineData("{\"a\": [1]}", "tensor 'a' must be described by an object")]
    [InlineData("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "tensor 'a' has no string 'dtype'")]
    [InlineData("{\"a\": {\"dtype\": \"F8_E4M3\", \"shape\": [1], \"data_offsets\": [0, 1]}}", "unsupported dtype 'F8_E4M3'")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", "tensor 'a' has no 'shape' array")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "must hold non-negative integers, found -1")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", "must hold non-negative integers, found 1.5")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", "'data_offsets' must hold 2 integers, found 1")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 16]}}", "tensor 'a' data_offsets [0, 16] hold 16 bytes, but F32 shape [2, 3] needs 24")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [4000000000, 4000000000, 4000000000], \"data_offsets\": [0, 16]}}", "is too large")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [10], \"data_offsets\": [24, 64]}}", "tensor 'a' data_offsets [24, 64] run past the end of the data (32 bytes; truncated?)")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", "tensors 'a' [0, 16) and 'b' [8, 24) overlap")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", "lists 'a' twice")]
    [InlineData("{\"__metadata__\": {\"format\": 1}}", "metadata 'format' must be a string")]
    [InlineData("{\"__metadata__\": [\"pt\"]}", "'__metadata__' must be an object of strings")]
    public void Read_MalformedHeader_ThrowsNamingTheProblem(string header, string expected)
    {
        using var dir = new TempDir();
        Assert.Contains(expected, ReadFails(WriteRaw(dir, header, 32)).Message);
    }

    [Fact]
    public void Read_TruncatedTinyGroupModel_ThrowsNamingTheFirstTensorPastTheEnd()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        var path = dir.File("model.safetensors");
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = ReadFails(path);
        Assert.Contains("masked_spec_embed", e.Message); // the last tensor in the file
        Assert.Contains("run past the end of the data", e.Message);
    }

    [Fact]
    public void Read_EmptyTensorsAnywhere_AreAccepted()
    {
        using var dir = new TempDir();
        var path = WriteRaw(dir, "{\"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}, \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8);
        var read = SafeTensors.Read(path);
        Assert.Equal(new long[] { 0 }, read["e"].shape);
        Assert.Equal(new[] { 0f, 0f }, Floats(read["a"]));
        DisposeAll(read);
    }
}
