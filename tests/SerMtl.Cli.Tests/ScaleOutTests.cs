using System.Text.Json;
using SerMtl.Cli;

namespace SerMtl.Cli.Tests;

/// <summary>
/// Issue 16, scale-out: an array of N processes (as a Slurm job array or a Kubernetes Indexed Job runs them), each
/// taking its part with <c>predict --shard i/N</c> or <c>cv --fold-index k</c>, gives what one process gives.
/// </summary>
public sealed class ScaleOutTests : IDisposable
{
    private readonly TinyCorpus _corpus = new(count: 45, seed: 5);
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sermtl-array-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        _corpus.Dispose();
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    [Fact]
    public void Predict_ThreeShards_CoverEveryFileOnceWithTheSameAnswers()
    {
        var wavs = _corpus.Samples.Take(7).Select(s => s.AudioPath).ToArray();
        string[] Args(params string[] extra) => ["predict", "--model", Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-seqcls-group"), "--csv", .. extra, .. wavs];
        var whole = SermtlProcess.RunTogether([Args()]).Single();
        Assert.True(whole.Exit == 0, whole.Error);
        var shards = SermtlProcess.RunTogether(Enumerable.Range(0, 3).Select(i => Args("--shard", $"{i}/3")));
        Assert.All(shards, s => Assert.True(s.Exit == 0, s.Error));

        static string[] Rows(string csv) => csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        Assert.Equal([3, 2, 2], shards.Select(s => Rows(s.Output).Length));
        var expected = Rows(whole.Output).Order(StringComparer.Ordinal).ToArray();
        var actual = shards.SelectMany(s => Rows(s.Output)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        // The same files, labels and transcripts; probabilities as printed (6 digits) within one unit of the last digit:
        // a batch of other files may change a logit by float rounding, never more.
        foreach (var (want, got) in expected.Zip(actual))
        {
            var (w, g) = (want.Split(','), got.Split(','));
            Assert.Equal(w.Length, g.Length);
            for (var i = 0; i < w.Length; i++)
            {
                if (double.TryParse(w[i], System.Globalization.CultureInfo.InvariantCulture, out var a) && double.TryParse(g[i], System.Globalization.CultureInfo.InvariantCulture, out var b))
                    Assert.True(Math.Abs(a - b) <= 1.5e-6, $"{want} vs {got}");
                else
                    Assert.Equal(w[i], g[i]);
            }
        }
    }

    [Theory]
    [InlineData("3/3")]
    [InlineData("1")]
    [InlineData("-1/2")]
    [InlineData("a/b")]
    public void Predict_BadShard_IsAUsageError(string shard)
    {
        Assert.Contains("--shard expects I/N", CliTool.Usage("predict", "--model", TestPaths.TinyGroup, "--shard", shard, _corpus.Samples[0].AudioPath));
    }

    [Fact]
    public void Cv_OneProcessPerFoldThenAggregate_EqualsOneProcessForAllFolds()
    {
        var manifest = Path.Combine(_corpus.Directory, "manifest.csv");
        File.WriteAllLines(manifest, _corpus.Samples.Select(s => $"{Path.GetFileName(s.AudioPath)},{s.Label},{s.Speaker},{s.Transcript}").Prepend("path,label,speaker,transcript"));
        string[] Cv(string run, params string[] extra) =>
        [
            "cv", "--manifest", manifest, "--protocol", "kfold:3", "--backbone", TestPaths.TinyGroup, "--device", "cpu",
            "--epochs", "2", "--batch-size", "4", "--out", Path.Combine(_out, run), .. extra,
        ];
        var one = SermtlProcess.RunTogether([Cv("one")]).Single();
        Assert.True(one.Exit == 0, one.Error);
        var array = SermtlProcess.RunTogether(Enumerable.Range(0, 3).Select(k => Cv($"part{k}", "--fold-index", $"{k}")));
        Assert.All(array, a => Assert.True(a.Exit == 0, a.Error));
        var aggregate = CliTool.Run(["cv", "aggregate", "--out", Path.Combine(_out, "combined"), .. Enumerable.Range(0, 3).Select(k => Path.Combine(_out, $"part{k}"))]);
        Assert.True(aggregate.Exit == 0, aggregate.Error);

        static IEnumerable<string> Figures(string run)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "results.json")));
            var root = json.RootElement;
            foreach (var fold in root.GetProperty("folds").EnumerateArray().Append(root.GetProperty("pooled")))
                yield return string.Join(" ", new[] { "name", "test", "weighted_accuracy", "unweighted_accuracy", "macro_f1", "wer", "confusion" }
                    .Where(k => fold.TryGetProperty(k, out _)).Select(k => $"{k}={fold.GetProperty(k).GetRawText()}"));
        }
        var expected = Figures(Path.Combine(_out, "one")).ToList();
        Assert.Equal(4, expected.Count); // three folds and the pooled figures
        Assert.Equal(expected, Figures(Path.Combine(_out, "combined")));
        Assert.Contains("--fold-index 3 is past the last fold", CliTool.Usage(Cv("bad", "--fold-index", "3")));
        Assert.Contains("give --folds or --fold-index, not both", CliTool.Usage(Cv("bad", "--fold-index", "0", "--folds", "fold1")));
    }
}
