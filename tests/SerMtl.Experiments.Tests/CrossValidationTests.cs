using SerMtl.Data.Evaluation;
using SerMtl.Data.Protocols;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Training;
using static TorchSharp.torch;

namespace SerMtl.Experiments.Tests;

[Collection(TorchRandomCollection.Name)]
public sealed class CrossValidationTests : IDisposable
{
    private static readonly string[] Labels = ["a", "b"];
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sermtl-cvlib-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    private static FoldOutcome Outcome(string name, long[][] confusion, EditCounts words) =>
        new(name, ClassificationMetrics.Compute(ConfusionMatrix.FromCounts(Labels, confusion)), words, new EditCounts(words.Edits, words.ReferenceLength * 4), 2);

    [Fact]
    public void Pool_WaCountsEveryTestUtterance_WerIsTheMeanOfFoldWers()
    {
        // Fold A: 4 of 5 right, WER 2/10. Fold B: 1 of 3 right, WER 6/12.
        var a = Outcome("A", [[3, 1], [0, 1]], new EditCounts(2, 10));
        var b = Outcome("B", [[1, 0], [2, 0]], new EditCounts(6, 12));
        var pooled = CrossValidationResult.Pool([a, b]);

        Assert.Equal(8, pooled.Pooled.Total);
        Assert.Equal(5.0 / 8, pooled.Pooled.WeightedAccuracy, 12);          // Eq. 4, not (0.8 + 0.333) / 2
        Assert.Equal((4.0 / 5 + 1.0 / 3) / 2, pooled.Pooled.UnweightedAccuracy, 12); // recalls of the summed matrix
        Assert.Equal((0.2 + 0.5) / 2, pooled.PooledWordErrorRate, 12);    // Eq. 5, not 8 / 22
        Assert.Equal([[4L, 1L], [2L, 1L]], pooled.Pooled.Confusion.ToRows());
    }

    [Fact]
    public void Pool_NoReferenceInAFold_LeavesThatFoldOutOfTheWer_DuplicateNamesThrow()
    {
        var a = Outcome("A", [[1, 0], [0, 1]], new EditCounts(3, 10));
        var b = Outcome("B", [[1, 0], [0, 1]], new EditCounts(0, 0));
        Assert.True(double.IsNaN(b.WordErrorRate));
        Assert.Equal(0.3, CrossValidationResult.Pool([a, b]).PooledWordErrorRate, 12);
        Assert.Throws<ArgumentException>(() => CrossValidationResult.Pool([a, a]));
        Assert.Throws<ArgumentException>(() => CrossValidationResult.Pool([]));
    }

    [Fact]
    public void FoldOutcome_SaveLoad_RoundTrips()
    {
        var path = Path.Combine(_out, "x", FoldOutcome.FileName);
        var a = Outcome("Ses01F", [[3, 1], [0, 1]], new EditCounts(2, 10));
        a.Save(path);
        var b = FoldOutcome.Load(path);
        Assert.Equal((a.Name, a.BestEpoch, a.WordErrors, a.CharacterErrors), (b.Name, b.BestEpoch, b.WordErrors, b.CharacterErrors));
        Assert.Equal(a.Test.Confusion.ToRows(), b.Test.Confusion.ToRows());
        Assert.Equal(a.Test.UnweightedAccuracy, b.Test.UnweightedAccuracy);
        File.WriteAllText(path, "{\"format_version\": 1, \"name\": \"x\", \"labels\": [\"a\"], \"confusion\": [[1, 2]]}");
        var e = Assert.Throws<InvalidDataException>(() => FoldOutcome.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Run_TwoFolds_WritesEachFoldAndSkipsFinishedFoldsOnTheNextRun()
    {
        using var corpus = new TinyCorpus(count: 18);
        var all = new SerMtl.Data.Corpora.SpeechCorpus("tiny", TinyCorpus.Labels, corpus.Samples);
        var folds = Folds.LeaveOneSpeakerOut(all, ValidationOptions.None).Take(2).ToList();
        var trained = new List<string>();
        var completed = new List<string>();
        CrossValidation Make() => new(_out, fold => TinyCorpus.Model())
        {
            ConfigureTrainer = (builder, fold) =>
            {
                trained.Add(fold.Name);
                builder.WithDevice(CPU).WithEpochs(1).WithBatchSize(4).WithLearningRate(1e-3);
            },
            FoldCompleted = outcome => completed.Add(outcome.Name),
        };

        var first = Make().Run(folds);
        Assert.Equal(["spk0", "spk1"], trained);
        Assert.Equal(["spk0", "spk1"], completed);
        Assert.Equal(folds.Sum(f => f.Test.Count), first.Pooled.Total);
        foreach (var fold in folds)
        {
            var folder = CrossValidation.FoldDirectory(_out, fold.Name);
            Assert.True(File.Exists(Path.Combine(folder, FoldOutcome.FileName)));
            Assert.True(File.Exists(Path.Combine(folder, "best", "model.safetensors")));
            Assert.False(File.Exists(Path.Combine(folder, "checkpoint.safetensors")));
        }
        Assert.Equal(["spk0", "spk1"], CrossValidation.ReadFolds(_out).Select(f => f.Name));

        var second = Make().Run(folds);
        Assert.Equal(["spk0", "spk1"], trained); // nothing trained again
        Assert.Equal(first.Pooled.Confusion.ToRows(), second.Pooled.Confusion.ToRows());
        Assert.Throws<ArgumentException>(() => CrossValidation.FoldDirectory(_out, "../x"));
    }
}
