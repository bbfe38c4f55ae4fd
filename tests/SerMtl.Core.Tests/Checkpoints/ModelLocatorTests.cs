using SerMtl.Checkpoints;
using SerMtl.Hub;
using SerMtl.Modeling;

namespace SerMtl.Tests.Checkpoints;

/// <summary>Models by Hub id: the tiny fixture served by <see cref="FakeHub"/> loads as it does from its folder.</summary>
public sealed class ModelLocatorTests : IDisposable
{
    private readonly FakeHub _hub = new();
    private readonly TempDirectory _cache = new();

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    private HubOptions Hub(bool offline = false) => new() { Endpoint = _hub.Endpoint, CacheDirectory = _cache.Path, Offline = offline };

    [Fact]
    public void Resolve_HubId_FetchesConfigWeightsAndSmallFiles_AndTheModelMatchesTheLocalOne()
    {
        _hub.AddDirectory("org/tiny", TestPaths.TinyGroup);

        var directory = ModelLocator.Resolve("org/tiny", Hub());

        Assert.StartsWith(Path.Combine(_cache.Path, "models--org--tiny", "snapshots"), directory);
        foreach (var file in new[] { "config.json", "preprocessor_config.json", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(TestPaths.TinyGroup, file)), File.ReadAllBytes(Path.Combine(directory, file)));
        Assert.Equal(0, _hub.Count("GET /org/tiny/resolve/main/a.wav")); // only what a model needs

        using var local = Wav2Vec2Model.FromPretrained(TestPaths.TinyGroup);
        using var fromHub = Wav2Vec2Model.FromPretrained(directory);
        var clip = Enumerable.Range(0, 4000).Select(i => MathF.Sin(i * 0.05f) * 0.3f).ToArray();
        var a = local.Embed([clip]).Single();
        var b = fromHub.Embed([clip]).Single();
        try
        {
            Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray()); // the same weights give the same states, bit for bit
        }
        finally
        {
            a.Dispose();
            b.Dispose();
        }

        // Offline, the cache answers; a local directory is used as it is.
        Assert.Equal(directory, ModelLocator.Resolve("org/tiny", Hub(offline: true)));
        Assert.Equal(TestPaths.TinyGroup, ModelLocator.Resolve(TestPaths.TinyGroup, Hub()));
    }

    [Fact]
    public void Resolve_ShardedCheckpoint_FetchesEveryShard()
    {
        var files = new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(Path.Combine(TestPaths.TinyGroup, "config.json")),
            ["model.safetensors.index.json"] = "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\"}}"u8.ToArray(),
            ["model-00001-of-00002.safetensors"] = [1, 2, 3],
            ["model-00002-of-00002.safetensors"] = [4, 5, 6],
        };
        _hub.Add("org/sharded", files);

        var directory = ModelLocator.Resolve("org/sharded", Hub());

        Assert.Equal([4, 5, 6], File.ReadAllBytes(Path.Combine(directory, "model-00002-of-00002.safetensors")));
        Assert.True(File.Exists(Path.Combine(directory, "model-00001-of-00002.safetensors")));
    }

    [Fact]
    public void Resolve_NeitherDirectoryNorModel_SaysBoth()
    {
        _hub.Add("org/no-weights", new Dictionary<string, byte[]> { ["config.json"] = "{}"u8.ToArray() });

        var missing = Assert.Throws<HubException>(() => ModelLocator.Resolve("out/demo", Hub()));
        Assert.Equal(HubErrorKind.RepositoryNotFound, missing.Kind);
        Assert.Contains("out/demo: no such directory here, and", missing.Message);
        Assert.Contains("no weights file", Assert.Throws<HubException>(() => ModelLocator.Resolve("org/no-weights", Hub())).Message);
        Assert.Throws<DirectoryNotFoundException>(() => ModelLocator.Resolve("/no/such/dir", Hub()));
    }
}
