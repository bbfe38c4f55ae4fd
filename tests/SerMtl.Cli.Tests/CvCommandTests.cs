using System.Text.Json;
using SerMtl.Cli;
using SerMtl.Cli.Commands;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Training;
using Xunit.Abstractions;

namespace SerMtl.Cli.Tests;

/// <summary>The IEMOCAP replica with audio long enough for the tiny backbone (0.1 s: 4 frames), session 1 only.</summary>
public sealed class TrainingReplicaFixture() : IemocapReplicaFixture(0.1, "1");

/// <summary>
/// <c>sermtl cv</c>, <c>cv aggregate</c>, <c>train</c> and <c>evaluate</c> end to end on the IEMOCAP replica (read by
/// the real reader) with the tiny fixture backbone; splits are cut to a few utterances to stay fast.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class CvCommandTests(TrainingReplicaFixture fixture, ITestOutputHelper output) : IClassFixture<TrainingReplicaFixture>, IDisposable
{
    private static readonly string[] Labels = ["neutral", "happy", "angry", "sad"];
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sermtl-cv-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    private string[] Common(string run, params string[] extra) =>
    [
        "--iemocap", fixture.Root!, "--protocol", "paper", "--backbone", TestPaths.TinyGroup, "--device", "cpu",
        "--epochs", "1", "--batch-size", "4", "--max-utterances", "16", "--out", Path.Combine(_out, run), .. extra,
    ];

    private int Run(string[] command, string[] argv)
    {
        var outcome = CliTool.Run([.. command, .. argv]);
        output.WriteLine(outcome.Output + outcome.Error);
        return outcome.Exit;
    }

    private static readonly string[] Cv = ["cv"];
    private static readonly string[] CvAggregate = ["cv", "aggregate"];
    private static readonly string[] Train = ["train"];
    private static readonly string[] Evaluate = ["evaluate"];

    /// <summary>The training options as <c>cv</c> parses them.</summary>
    private static TrainingSetup ParseTraining(params string[] argv)
    {
        var training = new TrainingArgs();
        var command = new System.CommandLine.Command("t");
        training.AddTo(command);
        var parse = command.Parse(argv);
        Assert.Empty(parse.Errors);
        return training.Parse(parse);
    }

    [FactRequiresIemocapReplica]
    public void Cv_TwoFoldsOneEpoch_WritesAWellFormedResultsFileAndResumesAsFinished()
    {
        Assert.Equal(ExitCodes.Success, Run(Cv, Common("all", "--folds", "Ses01F,Ses01M")));
        var run = Path.Combine(_out, "all");
        var resultsPath = Path.Combine(run, RunResults.FileName);

        using (var json = JsonDocument.Parse(File.ReadAllText(resultsPath)))
        {
            var root = json.RootElement;
            Assert.Equal("paper", root.GetProperty("protocol").GetString());
            Assert.Equal(0.1, root.GetProperty("alpha").GetDouble());
            Assert.Equal(Labels, root.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
            var folds = root.GetProperty("folds").EnumerateArray().ToList();
            Assert.Equal(["Ses01F", "Ses01M"], folds.Select(f => f.GetProperty("name").GetString()));
            var pooledConfusion = new long[4, 4];
            foreach (var fold in folds.Append(root.GetProperty("pooled")))
            {
                var test = fold.GetProperty("test").GetInt32();
                foreach (var key in new[] { "weighted_accuracy", "unweighted_accuracy", "macro_f1" })
                    Assert.InRange(fold.GetProperty(key).GetDouble(), 0, 1);
                Assert.True(fold.GetProperty("wer").GetDouble() >= 0);
                var confusion = fold.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
                Assert.Equal(4, confusion.Length);
                Assert.All(confusion, r => Assert.Equal(4, r.Length));
                Assert.Equal(test, confusion.Sum(r => r.Sum()));
                var correct = Enumerable.Range(0, 4).Sum(i => confusion[i][i]);
                Assert.Equal((double)correct / test, fold.GetProperty("weighted_accuracy").GetDouble(), 12);
                if (fold.TryGetProperty("name", out _))
                {
                    Assert.Equal(16, test);
                    Assert.Equal(1, fold.GetProperty("best_epoch").GetInt32());
                    for (var i = 0; i < 16; i++) pooledConfusion[i / 4, i % 4] += confusion[i / 4][i % 4];
                }
                else
                {
                    Assert.Equal(32, test); // the pooled WA is over every test utterance of both folds (Eq. 4)
                    for (var i = 0; i < 16; i++) Assert.Equal(pooledConfusion[i / 4, i % 4], confusion[i / 4][i % 4]);
                    var wers = folds.Select(f => f.GetProperty("wer").GetDouble()).ToList();
                    Assert.Equal(wers.Average(), fold.GetProperty("wer").GetDouble(), 12); // Eq. 5
                }
            }
            Assert.Equal("1", root.GetProperty("settings").GetProperty("epochs").GetString());
        }
        var results = RunResults.Load(resultsPath);
        Assert.Empty(results.ConsistencyWarnings());
        Assert.True(File.Exists(Path.Combine(run, "report.html")));
        foreach (var fold in new[] { "Ses01F", "Ses01M" })
        {
            var folder = CrossValidation.FoldDirectory(run, fold);
            Assert.Single(EpochLog.Read(Path.Combine(folder, EpochLog.FileName)));
            Assert.True(File.Exists(Path.Combine(folder, "best", "model.safetensors")));
            Assert.Equal(17, File.ReadAllLines(Path.Combine(folder, CrossValidation.PredictionsFileName)).Length);
            Assert.False(File.Exists(Path.Combine(folder, "checkpoint.safetensors")));
        }

        // The same command again: both folds are finished, nothing is retrained.
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(run, "folds", "Ses01F", FoldOutcome.FileName));
        Assert.Equal(ExitCodes.Success, Run(Cv, Common("all", "--folds", "Ses01F,Ses01M")));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(run, "folds", "Ses01F", FoldOutcome.FileName)));

        // Other settings into the same directory are refused.
        Assert.Contains("alpha 0.1 -> 0.01", CliTool.Failure([.. Cv, .. Common("all", "--folds", "Ses01F", "--alpha", "0.01")]));

        // Folds run separately and aggregated give the same results as one run.
        Assert.Equal(ExitCodes.Success, Run(Cv, Common("a", "--folds", "Ses01F")));
        Assert.Equal(ExitCodes.Success, Run(Cv, Common("b", "--folds", "Ses01M")));
        Assert.Equal(ExitCodes.Success, Run(CvAggregate, ["--out", Path.Combine(_out, "ab"), Path.Combine(_out, "a"), Path.Combine(_out, "b")]));
        var aggregated = RunResults.Load(Path.Combine(_out, "ab", RunResults.FileName));
        Assert.Equal(results.Folds.Select(f => (f.Name, f.Test, f.WeightedAccuracy, f.UnweightedAccuracy, f.Wer)),
            aggregated.Folds.Select(f => (f.Name, f.Test, f.WeightedAccuracy, f.UnweightedAccuracy, f.Wer)));
        Assert.Equal((results.Pooled.Test, results.Pooled.WeightedAccuracy, results.Pooled.Wer),
            (aggregated.Pooled.Test, aggregated.Pooled.WeightedAccuracy, aggregated.Pooled.Wer));
        Assert.True(File.Exists(Path.Combine(_out, "ab", "report.html")));
        var duplicate = CliTool.Failure([.. CvAggregate, "--out", Path.Combine(_out, "dup"), Path.Combine(_out, "a"), run]);
        Assert.Contains("'Ses01F' is finished in both", duplicate);
    }

    [FactRequiresIemocapReplica]
    public void Train_ThenEvaluate_TheSavedModelScoresTheTestSplitAsTheRunDid()
    {
        Assert.Equal(ExitCodes.Success, Run(Train, Common("one", "--fold", "Ses01M", "--validation", "none")));
        var run = Path.Combine(_out, "one");
        var results = RunResults.Load(Path.Combine(run, RunResults.FileName));
        var fold = Assert.Single(results.Folds);
        Assert.Equal("Ses01M", fold.Name);
        Assert.Null(fold.BestEpoch); // no validation: the last epoch is kept
        Assert.Single(EpochLog.Read(Path.Combine(run, EpochLog.FileName)));

        var scored = Path.Combine(_out, "scored");
        Assert.Equal(ExitCodes.Success, Run(Evaluate,
        [
            "--model", Path.Combine(run, "best"), "--iemocap", fixture.Root!, "--protocol", "paper", "--fold", "Ses01M",
            "--validation", "none", "--max-utterances", "16", "--device", "cpu", "--out", scored,
        ]));
        var again = FoldOutcome.Load(Path.Combine(scored, FoldOutcome.FileName));
        Assert.Equal(fold.Test, (int)again.Test.Total);
        Assert.Equal(fold.WeightedAccuracy, again.Test.WeightedAccuracy);
        Assert.Equal(fold.Wer, again.WordErrorRate);
        Assert.Equal(File.ReadAllText(Path.Combine(run, CrossValidation.PredictionsFileName)),
            File.ReadAllText(Path.Combine(scored, CrossValidation.PredictionsFileName)));
    }

    [Fact]
    public void TrainingArgs_PrecisionAndMemoryOptions_ReachTheTrainerAndTheRecipe()
    {
        var defaults = ParseTraining(["--backbone", "b"]);
        Assert.Equal((ComputePrecision.Float32, OptimizerStatePrecision.Float32, false),
            (defaults.Options.ComputePrecision, defaults.Options.OptimizerStatePrecision, defaults.Options.GradientCheckpointing));

        var setup = ParseTraining(["--backbone", "b", "--dtype", "bfloat16", "--optimizer-state", "bfloat16", "--gradient-checkpointing"]);
        Assert.Equal((ComputePrecision.BFloat16, OptimizerStatePrecision.BFloat16, true),
            (setup.Options.ComputePrecision, setup.Options.OptimizerStatePrecision, setup.Options.GradientCheckpointing));
        Assert.Equal(("bfloat16", "bfloat16"), (setup.Recipe["dtype"], setup.Recipe["optimizer_state"]));
        Assert.DoesNotContain("gradient_checkpointing", setup.Recipe.Keys); // same gradients: a run may resume with it switched
        Assert.Contains("--dtype expects one of float32|bfloat16, got 'float16'", CliTool.Usage("cv", "--backbone", "b", "--dtype", "float16", "--out", "o"));
    }

    [Fact]
    public void Cv_Usage_MissingOptionsAndBadValuesAreUsageErrors()
    {
        Assert.Contains("missing required option --backbone", CliTool.Usage("cv", "--iemocap", "x", "--protocol", "paper", "--out", "o"));
        Assert.Contains("give exactly one of --iemocap ROOT and --manifest FILE", CliTool.Usage("cv", "--backbone", "b", "--protocol", "paper", "--out", "o"));
        Assert.Contains("--device expects cpu, cuda or cuda:N, got 'tpu'",
            CliTool.Usage("cv", "--iemocap", "x", "--backbone", "b", "--protocol", "paper", "--out", "o", "--device", "tpu"));
        Assert.Contains("--folds <A,B>", CliTool.Run("cv", "--help").Output);
        foreach (var command in new[] { CvAggregate, Train, Evaluate })
        {
            var help = CliTool.Run([.. command, "--help"]);
            Assert.Equal(ExitCodes.Success, help.Exit);
            Assert.Contains("Examples:", help.Output);
        }
    }
}
