using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Checkpoints;

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sermtl-ckpt-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Helpers shared by the checkpoint tests.</summary>
internal static class CheckpointTestKit
{
    public static string Fixture(params string[] parts) => Path.Combine([TestPaths.Fixtures, .. parts]);

    public static void DisposeAll(IReadOnlyDictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values) t.Dispose();
    }

    /// <summary>Same keys, and each tensor the same dtype, shape and bytes.</summary>
    public static void AssertBitwiseEqual(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, e) in expected)
            AssertBitwiseEqual(e, actual[key], key);
    }

    public static void AssertBitwiseEqual(Tensor expected, Tensor actual, string key)
    {
        Assert.True(expected.dtype == actual.dtype, $"{key}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.True(expected.shape.SequenceEqual(actual.shape), $"{key}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        using var e = expected.contiguous();
        using var a = actual.contiguous();
        Assert.True(e.bytes.SequenceEqual(a.bytes), $"{key}: bytes differ");
    }

    public static float[] Floats(Tensor t)
    {
        using var f = t.to(ScalarType.Float32).contiguous();
        return f.data<float>().ToArray();
    }

    /// <summary>Writes a zip laid out as torch.save lays it out: stored entries under "archive/".</summary>
    public static void WriteTorchZip(string path, byte[] pickle, IReadOnlyDictionary<string, byte[]>? storages = null,
        string archive = "archive", CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var file = new FileStream(path, FileMode.Create);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            var entry = zip.CreateEntry($"{archive}/{name}", level);
            using var s = entry.Open();
            s.Write(data);
        }
        Add("data.pkl", pickle);
        foreach (var (key, data) in storages ?? new Dictionary<string, byte[]>())
            Add($"data/{key}", data);
        Add("version", "3\n"u8.ToArray());
    }

    public static byte[] FloatBytes(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
}

/// <summary>Writes pickle opcodes by hand, to build hostile or malformed data.pkl files.</summary>
internal sealed class PickleBuilder
{
    private readonly MemoryStream _bytes = new();

    public PickleBuilder Raw(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public PickleBuilder Proto() => Raw(0x80, 2);
    public PickleBuilder Stop() => Raw((byte)'.');
    public PickleBuilder Mark() => Raw((byte)'(');
    public PickleBuilder Tuple() => Raw((byte)'t');
    public PickleBuilder Tuple1() => Raw(0x85);
    public PickleBuilder EmptyTuple() => Raw((byte)')');
    public PickleBuilder EmptyDict() => Raw((byte)'}');
    public PickleBuilder EmptyList() => Raw((byte)']');
    public PickleBuilder SetItem() => Raw((byte)'s');
    public PickleBuilder Reduce() => Raw((byte)'R');
    public PickleBuilder False() => Raw(0x89);
    public PickleBuilder BinPersId() => Raw((byte)'Q');

    public PickleBuilder Int(int value) => Raw((byte)'J').Raw(BitConverter.GetBytes(value));

    public PickleBuilder Str(string value)
    {
        var raw = Encoding.UTF8.GetBytes(value);
        return Raw((byte)'X').Raw(BitConverter.GetBytes(raw.Length)).Raw(raw);
    }

    public PickleBuilder Global(string module, string name) => Raw((byte)'c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleBuilder StackGlobal(string module, string name) => Str(module).Str(name).Raw(0x93);

    public PickleBuilder IntTuple(params long[] values)
    {
        Mark();
        foreach (var v in values) Int((int)v);
        return Tuple();
    }

    /// <summary>torch._utils._rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, OrderedDict()).</summary>
    public PickleBuilder Tensor(string storageKey, long numel, long[] size, long[] stride, long offset = 0, string storageType = "FloatStorage")
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", storageType).Str(storageKey).Str("cpu").Int((int)numel).Tuple().BinPersId();
        Int((int)offset).IntTuple(size).IntTuple(stride).False().Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    /// <summary>A pickle of {key: tensor} for one float32 tensor.</summary>
    public static byte[] OneTensorDict(string key, string storageKey, long numel, long[] size, long[] stride, long offset = 0) =>
        new PickleBuilder().Proto().EmptyDict().Str(key).Tensor(storageKey, numel, size, stride, offset).SetItem().Stop().Build();

    public byte[] Build() => _bytes.ToArray();
}
