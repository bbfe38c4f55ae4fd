using System.Text.Json;
using SerMtl.Checkpoints;
using TorchSharp;
using static SerMtl.Tests.Checkpoints.CheckpointTestKit;
using static TorchSharp.torch;

namespace SerMtl.Tests.Checkpoints;

public class CheckpointFilesTests
{
    private static string Sharded(string file = "model.safetensors.index.json") => Fixture("checkpoints", "sharded", file);

    [Fact]
    public void FindWeights_BothFormatsPresent_PrefersSafeTensors()
    {
        Assert.Equal(Path.Combine(TestPaths.TinyGroup, "model.safetensors"), CheckpointFiles.FindWeights(TestPaths.TinyGroup));
    }

    [Fact]
    public void LoadStateDict_DirectoryWithOnlyTheBin_ReadsTheBin()
    {
        using var dir = new TempDir();
        File.Copy(Path.Combine(TestPaths.TinyGroup, "pytorch_model.bin"), dir.File("pytorch_model.bin"));
        var fromBin = CheckpointFiles.LoadStateDict(dir.Path);
        var reference = SafeTensors.Read(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        try
        {
            AssertBitwiseEqual(reference, fromBin);
        }
        finally
        {
            DisposeAll(fromBin);
            DisposeAll(reference);
        }
    }

    [Fact]
    public void LoadStateDict_ShardedDirectory_ReadsEveryShard()
    {
        var t = CheckpointFiles.LoadStateDict(Fixture("checkpoints", "sharded"));
        try
        {
            Assert.Equal(["encoder.bias", "encoder.weight", "head.bias", "head.weight"], t.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(Enumerable.Range(0, 12).Select(i => i * 0.5f), Floats(t["encoder.weight"]));
            Assert.Equal(new long[] { 3, 4 }, t["encoder.weight"].shape);
            Assert.Equal(new[] { -1f, 0f, 1f }, Floats(t["encoder.bias"]));
            Assert.Equal(Enumerable.Range(0, 8).Select(i => i * -0.25f), Floats(t["head.weight"]));
            Assert.Equal(new[] { 0.5f, -0.5f }, Floats(t["head.bias"]));
        }
        finally
        {
            DisposeAll(t);
        }
    }

    [Fact]
    public void FindWeights_EmptyDirectory_ListsEveryNameLookedFor()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => CheckpointFiles.FindWeights(dir.Path));
        Assert.Equal($"{dir.Path}: no weights file found (expected one of model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json)", e.Message);
    }

    [Fact]
    public void FindWeights_MissingDirectory_Throws()
    {
        var missing = Path.Combine(TestPaths.Fixtures, "no-such-model");
        Assert.Equal($"{missing}: model directory not found", Assert.Throws<DirectoryNotFoundException>(() => CheckpointFiles.FindWeights(missing)).Message);
    }

    [Fact]
    public void Read_UnknownExtension_Throws()
    {
        var e = Assert.Throws<NotSupportedException>(() => CheckpointFiles.Read(Path.Combine(TestPaths.TinyGroup, "config.json")));
        Assert.Contains("unsupported weights file type", e.Message);
    }

    [Fact]
    public void Read_DispatchesBinAndPtToThePyTorchReader()
    {
        using var dir = new TempDir();
        foreach (var name in new[] { "w.pt", "w.pth" })
        {
            File.Copy(Fixture("checkpoints", "views.bin"), dir.File(name));
            var t = CheckpointFiles.Read(dir.File(name));
            Assert.Equal(6, t.Count);
            DisposeAll(t);
        }
    }

    // ---- sharded checkpoints that do not match their index ----

    private static string CopyShards(TempDir dir, Action<Dictionary<string, string>>? editWeightMap = null)
    {
        foreach (var f in Directory.GetFiles(Fixture("checkpoints", "sharded")))
            File.Copy(f, dir.File(Path.GetFileName(f)));
        var index = dir.File("model.safetensors.index.json");
        if (editWeightMap is not null)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            var map = doc.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            editWeightMap(map);
            File.WriteAllText(index, JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        }
        return index;
    }

    [Fact]
    public void Read_ShardMissingFromDisk_ThrowsNamingIt()
    {
        using var dir = new TempDir();
        var index = CopyShards(dir);
        File.Delete(dir.File("model-00002-of-00002.safetensors"));
        var e = Assert.Throws<FileNotFoundException>(() => CheckpointFiles.Read(index));
        Assert.Equal($"{index}: shard 'model-00002-of-00002.safetensors' listed in weight_map not found", e.Message);
    }

    [Fact]
    public void Read_IndexListsAKeyItsShardLacks_Throws()
    {
        using var dir = new TempDir();
        var index = CopyShards(dir, map => map["head.extra"] = "model-00002-of-00002.safetensors");
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFiles.Read(index));
        Assert.Equal($"{index}: shard 'model-00002-of-00002.safetensors' lacks 1 tensor(s) the index assigns to it: head.extra", e.Message);
    }

    [Fact]
    public void Read_ShardHoldsAKeyTheIndexPutsElsewhere_Throws()
    {
        using var dir = new TempDir();
        var index = CopyShards(dir, map => map["head.bias"] = "model-00001-of-00002.safetensors");
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFiles.Read(index));
        Assert.Contains("shard 'model-00001-of-00002.safetensors' lacks 1 tensor(s) the index assigns to it: head.bias", e.Message);
    }

    [Fact]
    public void Read_ShardHoldsAKeyTheIndexOmits_Throws()
    {
        using var dir = new TempDir();
        var index = CopyShards(dir, map => map.Remove("encoder.bias"));
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFiles.Read(index));
        Assert.Equal($"{index}: shard 'model-00001-of-00002.safetensors' holds tensors its index does not assign to it: 'encoder.bias' (not in the index)", e.Message);
    }

    [Theory]
    [InlineData("../model-00001-of-00002.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("sub\\x.safetensors")]
    [InlineData("")]
    [InlineData("other.safetensors.index.json")]
    public void Read_ShardNameThatIsNotABareFileName_Throws(string shard)
    {
        using var dir = new TempDir();
        var index = CopyShards(dir, map => map["head.bias"] = shard);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFiles.Read(index));
        Assert.Equal($"{index}: weight_map['head.bias'] = '{shard}' is not a shard file name in the index's folder", e.Message);
    }

    [Theory]
    [InlineData("{\"weight_map\": ", "not valid JSON")]
    [InlineData("{\"metadata\": {}}", "expected a JSON object with a 'weight_map' object")]
    [InlineData("{\"weight_map\": {\"a\": 3}}", "weight_map['a'] must be a shard file name, found Number")]
    [InlineData("{\"weight_map\": {}}", "weight_map is empty")]
    public void Read_MalformedIndex_Throws(string json, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model.safetensors.index.json"), json);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFiles.Read(dir.File("model.safetensors.index.json")));
        Assert.StartsWith(dir.File("model.safetensors.index.json"), e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Read_ShardedBinCheckpoint_ReadsThroughTheSameIndex()
    {
        using var dir = new TempDir();
        File.Copy(Fixture("checkpoints", "views.bin"), dir.File("pytorch_model-00001-of-00001.bin"));
        var keys = new[] { "offset", "offset_again", "strided", "transposed", "expanded", "parameter" };
        File.WriteAllText(dir.File("pytorch_model.bin.index.json"),
            JsonSerializer.Serialize(new { weight_map = keys.ToDictionary(k => k, _ => "pytorch_model-00001-of-00001.bin") }));
        var t = CheckpointFiles.LoadStateDict(dir.Path);
        Assert.Equal(keys.Order(), t.Keys.Order());
        DisposeAll(t);
    }

    [Fact]
    public void Read_Sharded_WritesBackAsOneFileBitwise()
    {
        using var dir = new TempDir();
        var t = CheckpointFiles.Read(Sharded());
        try
        {
            SafeTensors.Write(dir.File("merged.safetensors"), t);
            var merged = SafeTensors.Read(dir.File("merged.safetensors"));
            AssertBitwiseEqual(t, merged);
            DisposeAll(merged);
        }
        finally
        {
            DisposeAll(t);
        }
    }
}
