using SerMtl.Experiments;

namespace SerMtl.Integration.Tests;

/// <summary>samples/CrossValidation (C#) writes the run directory that <c>sermtl cv</c> writes for the same settings.</summary>
public sealed class CrossValidationSampleTests : IDisposable
{
    private readonly TinyCorpus _corpus = new(count: 12);
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _corpus.Dispose();
        _dir.Dispose();
    }

    /// <summary>A project's build output for this test run's configuration (bin/&lt;Configuration&gt;/&lt;tfm&gt;).</summary>
    private static string Built(string project, string assembly)
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return Path.Combine(TestPaths.RepoRoot, project, "bin", tfm.Parent!.Name, tfm.Name, assembly);
    }

    private static string BuiltSample => Built(Path.Combine("samples", "CrossValidation"), "CrossValidation.dll");

    private static string BuiltTool => Built(Path.Combine("tools", "SerMtl.Cli"), "sermtl.dll");

    [Fact]
    public void Sample_AndSermtlCv_WriteTheSameResultsAndBothReport()
    {
        Assert.True(File.Exists(BuiltSample), $"{BuiltSample} not built");
        Assert.True(File.Exists(BuiltTool), $"{BuiltTool} not built");
        var manifest = Path.Combine(_corpus.Directory, "manifest.csv");
        File.WriteAllLines(manifest, _corpus.Samples.Select(s => $"{Path.GetFileName(s.AudioPath)},{s.Label},{s.Speaker},{s.Transcript}")
            .Prepend("path,label,speaker,transcript"));
        var fromSample = Path.Combine(_dir.Path, "sample");
        var fromCli = Path.Combine(_dir.Path, "cli");

        var printed = DotnetProcess.RunChecked(TestPaths.RepoRoot, TimeSpan.FromMinutes(5), BuiltSample, manifest, TestPaths.TinyGroup, fromSample, "1");
        DotnetProcess.RunChecked(TestPaths.RepoRoot, TimeSpan.FromMinutes(5), BuiltTool, "cv", "--manifest", manifest, "--protocol", "speaker",
            "--backbone", TestPaths.TinyGroup, "--epochs", "1", "--device", "cpu", "--out", fromCli);

        var a = RunResults.Load(Path.Combine(fromSample, RunResults.FileName));
        var b = RunResults.Load(Path.Combine(fromCli, RunResults.FileName));
        Assert.Equal(["spk0", "spk1", "spk2"], a.Folds.Select(f => f.Name));
        Assert.Equal(b.Folds.Select(f => f.Name), a.Folds.Select(f => f.Name));
        Assert.Equal((b.Protocol, b.Alpha), (a.Protocol, a.Alpha));
        Assert.Equal(b.Labels, a.Labels);
        foreach (var (x, y) in a.Folds.Zip(b.Folds))
            Assert.Equal((y.Test, y.WeightedAccuracy, y.UnweightedAccuracy, y.Wer, y.BestEpoch), (x.Test, x.WeightedAccuracy, x.UnweightedAccuracy, x.Wer, x.BestEpoch));
        Assert.Equal((b.Pooled.Test, b.Pooled.WeightedAccuracy, b.Pooled.UnweightedAccuracy), (a.Pooled.Test, a.Pooled.WeightedAccuracy, a.Pooled.UnweightedAccuracy));
        Assert.Equal(b.Pooled.Confusion!.Select(r => r.ToArray()), a.Pooled.Confusion!.Select(r => r.ToArray()));
        Assert.Contains("wrote " + Path.Combine(fromSample, RunResults.FileName), printed);
        Assert.True(File.Exists(Path.Combine(fromSample, "report.html")));
        Assert.True(File.Exists(Path.Combine(fromCli, "report.html")));
        Assert.Equal(3, RunDirectory.Load(fromSample).Curves.Count(c => c.Epochs.Count == 1));
    }
}
