using SerMtl.Experiments;

namespace SerMtl.Experiments.Tests;

public sealed class RunManifestTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static RunManifest Manifest(double alpha = 0.1, string lr = "5e-05") =>
        new("session", alpha, ["neutral", "happy"], new Dictionary<string, string> { ["lr"] = lr, ["seed"] = "0" });

    [Fact]
    public void SaveOrCheck_WritesRunJson_ThenAcceptsTheSameSettings()
    {
        Manifest().SaveOrCheck(_dir.Path);
        var saved = RunManifest.Load(Path.Combine(_dir.Path, RunManifest.FileName));
        Assert.Equal(("session", 0.1), (saved.Protocol, saved.Alpha));
        Assert.Equal(["neutral", "happy"], saved.Labels);
        Assert.Equal("5e-05", saved.Recipe["lr"]);

        Manifest().SaveOrCheck(_dir.Path); // a rerun (resume) with the same settings
    }

    [Fact]
    public void SaveOrCheck_OtherSettings_AreRefusedNamingEachDifference()
    {
        Manifest().SaveOrCheck(_dir.Path);
        var other = Manifest(alpha: 0, lr: "1e-05") with { Recipe = new Dictionary<string, string> { ["lr"] = "1e-05", ["epochs"] = "3" } };

        var e = Assert.Throws<InvalidOperationException>(() => other.SaveOrCheck(_dir.Path));

        Assert.Contains("alpha 0.1 -> 0", e.Message);
        Assert.Contains("epochs (absent) -> 3", e.Message);
        Assert.Contains("lr 5e-05 -> 1e-05", e.Message);
        Assert.Contains("seed 0 -> (absent)", e.Message);
        Assert.Contains(_dir.Path, e.Message);
    }

    [Fact]
    public void Differences_CanLeaveKeysOut()
    {
        var a = Manifest() with { Recipe = new Dictionary<string, string> { ["data"] = "/a", ["lr"] = "1" } };
        var b = Manifest() with { Recipe = new Dictionary<string, string> { ["data"] = "/b", ["lr"] = "2" } };

        Assert.Equal(["data /a vs /b", "lr 1 vs 2"], RunManifest.Differences(a, b, (x, y) => $"{x} vs {y}"));
        Assert.Equal(["lr 1 vs 2"], RunManifest.Differences(a, b, (x, y) => $"{x} vs {y}", key => key != "data"));
        Assert.Contains("labels", RunManifest.Differences(a, a with { Labels = ["x"] }, (x, y) => "")[0]);
    }

    [Fact]
    public void Load_NotAManifest_SaysSo()
    {
        var path = Path.Combine(_dir.Path, RunManifest.FileName);
        File.WriteAllText(path, "[1, 2]");
        Assert.Contains("not a run manifest", Assert.Throws<InvalidDataException>(() => RunManifest.Load(path)).Message);
    }
}
