using System.Text;
using SerMtl.Hub;

namespace SerMtl.Hub.Tests;

/// <summary>The Hub client end to end against <see cref="FakeHub"/> on 127.0.0.1.</summary>
public sealed class HubClientTests : IDisposable
{
    private static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"model_type\": \"wav2vec2\"}");
    private static readonly byte[] Weights = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7 % 251)).ToArray();
    private static readonly HubModelId Model = new("org/model");

    private readonly FakeHub _hub = new();
    private readonly TempDirectory _cache = new();
    private readonly string _commit;

    public HubClientTests()
    {
        _commit = _hub.Add("org/model", new Dictionary<string, byte[]> { ["config.json"] = Config, ["model.safetensors"] = Weights });
    }

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    private HubClient Client(string? token = null, bool offline = false, Uri? endpoint = null) =>
        new(new HubOptions { Endpoint = endpoint ?? _hub.Endpoint, CacheDirectory = _cache.Path, Token = token, Offline = offline, RequestTimeout = TimeSpan.FromSeconds(5) });

    private string Repo => Path.Combine(_cache.Path, "models--org--model");

    [Fact]
    public void Download_SmallAndLargeFiles_LaysThemOutAsHuggingfaceHubDoes()
    {
        using var client = Client();

        var config = client.DownloadFile(Model, "config.json");
        var weights = client.DownloadFile(Model, "model.safetensors");

        Assert.Equal(Path.Combine(Repo, "snapshots", _commit, "config.json"), config);
        Assert.Equal(Path.Combine(Repo, "snapshots", _commit, "model.safetensors"), weights);
        Assert.Equal(Config, File.ReadAllBytes(config));
        Assert.Equal(Weights, File.ReadAllBytes(weights));
        // Blobs are named by the Hub's ETag: the git blob hash of a small file, the SHA-256 of an LFS file.
        Assert.True(File.Exists(Path.Combine(Repo, "blobs", FakeHub.GitBlobHash(Config))));
        Assert.True(File.Exists(Path.Combine(Repo, "blobs", FakeHub.Sha256(Weights))));
        // Snapshot entries are relative links to the blobs, and refs/main holds the commit.
        Assert.Equal(Path.Combine("..", "..", "blobs", FakeHub.Sha256(Weights)), new FileInfo(weights).LinkTarget);
        Assert.Equal(_commit, File.ReadAllText(Path.Combine(Repo, "refs", "main")));
        Assert.Empty(Directory.GetFiles(Path.Combine(Repo, "blobs"), "*.incomplete"));
    }

    [Fact]
    public void Download_Again_UsesTheCacheWithoutFetchingTheBytes()
    {
        using var client = Client();
        var first = client.DownloadFile(Model, "model.safetensors");
        var fetches = _hub.Count("GET /cdn/");

        var second = client.DownloadFile(Model, "model.safetensors");

        Assert.Equal(first, second);
        Assert.Equal(1, fetches);
        Assert.Equal(1, _hub.Count("GET /cdn/"));
    }

    [Fact]
    public void Offline_CachedFileIsFound_UncachedFileIsAClearError()
    {
        using (var online = Client()) online.DownloadFile(Model, "config.json");
        using var offline = Client(offline: true);
        var before = _hub.Requests.Count;

        Assert.Equal(Config, File.ReadAllBytes(offline.DownloadFile(Model, "config.json")));
        var e = Assert.Throws<HubException>(() => offline.DownloadFile(Model, "model.safetensors"));

        Assert.Equal(HubErrorKind.NotCached, e.Kind);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Equal(before, _hub.Requests.Count); // offline means no request at all
    }

    [Fact]
    public void NoNetwork_FallsBackToTheCache_ElseSaysItCouldNotReachTheHub()
    {
        using (var online = Client()) online.DownloadFile(Model, "config.json");
        var nowhere = new Uri("http://127.0.0.1:1/"); // nothing listens on port 1
        using var client = Client(endpoint: nowhere);

        Assert.Equal(Config, File.ReadAllBytes(client.DownloadFile(Model, "config.json")));
        var e = Assert.Throws<HubException>(() => client.DownloadFile(Model, "model.safetensors"));
        Assert.Equal(HubErrorKind.NoNetwork, e.Kind);
        Assert.Contains("could not reach http://127.0.0.1:1/", e.Message);
    }

    [Fact]
    public void InterruptedDownload_ResumesFromThePartialFileWithARangeRequest()
    {
        using var client = Client();
        _hub.BreakNextDownloadAfter = 100_000;

        var e = Assert.Throws<HubException>(() => client.DownloadFile(Model, "model.safetensors"));
        Assert.Equal(HubErrorKind.NoNetwork, e.Kind);
        Assert.Contains("resume", e.Message);
        var partial = Path.Combine(Repo, "blobs", FakeHub.Sha256(Weights) + ".incomplete");
        Assert.Equal(100_000, new FileInfo(partial).Length);

        var path = client.DownloadFile(Model, "model.safetensors");

        Assert.Contains($"GET /cdn/{FakeHub.Sha256(Weights)} bytes=100000-", _hub.Requests);
        Assert.Equal(Weights, File.ReadAllBytes(path));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public void CorruptDownload_IsDiscardedAndNamed()
    {
        using var client = Client();
        _hub.CorruptDownloads = true;

        var e = Assert.Throws<HubException>(() => client.DownloadFile(Model, "model.safetensors"));

        Assert.Equal(HubErrorKind.ChecksumMismatch, e.Kind);
        Assert.Contains(FakeHub.Sha256(Weights), e.Message);
        Assert.False(File.Exists(Path.Combine(Repo, "blobs", FakeHub.Sha256(Weights))));
        Assert.False(File.Exists(Path.Combine(Repo, "snapshots", _commit, "model.safetensors")));
    }

    [Fact]
    public async Task TwoClientsDownloadingOneBlob_FetchItOnce()
    {
        _hub.DownloadDelay = TimeSpan.FromMilliseconds(500);
        using var a = Client();
        using var b = Client();

        var paths = await Task.WhenAll(
            Task.Run(() => a.DownloadFileAsync(Model, "model.safetensors")),
            Task.Run(() => b.DownloadFileAsync(Model, "model.safetensors")));

        Assert.Equal(paths[0], paths[1]);
        Assert.Equal(1, _hub.Count("GET /cdn/"));
        Assert.Equal(Weights, File.ReadAllBytes(paths[0]));
    }

    [Fact]
    public void Errors_SayWhatIsWrongAndWhatToDo()
    {
        _hub.Add("org/gated", new Dictionary<string, byte[]> { ["config.json"] = Config }, gated: true, token: "hf_secret");
        _hub.Add("org/private", new Dictionary<string, byte[]> { ["config.json"] = Config }, token: "hf_secret");
        using var client = Client();

        HubException Fails(string id, string file) => Assert.Throws<HubException>(() => client.DownloadFile(HubModelId.Parse(id), file));

        var gated = Fails("org/gated", "config.json");
        Assert.Equal(HubErrorKind.GatedRepository, gated.Kind);
        Assert.Contains("HF_TOKEN", gated.Message);
        var missingRepo = Fails("org/nothing", "config.json");
        Assert.Equal(HubErrorKind.RepositoryNotFound, missingRepo.Kind);
        Assert.Contains("no such repository", missingRepo.Message);
        Assert.Equal(HubErrorKind.RepositoryNotFound, Fails("org/private", "config.json").Kind);
        Assert.Equal(HubErrorKind.FileNotFound, Fails("org/model", "tokenizer.json").Kind);
        Assert.Null(client.TryDownloadFile(Model, "tokenizer.json"));
        Assert.Equal(HubErrorKind.RevisionNotFound, Fails("org/model@v9", "config.json").Kind);

        using var authorised = Client(token: "hf_secret");
        Assert.Equal(Config, File.ReadAllBytes(authorised.DownloadFile(HubModelId.Parse("org/gated"), "config.json")));
        Assert.Equal(Config, File.ReadAllBytes(authorised.DownloadFile(HubModelId.Parse("org/private"), "config.json")));
    }

    [Fact]
    public void RenamedRepository_IsFollowed_AndRevisionsPinned()
    {
        _hub.Rename("org/old-name", "org/model");
        var v1 = _hub.Add("org/model", new Dictionary<string, byte[]> { ["config.json"] = Encoding.UTF8.GetBytes("{}") }, revision: "v1");
        using var client = Client();

        Assert.Equal(Config, File.ReadAllBytes(client.DownloadFile(HubModelId.Parse("org/old-name"), "config.json")));
        var pinned = client.DownloadFile(HubModelId.Parse("org/model@v1"), "config.json");

        Assert.Equal("{}", File.ReadAllText(pinned));
        Assert.Equal(v1, File.ReadAllText(Path.Combine(Repo, "refs", "v1")));
        Assert.Equal(Path.Combine(Repo, "snapshots", v1, "config.json"), pinned);
        Assert.Equal(pinned, client.DownloadFile(HubModelId.Parse($"org/model@{v1}"), "config.json"));
    }

    [Fact]
    public void Progress_ReportsBytesUpToTheSize()
    {
        var reports = new List<HubDownloadProgress>();
        using var client = Client();

        client.DownloadFile(Model, "model.safetensors", new SynchronousProgress(reports.Add));

        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.Equal(Weights.Length, r.TotalBytes));
        Assert.Equal(Weights.Length, reports[^1].Bytes);
        Assert.Equal(reports.Select(r => r.Bytes).Order(), reports.Select(r => r.Bytes));
    }

    [Fact]
    public void FileNamesOutsideTheRepository_AreRefused()
    {
        using var client = Client();
        foreach (var name in new[] { "../secret", "a/../../b", "/etc/passwd", "", "a\\b" })
            Assert.Throws<ArgumentException>(() => client.DownloadFile(Model, name));
    }

    private sealed class SynchronousProgress(Action<HubDownloadProgress> report) : IProgress<HubDownloadProgress>
    {
        public void Report(HubDownloadProgress value) => report(value);
    }
}
