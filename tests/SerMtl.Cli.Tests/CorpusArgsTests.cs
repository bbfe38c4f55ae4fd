using SerMtl.Cli;
using SerMtl.Cli.Commands;
using SerMtl.Data.Protocols;

namespace SerMtl.Cli.Tests;

public sealed class CorpusArgsTests : IDisposable
{
    private readonly TinyCorpus _corpus = new(count: 12);

    public void Dispose() => _corpus.Dispose();

    private string Manifest()
    {
        var path = Path.Combine(_corpus.Directory, "manifest.csv");
        File.WriteAllLines(path, _corpus.Samples.Select(s => $"{Path.GetFileName(s.AudioPath)},{s.Label},{s.Speaker},{s.Transcript}").Prepend("path,label,speaker,transcript"));
        return path;
    }

    /// <summary>The data options as <c>cv</c> parses them, read with <paramref name="seed"/>.</summary>
    private static CorpusSelection Load(string[] argv, int seed)
    {
        var corpus = new CorpusArgs();
        var command = new System.CommandLine.Command("t");
        corpus.AddTo(command);
        var parse = command.Parse(argv);
        Assert.Empty(parse.Errors);
        return corpus.Load(parse, seed);
    }

    [Fact]
    public void Load_ManifestBySpeaker_OneFoldPerSpeakerWithValidationFromTheTrainingSide()
    {
        var data = Load(["--manifest", Manifest(), "--protocol", "speaker"], seed: 0);
        Assert.Equal(["spk0", "spk1", "spk2"], data.Folds.Select(f => f.Name));
        Assert.Equal(["angry", "happy", "neutral", "sad"], data.Corpus.Labels); // raw labels, ordinal order
        foreach (var fold in data.Folds)
        {
            Assert.All(fold.Test, s => Assert.Equal(fold.Name, s.Speaker));
            Assert.DoesNotContain(fold.Validation, s => s.Speaker == fold.Name);
            Assert.Equal(12, fold.Train.Count + fold.Validation.Count + fold.Test.Count);
        }
    }

    [Fact]
    public void Load_ManifestWithThePaperProtocolOrNoSource_IsAUsageError()
    {
        var e = Assert.Throws<UsageException>(() => Load(["--manifest", Manifest(), "--protocol", "paper"], 0));
        Assert.Contains("--iemocap", e.Message);
        Assert.Throws<UsageException>(() => Load(["--protocol", "speaker"], 0));
        Assert.Throws<UsageException>(() => Load(["--manifest", Manifest(), "--protocol", "kfold:1"], 0));
    }

    [Fact]
    public void SelectFoldsAndLimit_KeepProtocolOrderAndASeededSubset()
    {
        var data = Load(["--manifest", Manifest(), "--protocol", "kfold:3", "--validation", "none"], seed: 0);
        Assert.Equal(["Fold1", "Fold3"], CorpusArgs.SelectFolds(data.Folds, "Fold3,Fold1").Select(f => f.Name));
        var e = Assert.Throws<UsageException>(() => CorpusArgs.SelectFolds(data.Folds, "Fold9"));
        Assert.Contains("Fold1, Fold2, Fold3", e.Message);
        var fold = data.Folds[0];
        var a = CorpusArgs.Limit(fold, 3, seed: 5);
        var b = CorpusArgs.Limit(fold, 3, seed: 5);
        Assert.Equal(3, a.Train.Count);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Train, fold.Train.Where(a.Train.Contains)); // corpus order kept
        Assert.Same(fold, CorpusArgs.Limit(fold, null, 5));
    }
}
