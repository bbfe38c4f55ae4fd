using System.Text.Json;
using SerMtl.Inference;

namespace SerMtl.Cli.Tests;

/// <summary><c>sermtl predict --model org/name</c>: a model by its Hub id, fetched from a fake hub into an HF_HUB_CACHE.</summary>
public sealed class HubModelTests(SavedModelFixture model) : IClassFixture<SavedModelFixture>, IDisposable
{
    private readonly FakeHub _hub = new();
    private readonly TempDirectory _cache = new();

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    [Fact]
    public void Predict_ModelByHubId_DownloadsOnceAndPredictsAsTheLocalModel_ThenWorksOffline()
    {
        _hub.AddDirectory("sermtl/tiny-ser", model.Directory);
        var wav = Path.Combine(TestPaths.TinyGroup, "b.wav");
        using var local = EmotionRecognizer.Load(model.Directory);
        var expected = local.Predict(wav);

        var online = WithHubEnvironment(offline: false, () => CliTool.Run("predict", "--model", "sermtl/tiny-ser", "--json", wav));
        Assert.True(online.Exit == 0, online.Error);
        Assert.Contains("downloading sermtl/tiny-ser model.safetensors", online.Error);
        using (var json = JsonDocument.Parse(online.Output))
        {
            Assert.Equal(expected.Label, json.RootElement[0].GetProperty("label").GetString());
            Assert.Equal(expected.Transcript, json.RootElement[0].GetProperty("transcript").GetString());
        }

        var fetched = _hub.Count("GET /cdn/");
        var offline = WithHubEnvironment(offline: true, () => CliTool.Run("predict", "--model", "sermtl/tiny-ser", wav));
        Assert.True(offline.Exit == 0, offline.Error);
        Assert.Contains(expected.Label, offline.Output);
        Assert.Equal(fetched, _hub.Count("GET /cdn/"));

        var missing = WithHubEnvironment(offline: false, () => CliTool.Run("predict", "--model", "sermtl/no-such-model", wav));
        Assert.Equal(1, missing.Exit);
        Assert.Contains("no such repository", missing.Error);
    }

    /// <summary>Runs <paramref name="action"/> with HF_ENDPOINT, HF_HUB_CACHE and HF_HUB_OFFLINE set for this process, then restores them.</summary>
    private CliOutcome WithHubEnvironment(bool offline, Func<CliOutcome> action)
    {
        string[] names = ["HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN"];
        var saved = names.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", _hub.Endpoint.ToString());
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", _cache.Path);
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", offline ? "1" : null);
            Environment.SetEnvironmentVariable("HF_TOKEN", null);
            return action();
        }
        finally
        {
            foreach (var (name, value) in saved) Environment.SetEnvironmentVariable(name, value);
        }
    }
}

/// <summary><c>sermtl predict</c> with a HuggingFace sequence classifier: labels from its id2label, no transcript.</summary>
public sealed class SequenceClassifierPredictTests
{
    [Fact]
    public void Predict_SequenceClassificationCheckpoint_PrintsItsLabels()
    {
        var folder = Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-seqcls-layer");
        var run = CliTool.Run("predict", "--model", folder, "--json", Path.Combine(folder, "a.wav"));

        Assert.True(run.Exit == 0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var first = json.RootElement[0];
        Assert.Contains(first.GetProperty("label").GetString(), new[] { "neu", "hap", "ang", "sad" });
        Assert.Equal(["neu", "hap", "ang", "sad"], first.GetProperty("probabilities").EnumerateObject().Select(p => p.Name));
        Assert.Equal("", first.GetProperty("transcript").GetString());
    }

    [Fact]
    public void Predict_RegressionCheckpoint_PrintsNamedScores()
    {
        var folder = Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-speechcls-dim");
        var wav = Path.Combine(folder, "a.wav");

        var json = CliTool.Run("predict", "--model", folder, "--json", wav);
        Assert.True(json.Exit == 0, json.Error);
        using (var document = JsonDocument.Parse(json.Output))
            Assert.Equal(["arousal", "dominance", "valence"], document.RootElement[0].GetProperty("scores").EnumerateObject().Select(p => p.Name));
        var csv = CliTool.Run("predict", "--model", folder, "--csv", wav);
        Assert.StartsWith("file,label,confidence,arousal,dominance,valence,duration_seconds,transcript", csv.Output);
        var table = CliTool.Run("predict", "--model", folder, wav);
        Assert.Contains("arousal ", table.Output);
    }
}
