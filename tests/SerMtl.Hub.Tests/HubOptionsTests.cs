using SerMtl.Hub;

namespace SerMtl.Hub.Tests;

public sealed class HubOptionsTests
{
    [Theory]
    [InlineData("superb/wav2vec2-base-superb-er", "superb/wav2vec2-base-superb-er", "main")]
    [InlineData("facebook/wav2vec2-base-960h@refs/pr/1", "facebook/wav2vec2-base-960h", "refs/pr/1")]
    [InlineData("org/name@0123456789abcdef0123456789abcdef01234567", "org/name", "0123456789abcdef0123456789abcdef01234567")]
    public void Parse_OrgNameAndRevision(string text, string repository, string revision)
    {
        var id = HubModelId.Parse(text);
        Assert.Equal((repository, revision), (id.Repository, id.Revision));
        Assert.Equal(text, id.ToString());
        Assert.Equal(revision.Length == 40, id.IsCommit);
    }

    [Theory]
    [InlineData("models/wav2vec2-base/")]
    [InlineData("./out/demo")]
    [InlineData("/abs/path")]
    [InlineData("single-name")]
    [InlineData("org/../name")]
    [InlineData("org/name@")]
    [InlineData("org/name@../x")]
    [InlineData("a/b/c")]
    [InlineData("C:\\models\\x")]
    public void Parse_PathsAndMalformedIds_AreNotHubIds(string text) => Assert.False(HubModelId.TryParse(text, out _));

    [Fact]
    public void FromVariables_ReadsHuggingfaceHubsVariables()
    {
        using var home = new TempDirectory();
        File.WriteAllText(Path.Combine(home.Path, "token"), "hf_from_file\n");
        var vars = new Dictionary<string, string> { ["HF_HOME"] = home.Path, ["HF_ENDPOINT"] = "http://127.0.0.1:9/", ["HF_HUB_OFFLINE"] = "1" };

        var options = HubOptions.FromVariables(n => vars.GetValueOrDefault(n));

        Assert.Equal(Path.Combine(home.Path, "hub"), options.CacheDirectory);
        Assert.Equal("hf_from_file", options.Token);
        Assert.Equal(new Uri("http://127.0.0.1:9/"), options.Endpoint);
        Assert.True(options.Offline);

        vars["HF_TOKEN"] = "hf_env";
        vars["HF_HUB_CACHE"] = "/elsewhere";
        vars["HF_HUB_OFFLINE"] = "0";
        options = HubOptions.FromVariables(n => vars.GetValueOrDefault(n));
        Assert.Equal(("hf_env", "/elsewhere", false), (options.Token, options.CacheDirectory, options.Offline));
    }

    [Theory]
    [InlineData("\"abc\"", "abc")]
    [InlineData("W/\"abc\"", "abc")]
    [InlineData("abc", "abc")]
    public void ETags_AreUnquoted(string header, string etag) => Assert.Equal(etag, HubClient.NormaliseETag(header));

    [Fact]
    public async Task EndpointWithAPath_IsKeptInTheRequests()
    {
        using var handler = new RecordingHandler();
        using var cache = new TempDirectory();
        using var client = new HubClient(new HubOptions { Endpoint = new Uri("http://mirror.invalid/hf"), CacheDirectory = cache.Path }, handler);

        await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(HubModelId.Parse("org/name@refs/pr/1"), "sub/config.json"));

        Assert.Equal("http://mirror.invalid/hf/org/name/resolve/refs%2Fpr%2F1/sub/config.json", handler.Requests.Single().ToString());
    }

    /// <summary>Answers every request with 404 RepoNotFound and records its address.</summary>
    private sealed class RecordingHandler : HttpMessageHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            var response = new HttpResponseMessage(System.Net.HttpStatusCode.NotFound);
            response.Headers.Add("X-Error-Code", "RepoNotFound");
            return Task.FromResult(response);
        }
    }
}
