using System.IO.Compression;
using SerMtl.Checkpoints;
using TorchSharp;
using static SerMtl.Tests.Checkpoints.CheckpointTestKit;
using static TorchSharp.torch;

namespace SerMtl.Tests.Checkpoints;

public class PyTorchCheckpointTests
{
    private static void AssertBinEqualsSafeTensors(string bin, string safetensors)
    {
        var fromBin = PyTorchCheckpoint.Read(bin);
        var fromSafeTensors = SafeTensors.Read(safetensors);
        try
        {
            AssertBitwiseEqual(fromSafeTensors, fromBin);
            Assert.All(fromBin.Values, t => Assert.True(t.is_contiguous()));
        }
        finally
        {
            DisposeAll(fromBin);
            DisposeAll(fromSafeTensors);
        }
    }

    [Fact]
    public void Read_TinyGroupBin_EqualsItsSafeTensorsBitwise() =>
        AssertBinEqualsSafeTensors(Path.Combine(TestPaths.TinyGroup, "pytorch_model.bin"), Path.Combine(TestPaths.TinyGroup, "model.safetensors"));

    [Fact]
    public void Read_TinyLayerBin_OrderedDictWithModuleMetadata_EqualsItsSafeTensorsBitwise() =>
        AssertBinEqualsSafeTensors(Fixture("wav2vec2", "tiny-layer", "pytorch_model.bin"), Fixture("wav2vec2", "tiny-layer", "model.safetensors"));

    [Fact]
    public void Read_TinyViewsBin_OffsetsStridesAndSharedStorages_EqualThePythonWeights() =>
        AssertBinEqualsSafeTensors(Fixture("wav2vec2", "tiny-views", "pytorch_model.bin"), Fixture("wav2vec2", "tiny-views", "model.safetensors"));

    [Fact]
    public void Read_EveryDtype_EqualsThePythonWrittenSafeTensors() =>
        AssertBinEqualsSafeTensors(Fixture("checkpoints", "dtypes.bin"), Fixture("checkpoints", "dtypes.safetensors"));

    [Fact]
    public void Read_EveryDtype_HoldsTheValuesThePythonGeneratorComputed()
    {
        var t = PyTorchCheckpoint.Read(Fixture("checkpoints", "dtypes.bin"));
        try
        {
            // base = arange(-6, 6).reshape(3, 4); each dtype a multiple of it
            Assert.Equal(ScalarType.Int64, t["i64"].dtype);
            Assert.Equal(-6L * 1_000_000_007, t["i64"][0, 0].item<long>());
            Assert.Equal(5L * 1_000_000_007, t["i64"][2, 3].item<long>());
            Assert.Equal(-1.25f, t["f32"][0, 1].item<float>());
            Assert.Equal(-4.0 / 3.0, t["f64"][0, 2].item<double>());
            Assert.Equal(ScalarType.BFloat16, t["bf16"].dtype);
            Assert.Equal(2.5f, Floats(t["bf16"])[11]);
            Assert.Equal(ScalarType.Float16, t["f16"].dtype);
            Assert.Equal(-0.75f, Floats(t["f16"])[0]);
            Assert.Equal(ScalarType.Bool, t["bool"].dtype);
            Assert.Equal(new[] { true, false, false, true }, Enumerable.Range(0, 4).Select(i => t["bool"][0, i].item<bool>()));
            Assert.Equal(Array.Empty<long>(), t["scalar"].shape);
            Assert.Equal(2.5f, t["scalar"].item<float>());
            Assert.Equal(new long[] { 0, 4 }, t["empty"].shape);
        }
        finally
        {
            DisposeAll(t);
        }
    }

    [Fact]
    public void Read_ViewsFixture_GivesContiguousTensorsWithTheViewedValues()
    {
        var t = PyTorchCheckpoint.Read(Fixture("checkpoints", "views.bin"));
        try
        {
            // offset = arange(100)[10:22].view(3, 4); offset_again = arange(100)[50:53] (same storage)
            Assert.Equal(Enumerable.Range(10, 12).Select(i => (float)i), Floats(t["offset"]));
            Assert.Equal(new[] { 50f, 51f, 52f }, Floats(t["offset_again"]));
            // strided = arange(100)[1:61].view(6, 10)[::2, 3:7]: element [r, c] = 1 + 20 r + 3 + c
            Assert.Equal(new long[] { 3, 4 }, t["strided"].shape);
            Assert.Equal(from r in Enumerable.Range(0, 3) from c in Enumerable.Range(0, 4) select 4f + 20 * r + c, Floats(t["strided"]));
            // transposed = arange(24).view(4, 6).t(): element [j, i] = 6 i + j
            Assert.Equal(new long[] { 6, 4 }, t["transposed"].shape);
            Assert.Equal(from j in Enumerable.Range(0, 6) from i in Enumerable.Range(0, 4) select 6f * i + j, Floats(t["transposed"]));
            // expanded = arange(3).view(3, 1).expand(3, 5): stride 0
            Assert.Equal(from r in Enumerable.Range(0, 3) from c in Enumerable.Range(0, 5) select (float)r, Floats(t["expanded"]));
            // parameter = nn.Parameter(arange(6).view(2, 3) - 2), saved through _rebuild_parameter
            Assert.Equal(new[] { -2f, -1f, 0f, 1f, 2f, 3f }, Floats(t["parameter"]));
            Assert.All(t.Values, v => Assert.True(v.is_contiguous()));
        }
        finally
        {
            DisposeAll(t);
        }
    }

    [Fact]
    public void Read_SharedStorage_TensorsDoNotAliasEachOther()
    {
        var t = PyTorchCheckpoint.Read(Fixture("checkpoints", "views.bin"));
        try
        {
            t["offset"].fill_(-1f);
            Assert.Equal(new[] { 50f, 51f, 52f }, Floats(t["offset_again"]));
        }
        finally
        {
            DisposeAll(t);
        }
    }

    // ---- refusing code ----

    [Fact]
    public void Read_PickleCallingOsSystem_IsRefusedAndNothingRuns()
    {
        const string marker = "/tmp/sermtl_pickle_payload_ran"; // what the fixture's payload would `touch`
        var path = Fixture("checkpoints", "malicious.bin");
        Assert.False(File.Exists(marker));
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.Equal($"refusing to load 'os.system' from {path}: only state-dict tensors are allowed", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [InlineData("torch.storage", "_load_from_bytes")]
    [InlineData("builtins", "eval")]
    [InlineData("__builtin__", "getattr")]
    [InlineData("torch", "load")]
    [InlineData("subprocess", "Popen")]
    [InlineData("collections", "defaultdict")]
    public void Read_GlobalOutsideTheAllowList_IsRefusedNamingIt(string module, string name)
    {
        using var dir = new TempDir();
        var path = dir.File("evil.bin");
        // {'x': module.name(b'...')}, once via GLOBAL and once via STACK_GLOBAL (protocol 4)
        foreach (var viaStack in new[] { false, true })
        {
            var p = new PickleBuilder().Proto().EmptyDict().Str("x");
            p = viaStack ? p.StackGlobal(module, name) : p.Global(module, name);
            WriteTorchZip(path, p.Mark().Raw((byte)'C', 3).Raw("abc"u8.ToArray()).Tuple().Reduce().SetItem().Stop().Build());
            var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
            Assert.Equal($"refusing to load '{module}.{name}' from {path}: only state-dict tensors are allowed", e.Message);
        }
    }

    [Theory]
    [InlineData((byte)'i', "('i')")] // INST: instantiates a class named inline
    [InlineData((byte)'o', "('o')")] // OBJ
    [InlineData((byte)'R', "stack underflow")] // REDUCE with nothing to call
    [InlineData(0x82, "0x82")] // EXT1: extension registry
    [InlineData((byte)'S', "('S')")] // STRING (protocol 0 text)
    public void Read_OpcodeOutsideTheStateDictSubset_IsRefused(byte opcode, string expected)
    {
        using var dir = new TempDir();
        var path = dir.File("op.bin");
        WriteTorchZip(path, new PickleBuilder().Proto().Raw(opcode).Raw("os\nsystem\n"u8.ToArray()).Stop().Build());
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.StartsWith($"{path} (archive/data.pkl): malformed pickle at byte 2:", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Read_PickleWithoutStop_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("nostop.bin");
        WriteTorchZip(path, new PickleBuilder().Proto().EmptyDict().Str("x").Build());
        Assert.Contains("unexpected end of data (no STOP)", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_LyingStringLength_ThrowsWithoutAllocating()
    {
        using var dir = new TempDir();
        var path = dir.File("len.bin");
        WriteTorchZip(path, new PickleBuilder().Proto().Raw((byte)'X', 0xff, 0xff, 0xff, 0x7f).Raw("abc"u8.ToArray()).Stop().Build());
        Assert.Contains("needs 2147483647 bytes but only 4 remain", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_UnknownMemoEntry_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("memo.bin");
        WriteTorchZip(path, new PickleBuilder().Proto().Raw((byte)'h', 7).Stop().Build());
        Assert.Contains("memo entry 7 was never stored", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    // ---- wrong file kinds ----

    // ---- the legacy (pre-1.6) format ----

    [Fact]
    public void Read_LegacyFormat_OneTensor()
    {
        var t = PyTorchCheckpoint.Read(Fixture("checkpoints", "legacy.bin"));
        try
        {
            Assert.Equal(["w"], t.Keys);
            Assert.Equal(new[] { 1f, 1f }, Floats(t["w"]));
        }
        finally
        {
            DisposeAll(t);
        }
    }

    [Fact]
    public void Read_LegacyFormat_EveryDtype_EqualsThePythonWrittenSafeTensors() =>
        AssertBinEqualsSafeTensors(Fixture("checkpoints", "legacy_dtypes.bin"), Fixture("checkpoints", "dtypes.safetensors"));

    [Fact]
    public void Read_LegacyFormat_ViewsAndSharedStorages_EqualTheZipFormat()
    {
        var legacy = PyTorchCheckpoint.Read(Fixture("checkpoints", "legacy_views.bin"));
        var zip = PyTorchCheckpoint.Read(Fixture("checkpoints", "views.bin"));
        try
        {
            AssertBitwiseEqual(zip, legacy);
        }
        finally
        {
            DisposeAll(legacy);
            DisposeAll(zip);
        }
    }

    [Fact]
    public void Read_LegacyFormat_TruncatedOrNotTorch_SaysSo()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(Fixture("checkpoints", "legacy_dtypes.bin"));
        var truncated = dir.File("truncated.bin");
        File.WriteAllBytes(truncated, bytes[..^10]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(truncated)).Message);
        var cut = dir.File("cut.bin");
        File.WriteAllBytes(cut, bytes[..200]);
        Assert.Contains("malformed pickle", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(cut)).Message);
        var plainPickle = dir.File("plain.bin");
        File.WriteAllBytes(plainPickle, [0x80, 0x02, 0x4b, 0x01, 0x2e]); // pickle.dumps(1, protocol=2)
        Assert.Contains("not one written by torch.save", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(plainPickle)).Message);
    }

    [Fact]
    public void Read_SafeTensorsFileNamedBin_ThrowsNotAZip()
    {
        using var dir = new TempDir();
        var path = dir.File("model.bin");
        File.Copy(Path.Combine(TestPaths.TinyGroup, "model.safetensors"), path);
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.StartsWith($"{path}: not a PyTorch checkpoint: expected a zip archive written by torch.save", e.Message);
    }

    [Fact]
    public void Read_EmptyFile_Throws()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("e.bin"), []);
        Assert.Contains("found an empty file", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(dir.File("e.bin"))).Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.99)]
    public void Read_TruncatedZip_ThrowsNamingTheFile(double keep)
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.TinyGroup, "pytorch_model.bin"));
        var path = dir.File("truncated.bin");
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.StartsWith($"{path}: not a readable zip archive", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Read_MissingStorageEntry_ThrowsNamingTheEntry()
    {
        using var dir = new TempDir();
        var path = dir.File("missing.bin");
        // tiny-group's archive without its storage 5
        using (var source = ZipFile.OpenRead(Path.Combine(TestPaths.TinyGroup, "pytorch_model.bin")))
        using (var target = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach (var entry in source.Entries.Where(e => e.FullName != "pytorch_model/data/5"))
            {
                using var from = entry.Open();
                using var to = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                from.CopyTo(to);
            }
        }
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.Equal($"{path}: storage '5' is missing from the archive (no entry 'pytorch_model/data/5')", e.Message);
    }

    [Fact]
    public void Read_StorageEntrySmallerThanItsNumel_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("short.bin");
        WriteTorchZip(path, PickleBuilder.OneTensorDict("w", "0", numel: 1_000_000, size: [4], stride: [1]),
            new Dictionary<string, byte[]> { ["0"] = FloatBytes(1, 2, 3, 4) });
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.Equal($"{path}: storage '0' should hold 1000000 x Float32 (1000000x4 bytes), but its entry has 16 bytes", e.Message);
    }

    [Theory]
    [InlineData(new long[] { 5 }, new long[] { 1 }, 0, "reaches element 4 of storage '0', which holds 4")]
    [InlineData(new long[] { 2, 2 }, new long[] { 2, 1 }, 1, "reaches element 4 of storage '0', which holds 4")]
    [InlineData(new long[] { 2 }, new long[] { 1, 1 }, 0, "has an invalid view")]
    [InlineData(new long[] { 2 }, new long[] { -1 }, 0, "has an invalid view")]
    public void Read_ViewOutsideItsStorage_ThrowsNamingTheTensor(long[] size, long[] stride, long offset, string expected)
    {
        using var dir = new TempDir();
        var path = dir.File("view.bin");
        WriteTorchZip(path, PickleBuilder.OneTensorDict("encoder.w", "0", numel: 4, size, stride, offset),
            new Dictionary<string, byte[]> { ["0"] = FloatBytes(1, 2, 3, 4) });
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.StartsWith($"{path}: tensor 'encoder.w'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Read_HandMadeViewInsideItsStorage_Loads()
    {
        using var dir = new TempDir();
        var path = dir.File("view.bin");
        WriteTorchZip(path, PickleBuilder.OneTensorDict("w", "0", numel: 6, size: [2, 2], stride: [1, 3], offset: 1),
            new Dictionary<string, byte[]> { ["0"] = FloatBytes(0, 1, 2, 3, 4, 5) });
        var t = PyTorchCheckpoint.Read(path);
        Assert.Equal(new[] { 1f, 4f, 2f, 5f }, Floats(t["w"]));
        DisposeAll(t);
    }

    [Fact]
    public void Read_NewerTorchLayout_WithByteorderAndExtraRecords_Loads()
    {
        // torch 2.x adds "byteorder", ".data/serialization_id" and ".format_version" records beside data.pkl.
        using var dir = new TempDir();
        var path = dir.File("torch2.bin");
        WriteTorchZip(path, PickleBuilder.OneTensorDict("w", "0", numel: 3, size: [3], stride: [1]),
            new Dictionary<string, byte[]> { ["0"] = FloatBytes(1, 2, 3) });
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            foreach (var (name, text) in new[] { ("byteorder", "little"), (".data/serialization_id", "1234567890"), (".format_version", "1") })
            {
                using var s = new StreamWriter(zip.CreateEntry("archive/" + name, CompressionLevel.NoCompression).Open());
                s.Write(text);
            }
        }
        var t = PyTorchCheckpoint.Read(path);
        Assert.Equal(new[] { 1f, 2f, 3f }, Floats(t["w"]));
        DisposeAll(t);
    }

    [Fact]
    public void Read_BigEndianByteorder_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("big.bin");
        WriteTorchZip(path, PickleBuilder.OneTensorDict("w", "0", numel: 1, size: [1], stride: [1]),
            new Dictionary<string, byte[]> { ["0"] = FloatBytes(1) });
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        using (var s = new StreamWriter(zip.CreateEntry("archive/byteorder", CompressionLevel.NoCompression).Open()))
            s.Write("big");
        Assert.Equal($"{path}: byteorder is 'big'; only little-endian checkpoints are supported",
            Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_StorageReferencedWithTwoDifferentDtypes_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("twotypes.bin");
        var pickle = new PickleBuilder().Proto().EmptyDict()
            .Str("a").Tensor("0", 2, [2], [1]).SetItem()
            .Str("b").Tensor("0", 2, [2], [1], storageType: "LongStorage").SetItem()
            .Stop().Build();
        WriteTorchZip(path, pickle, new Dictionary<string, byte[]> { ["0"] = FloatBytes(1, 2) });
        Assert.Contains("storage '0' is referenced as 2 x Float32 and as 2 x Int64", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_RebuildTensorV3OnUntypedStorage_ViewsTheBytesAsTheNamedDtype()
    {
        // _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype): newer torch for dtypes
        // without a typed storage class; the storage counts bytes.
        using var dir = new TempDir();
        var path = dir.File("v3.bin");
        var p = new PickleBuilder().Proto().EmptyDict().Str("w").Global("torch._utils", "_rebuild_tensor_v3").Mark();
        p.Mark().Str("storage").Global("torch", "UntypedStorage").Str("0").Str("cpu").Int(12).Tuple().BinPersId();
        p.Int(1).IntTuple(2).IntTuple(1).False().Global("collections", "OrderedDict").EmptyTuple().Reduce().Global("torch", "float32");
        WriteTorchZip(path, p.Tuple().Reduce().SetItem().Stop().Build(), new Dictionary<string, byte[]> { ["0"] = FloatBytes(5, 6, 7) });
        var t = PyTorchCheckpoint.Read(path);
        Assert.Equal(ScalarType.Float32, t["w"].dtype);
        Assert.Equal(new[] { 6f, 7f }, Floats(t["w"]));
        DisposeAll(t);
    }

    [Fact]
    public void Read_CompressedStorageEntry_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("deflate.bin");
        WriteTorchZip(path, PickleBuilder.OneTensorDict("w", "0", numel: 64, size: [64], stride: [1]),
            new Dictionary<string, byte[]> { ["0"] = new byte[256] }, level: CompressionLevel.Optimal);
        Assert.Contains("is compressed", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_NonTensorValue_ThrowsNamingTheKey()
    {
        using var dir = new TempDir();
        var path = dir.File("epoch.bin");
        WriteTorchZip(path, new PickleBuilder().Proto().EmptyDict().Str("epoch").Int(3).SetItem().Stop().Build());
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.StartsWith($"{path}: 'epoch' holds a int, not a tensor", e.Message);
    }

    [Fact]
    public void Read_TopLevelNotADict_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("list.bin");
        WriteTorchZip(path, new PickleBuilder().Proto().EmptyList().Stop().Build());
        Assert.Equal($"{path}: expected a state dict (a dict of tensors) in data.pkl, found a list",
            Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_ZipWithoutDataPkl_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("other.bin");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            zip.CreateEntry("archive/readme.txt");
        Assert.Equal($"{path}: no 'archive/data.pkl' entry; not an archive written by torch.save",
            Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_TorchScriptArchive_SaysSo()
    {
        using var dir = new TempDir();
        var path = dir.File("scripted.pt");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            zip.CreateEntry("scripted/code/__torch__.py");
            zip.CreateEntry("scripted/constants.pkl");
        }
        Assert.Contains("TorchScript archive", Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
    }

    [Fact]
    public void Read_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => PyTorchCheckpoint.Read(Path.Combine(TestPaths.Fixtures, "no-such.bin")));
    }
}
