using SerMtl.Data.Protocols;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Training;
using static TorchSharp.torch;

namespace SerMtl.Experiments.Tests;

/// <summary>Cross-validation from C# on the tiny corpus and backbone: the run directory it leaves is the one <c>sermtl cv</c> leaves.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class CrossValidationRunTests : IDisposable
{
    private readonly TinyCorpus _corpus = new(count: 16);
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _corpus.Dispose();
        _dir.Dispose();
    }

    private IReadOnlyList<Fold> Folds() =>
        new[] { "spk0", "spk1" }.Select(speaker => new Fold(speaker,
                _corpus.Samples.Where(s => s.Speaker != speaker && s.Speaker != "spk2").ToList(),
                _corpus.Samples.Where(s => s.Speaker == "spk2").ToList(),
                _corpus.Samples.Where(s => s.Speaker == speaker).ToList()))
            .ToList();

    private static RunManifest Manifest(double alpha) =>
        new("speaker", alpha, TinyCorpus.Labels, new Dictionary<string, string> { ["backbone"] = "tiny-group", ["epochs"] = "1" });

    private CrossValidationRun Run(double alpha, List<int>? epochsSeen = null, IReadOnlyList<string>? order = null) =>
        new(_dir.Path, Manifest(alpha), _ => TinyCorpus.Model())
        {
            FoldOrder = order,
            ExtraSettings = new Dictionary<string, string> { ["device"] = "cpu" },
            ConfigureTrainer = (builder, _) => builder.WithEpochs(1).WithBatchSize(4).WithAlpha(alpha).WithDevice(CPU)
                .WithCallbacks(new Recorder(epochsSeen ?? [])),
        };

    [Fact]
    public void Run_WritesManifestResultsAndEpochLogs_AndKeepsTheTrainersCallbacks()
    {
        var seen = new List<int>();
        var result = Run(0.1, seen, order: ["spk1", "spk0"]).Run(Folds());

        Assert.Equal([1, 1], seen); // the epoch log is added in front of the caller's hooks, not instead of them
        var manifest = RunManifest.Load(Path.Combine(_dir.Path, RunManifest.FileName));
        Assert.Equal(("speaker", 0.1), (manifest.Protocol, manifest.Alpha));

        var results = RunResults.Load(Path.Combine(_dir.Path, RunResults.FileName));
        Assert.Equal(["spk1", "spk0"], results.Folds.Select(f => f.Name)); // in FoldOrder
        Assert.Equal(result.Pooled.Total, results.Pooled.Test);
        Assert.Equal(result.Pooled.WeightedAccuracy, results.Pooled.WeightedAccuracy, 12);
        Assert.Equal("cpu", results.Settings!["device"]);
        Assert.Equal("tiny-group", results.Settings["backbone"]);

        var run = RunDirectory.Load(_dir.Path);
        Assert.Equal(["spk1", "spk0"], run.Curves.Select(c => c.Name));
        Assert.All(run.Curves, c => Assert.Equal([1], c.Epochs.Select(e => e.Epoch)));
        Assert.Empty(run.FoldsWithoutLog);
        Assert.Empty(run.Warnings);
        Assert.All(Folds(), f => Assert.True(File.Exists(Path.Combine(CrossValidation.FoldDirectory(_dir.Path, f.Name), FoldOutcome.FileName))));
    }

    [Fact]
    public void Run_AgainWithAnotherAlpha_IsRefusedBeforeAnyFoldRuns()
    {
        Run(0.1).Run([Folds()[0]]);
        var before = File.ReadAllText(Path.Combine(_dir.Path, RunResults.FileName));

        var e = Assert.Throws<InvalidOperationException>(() => Run(0.0).Run(Folds()));

        Assert.Contains("holds a run with other settings", e.Message);
        Assert.False(Directory.Exists(CrossValidation.FoldDirectory(_dir.Path, "spk1")), "no fold of the other recipe may start");
        Assert.Equal(before, File.ReadAllText(Path.Combine(_dir.Path, RunResults.FileName)));
    }

    private sealed class Recorder(List<int> epochs) : TrainingCallbacks
    {
        public override void OnEpochEnd(EpochSummary summary) => epochs.Add(summary.Epoch);
    }
}
