using System.Text.Json;
using System.Text.Json.Nodes;
using SerMtl.Experiments;

namespace SerMtl.Experiments.Tests;

public sealed class RunResultsTests : IDisposable
{
    private readonly TempDirectory _scratch = new(); // xunit makes one instance per test and disposes it

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void Save_WritesTheDocumentedSnakeCaseSchema()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path);

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, RunResults.FileName)))!.AsObject();

        Assert.Equal(["protocol", "alpha", "labels", "folds", "pooled", "settings"], json.Select(p => p.Key));
        var fold = json["folds"]![0]!.AsObject();
        Assert.Equal(["name", "test", "weighted_accuracy", "unweighted_accuracy", "macro_f1", "wer", "confusion", "best_epoch"], fold.Select(p => p.Key));
        Assert.Equal(["test", "weighted_accuracy", "unweighted_accuracy", "macro_f1", "wer", "confusion"], json["pooled"]!.AsObject().Select(p => p.Key));
        Assert.Equal(4, json["pooled"]!["confusion"]!.AsArray().Count);
    }

    [Fact]
    public void Load_AfterSave_RoundTrips()
    {
        using var dir = new TempDirectory();
        var written = SampleRun.Create(dir.Path, folds: 3);

        var read = RunResults.Load(Path.Combine(dir.Path, RunResults.FileName));

        Assert.Equal(written.Protocol, read.Protocol);
        Assert.Equal(written.Labels, read.Labels);
        Assert.Equal(written.Folds.Select(f => (f.Name, f.Test, f.WeightedAccuracy, f.UnweightedAccuracy, f.MacroF1, f.Wer, f.BestEpoch)),
            read.Folds.Select(f => (f.Name, f.Test, f.WeightedAccuracy, f.UnweightedAccuracy, f.MacroF1, f.Wer, f.BestEpoch)));
        Assert.Equal(written.Pooled.Confusion!.SelectMany(r => r), read.Pooled.Confusion!.SelectMany(r => r));
        Assert.Empty(read.ConsistencyWarnings());
    }

    [Fact]
    public void Load_MinimalDocumentFromAnotherWriter_IsAcceptedWithOptionalsNull()
    {
        var path = Write("""
            {"protocol": "paper", "alpha": 0, "labels": ["a", "b"], "unknown_field": [1, 2],
             "folds": [{"name": "Ses01F", "test": 4, "weighted_accuracy": 0.5, "unweighted_accuracy": 0.5}],
             "pooled": {"test": 4, "weighted_accuracy": 0.5, "unweighted_accuracy": 0.5, "wer": "NaN"}}
            """);

        var r = RunResults.Load(path);

        Assert.Null(r.Folds[0].Confusion);
        Assert.Null(r.Folds[0].MacroF1);
        Assert.True(double.IsNaN(r.Pooled.Wer!.Value));
    }

    [Theory]
    [InlineData("""{"alpha": 0.1, "labels": ["a"], "folds": [], "pooled": {"test": 0, "weighted_accuracy": 0, "unweighted_accuracy": 0}}""", "protocol")]
    [InlineData("""{"protocol": "paper", "alpha": 0.1, "labels": ["a"], "folds": [{"test": 1, "weighted_accuracy": 1, "unweighted_accuracy": 1}], "pooled": {"test": 1, "weighted_accuracy": 1, "unweighted_accuracy": 1}}""", "name")]
    [InlineData("""{"protocol": "paper", "alpha": 0.1, "labels": ["a"], "folds": []}""", "pooled")]
    [InlineData("""{"protocol": "paper", "alpha": 0.1, "labels": null, "folds": [], "pooled": {"test": 0, "weighted_accuracy": 0, "unweighted_accuracy": 0}}""", "labels")]
    public void Load_MissingOrNullRequiredKey_NamesFileAndKey(string json, string key)
    {
        var path = Write(json);

        var e = Assert.Throws<InvalidDataException>(() => RunResults.Load(path));

        Assert.Contains(path, e.Message);
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Load_FoldWithoutName_PointsAtTheFoldInTheFileTerms()
    {
        var path = Write("""
            {"protocol": "paper", "alpha": 0.1, "labels": ["a"],
             "folds": [{"test": 1, "weighted_accuracy": 1, "unweighted_accuracy": 1}],
             "pooled": {"test": 1, "weighted_accuracy": 1, "unweighted_accuracy": 1}}
            """);

        var e = Assert.Throws<InvalidDataException>(() => RunResults.Load(path));

        Assert.StartsWith($"{path} ($.folds[0], line ", e.Message);
        Assert.Contains("a fold was missing required properties including: 'name'", e.Message);
        Assert.DoesNotContain("SerMtl.Cli", e.Message);
    }

    [Theory]
    [InlineData("""[[1, 0], [0, 1], [0, 0]]""", "folds[0].confusion has 3 rows, expected 2")]
    [InlineData("""[[1, 0], [0]]""", "folds[0].confusion[1] has 1 columns, expected 2")]
    [InlineData("""[[1, -1], [0, 1]]""", "folds[0].confusion[0][1] is -1")]
    public void Load_ConfusionNotMatchingLabels_SaysWhere(string matrix, string expected)
    {
        var path = Write($$$"""
            {"protocol": "paper", "alpha": 0.1, "labels": ["a", "b"],
             "folds": [{"name": "F", "test": 2, "weighted_accuracy": 1, "unweighted_accuracy": 1, "confusion": {{{matrix}}}}],
             "pooled": {"test": 2, "weighted_accuracy": 1, "unweighted_accuracy": 1}}
            """);

        var e = Assert.Throws<InvalidDataException>(() => RunResults.Load(path));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Load_AccuracyAsPercentage_IsRejectedAsNotAFraction()
    {
        var path = Write("""
            {"protocol": "paper", "alpha": 0.1, "labels": ["a"], "folds": [],
             "pooled": {"test": 10, "weighted_accuracy": 78.4, "unweighted_accuracy": 0.7}}
            """);

        var e = Assert.Throws<InvalidDataException>(() => RunResults.Load(path));

        Assert.Contains("pooled.weighted_accuracy is 78.4, expected a fraction in [0, 1]", e.Message);
    }

    [Fact]
    public void Load_DuplicateFoldOrLabel_IsRejected()
    {
        var dupFold = Write("""
            {"protocol": "paper", "alpha": 0.1, "labels": ["a"],
             "folds": [{"name": "F", "test": 1, "weighted_accuracy": 1, "unweighted_accuracy": 1},
                       {"name": "F", "test": 1, "weighted_accuracy": 1, "unweighted_accuracy": 1}],
             "pooled": {"test": 2, "weighted_accuracy": 1, "unweighted_accuracy": 1}}
            """);
        var dupLabel = Write("""
            {"protocol": "paper", "alpha": 0.1, "labels": ["a", "a"], "folds": [],
             "pooled": {"test": 0, "weighted_accuracy": 0, "unweighted_accuracy": 0}}
            """);

        Assert.Contains("folds[1].name 'F'", Assert.Throws<InvalidDataException>(() => RunResults.Load(dupFold)).Message);
        Assert.Contains("label 'a' appears more than once", Assert.Throws<InvalidDataException>(() => RunResults.Load(dupLabel)).Message);
    }

    [Fact]
    public void Load_NotJson_NamesTheFile()
    {
        var path = Write("this is not json");

        var e = Assert.Throws<InvalidDataException>(() => RunResults.Load(path));

        Assert.StartsWith(path + " ($", e.Message);
        Assert.Contains("line 1", e.Message);
        Assert.IsType<JsonException>(e.InnerException, exactMatch: false);
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => RunResults.Load(Path.Combine(Path.GetTempPath(), "no-such-dir-sermtl", "results.json")));

    [Fact]
    public void ConsistencyWarnings_TotalsThatDoNotAddUp_AreReported()
    {
        var path = Write("""
            {"protocol": "paper", "alpha": 0.1, "labels": ["a", "b"],
             "folds": [{"name": "F", "test": 5, "weighted_accuracy": 1, "unweighted_accuracy": 1, "confusion": [[2, 0], [0, 2]]}],
             "pooled": {"test": 4, "weighted_accuracy": 1, "unweighted_accuracy": 1, "confusion": [[3, 0], [0, 1]]}}
            """);

        var warnings = RunResults.Load(path).ConsistencyWarnings();

        Assert.Contains(warnings, w => w.Contains("fold F: the confusion matrix holds 4 utterances but 'test' says 5"));
        Assert.Contains(warnings, w => w.Contains("pooled 'test' is 4 but the folds' tests add up to 5"));
        Assert.Contains(warnings, w => w.Contains("not the sum of the folds' matrices"));
    }

    private string Write(string json)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_scratch.Path, Guid.NewGuid().ToString("N")[..8])).FullName;
        var path = Path.Combine(dir, RunResults.FileName);
        File.WriteAllText(path, json);
        return path;
    }
}
