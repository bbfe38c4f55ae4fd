using SerMtl.Modeling;
using SerMtl.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SerMtl.Tests.Training;

/// <summary>A tiny corpus and one uninterrupted training run (checkpoints in <c>RUNS/reference</c>) to compare others with.</summary>
public sealed class ResumeReference : IDisposable
{
    public ResumeReference()
    {
        Model = TinyCorpus.Model();
        Result = Builder(Model, "reference").Build().Train(Corpus.Train, Corpus.Validation);
    }

    public TinyCorpus Corpus { get; } = new(count: 20);

    public string Runs { get; } = Path.Combine(Path.GetTempPath(), "sermtl-resume-" + Guid.NewGuid().ToString("N")[..12]);

    public SerMtlModel Model { get; }

    public TrainingResult Result { get; }

    // 16 training utterances, batches of 3 with 2 passes per update: 6 passes, 3 updates per epoch.
    public SerTrainerBuilder Builder(SerMtlModel model, string run) =>
        SerTrainer.For(model).WithDevice(CPU).WithEpochs(2).WithBatchSize(3, gradientAccumulationSteps: 2).WithLearningRate(1e-3)
            .WithCheckpoints(Path.Combine(Runs, run));

    public void Dispose()
    {
        Model.Dispose();
        Corpus.Dispose();
        if (Directory.Exists(Runs)) Directory.Delete(Runs, recursive: true);
    }
}

/// <summary>Checkpoints, resume, cancellation: an interrupted run must end with the weights of an uninterrupted one.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class SerTrainerResumeTests(ResumeReference fixture, ITestOutputHelper output) : IClassFixture<ResumeReference>
{
    private readonly TinyCorpus _corpus = fixture.Corpus;
    private readonly string _runs = fixture.Runs;

    private SerTrainerBuilder Builder(SerMtlModel model, string run) => fixture.Builder(model, run);

    [Fact]
    public void Train_CrashAfterAStepCheckpointThenResume_EndsWithTheSameWeights()
    {
        var (reference, expected) = (fixture.Model, fixture.Result);

        using (var crashing = TinyCorpus.Model())
        {
            var crash = Builder(crashing, "crash").WithCheckpoints(Path.Combine(_runs, "crash"), everySteps: 2)
                .WithCallbacks(new ThrowAt(c => c.Reason == CheckpointReason.StepInterval && c.Step == 4)).Build();
            Assert.Throws<InvalidTimeZoneException>(() => crash.Train(_corpus.Train, _corpus.Validation));
        }

        // A different initialisation: everything must come from the checkpoint.
        using var resumed = TinyCorpus.Model(seed: 99);
        var result = Builder(resumed, "crash").Build().Train(_corpus.Train, _corpus.Validation);

        Assert.Equal(1, result.ResumedFromEpoch);
        Assert.Equal(expected.Steps, result.Steps);
        Assert.Equal(expected.BestEpoch, result.BestEpoch);
        Assert.Equal(expected.Epochs.Select(e => (e.TrainLoss, e.TrainCe, e.TrainCtc, e.ValidationUnweightedAccuracy)),
            result.Epochs.Select(e => (e.TrainLoss, e.TrainCe, e.TrainCtc, e.ValidationUnweightedAccuracy)));
        TinyCorpus.AssertSameWeights(reference, resumed);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("3")]
    [InlineData("1,2")]
    [InlineData("2,3")]
    [InlineData("2,3,5")]
    public void Train_CrashedTwiceResumedTwice_EndsWithTheSameWeights(string crashes)
    {
        // A resumed run that crashes again: the checkpoints a resumed run writes must be those of an uninterrupted one.
        var (reference, expected) = (fixture.Model, fixture.Result);
        var run = "chain-" + crashes.Replace(',', '-');
        foreach (var (crashAt, i) in crashes.Split(',').Select(int.Parse).Select((c, i) => (c, i)))
        {
            // The first run starts from the reference's initialisation; later ones must take everything from the checkpoint.
            using var crashing = TinyCorpus.Model(seed: i == 0 ? 1 : 40 + crashAt);
            var crash = Builder(crashing, run).WithCheckpoints(Path.Combine(_runs, run), everySteps: 1)
                .WithCallbacks(new ThrowAt(c => c.Step == crashAt)).Build();
            Assert.Throws<InvalidTimeZoneException>(() => crash.Train(_corpus.Train, _corpus.Validation));
        }
        using var resumed = TinyCorpus.Model(seed: 99);
        var result = Builder(resumed, run).Build().Train(_corpus.Train, _corpus.Validation);
        Assert.Equal(expected.Epochs.Select(e => (e.Epoch, e.Step, e.TrainLoss, e.ValidationUnweightedAccuracy, e.IsBest)),
            result.Epochs.Select(e => (e.Epoch, e.Step, e.TrainLoss, e.ValidationUnweightedAccuracy, e.IsBest)));
        TinyCorpus.AssertSameWeights(reference, resumed);
    }

    [Fact]
    public void Train_ResumedWhereTheFirstUpdateDropsALayer_EndsWithTheSameWeights()
    {
        // Issue 17: a resumed run starts without gradients; where its first update skipped a layer (LayerDrop), AdamW
        // skipped that layer's parameters although the uninterrupted run, whose gradients were zeroed in place, stepped
        // them. With LayerDrop 0.5 over 2 layers, several of the 5 resume points start with a dropped layer.
        static SerMtlModel Model(int seed) => TinyCorpus.Model(seed, c => c with { LayerDrop = 0.5 });
        using var reference = Model(1);
        var expected = Builder(reference, "layerdrop-reference").Build().Train(_corpus.Train, _corpus.Validation);
        for (var crashAt = 1; crashAt <= 5; crashAt++)
        {
            var run = $"layerdrop-{crashAt}";
            using (var crashing = Model(1))
            {
                var crash = Builder(crashing, run).WithCheckpoints(Path.Combine(_runs, run), everySteps: 1)
                    .WithCallbacks(new ThrowAt(c => c.Step == crashAt)).Build();
                Assert.Throws<InvalidTimeZoneException>(() => crash.Train(_corpus.Train, _corpus.Validation));
            }
            using var resumed = Model(99);
            var result = Builder(resumed, run).Build().Train(_corpus.Train, _corpus.Validation);
            Assert.Equal(expected.Epochs.Select(e => e.TrainLoss), result.Epochs.Select(e => e.TrainLoss));
            TinyCorpus.AssertSameWeights(reference, resumed);
        }
    }

    [Fact]
    public void Train_TwoRunsOnOneCheckpointDirectory_TheSecondIsRefusedWhileTheFirstRuns()
    {
        var directory = Path.Combine(_runs, "locked");
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var first = TinyCorpus.Model();
        // The first run waits inside Train (in its progress report) until the second has been refused.
        var firstRun = new Thread(() => Builder(first, "locked").WithProgress(new Recorder(p =>
        {
            if (p.Phase != TrainingPhase.Training) return;
            inside.Set();
            release.Wait();
        })).Build().Train(_corpus.Train, _corpus.Validation));
        firstRun.Start();
        Assert.True(inside.Wait(TimeSpan.FromMinutes(1)), "the first run did not start training");
        try
        {
            using var second = TinyCorpus.Model();
            var e = Assert.Throws<IOException>(() => Builder(second, "locked").Build().Train(_corpus.Train, _corpus.Validation));
            Assert.Contains($"{directory} is in use by another training run", e.Message);
        }
        finally
        {
            release.Set();
            firstRun.Join();
        }
        // Released when Train returns: the same directory trains (here: finds the run finished) again.
        using var third = TinyCorpus.Model();
        Assert.Equal(2, Builder(third, "locked").Build().Train(_corpus.Train, _corpus.Validation).ResumedFromEpoch);
    }

    [Fact]
    public void Train_BFloat16OptimizerStateResumedWithGradientCheckpointing_EndsWithTheWeightsOfAnUninterruptedRun()
    {
        // bfloat16 moments are saved in the checkpoint and rounded from per-step streams, and gradient checkpointing
        // (not part of the recipe) gives the plain pass's gradients: crash, resume with checkpointing on, same weights.
        SerTrainerBuilder Compact(SerMtlModel model, string run) => Builder(model, run).WithOptimizerState(OptimizerStatePrecision.BFloat16);
        using var reference = TinyCorpus.Model();
        var expected = Compact(reference, "bf16-reference").Build().Train(_corpus.Train, _corpus.Validation);

        using (var crashing = TinyCorpus.Model())
        {
            var crash = Compact(crashing, "bf16-crash").WithCheckpoints(Path.Combine(_runs, "bf16-crash"), everySteps: 2)
                .WithCallbacks(new ThrowAt(c => c.Reason == CheckpointReason.StepInterval && c.Step == 4)).Build();
            Assert.Throws<InvalidTimeZoneException>(() => crash.Train(_corpus.Train, _corpus.Validation));
        }
        using var resumed = TinyCorpus.Model(seed: 99);
        var result = Compact(resumed, "bf16-crash").WithGradientCheckpointing().Build().Train(_corpus.Train, _corpus.Validation);

        Assert.Equal(1, result.ResumedFromEpoch);
        Assert.Equal(expected.Epochs.Select(e => (e.TrainLoss, e.ValidationUnweightedAccuracy)), result.Epochs.Select(e => (e.TrainLoss, e.ValidationUnweightedAccuracy)));
        TinyCorpus.AssertSameWeights(reference, resumed);
        Assert.False(resumed.Backbone.GradientCheckpointing, "the trainer puts the model's setting back");
        // And the bfloat16 run is a different run from the float32 one (the moments are really rounded).
        Assert.NotEqual(fixture.Result.Epochs[^1].TrainLoss, expected.Epochs[^1].TrainLoss);
    }

    public static TheoryData<string> CancelPoints => new() { "mid-epoch", "validation", "epoch-boundary" };

    [Theory]
    [MemberData(nameof(CancelPoints))]
    public void Train_CancelledThenResumed_EndsWithTheSameWeights(string where)
    {
        var (reference, expected) = (fixture.Model, fixture.Result);

        using var cts = new CancellationTokenSource();
        var progress = new CancelOn(cts, p => where switch
        {
            "mid-epoch" => p.Phase == TrainingPhase.Training && p.Epoch == 2 && p.Step == 4,
            "validation" => p.Phase == TrainingPhase.Validating && p.Epoch == 1,
            _ => false,
        });
        var callbacks = new CancelAtEpochEnd(cts, where == "epoch-boundary" ? 1 : -1);
        CheckpointInfo? saved = null;
        callbacks.Checkpointed = c => saved = c;
        using (var first = TinyCorpus.Model())
        {
            var trainer = Builder(first, where).WithProgress(progress).WithCallbacks(callbacks).Build();
            Assert.ThrowsAny<OperationCanceledException>(() => trainer.Train(_corpus.Train, _corpus.Validation, cts.Token));
        }
        Assert.NotNull(saved);
        Assert.Equal(CheckpointReason.Cancelled, saved.Reason);
        output.WriteLine($"cancelled at {where}: checkpoint epoch {saved.Epoch}, step {saved.Step}");

        using var resumed = TinyCorpus.Model(seed: 7);
        var result = Builder(resumed, where).Build().Train(_corpus.Train, _corpus.Validation);
        Assert.Equal(expected.Epochs.Select(e => (e.Epoch, e.Step, e.TrainLoss, e.ValidationUnweightedAccuracy, e.IsBest)),
            result.Epochs.Select(e => (e.Epoch, e.Step, e.TrainLoss, e.ValidationUnweightedAccuracy, e.IsBest)));
        TinyCorpus.AssertSameWeights(reference, resumed);
    }

    [Fact]
    public void Train_FinishedCheckpoint_LoadsTheBestModelWithoutTraining()
    {
        var (reference, expected) = (fixture.Model, fixture.Result);
        using var again = TinyCorpus.Model(seed: 5);
        var progress = new CancelOn(new CancellationTokenSource(), p => p.Phase == TrainingPhase.Training);
        var result = Builder(again, "reference").WithProgress(progress).Build().Train(_corpus.Train, _corpus.Validation);
        Assert.Equal(0, progress.TrainingReports);
        Assert.Equal(2, result.ResumedFromEpoch);
        Assert.Equal(expected.BestEpoch, result.BestEpoch);
        TinyCorpus.AssertSameWeights(reference, again);
        Assert.True(File.Exists(Path.Combine(result.BestModelDirectory!, "model.safetensors")));
    }

    [Fact]
    public void Train_CheckpointFromOtherOptions_IsRefusedNamingTheDifference()
    {
        using (var model = TinyCorpus.Model())
            Builder(model, "options").WithEpochs(1).Build().Train(_corpus.Train, _corpus.Validation);
        using var other = TinyCorpus.Model();
        var e = Assert.Throws<InvalidOperationException>(() =>
            Builder(other, "options").WithEpochs(1).WithAlpha(0.01).Build().Train(_corpus.Train, _corpus.Validation));
        Assert.Contains("alpha 0.1 -> 0.01", e.Message);
        var data = Assert.Throws<InvalidOperationException>(() =>
            Builder(other, "options").WithEpochs(1).Build().Train(_corpus.Train.Skip(1).ToList(), _corpus.Validation));
        Assert.Contains("other samples", data.Message);
    }

    [Fact]
    public void Train_CorruptCheckpoint_FailsNamingTheFile()
    {
        var directory = Path.Combine(_runs, "corrupt");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "checkpoint.safetensors");
        File.WriteAllBytes(path, [8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'"', (byte)'x', 0, 0]);
        using var model = TinyCorpus.Model();
        var e = Assert.Throws<InvalidDataException>(() => Builder(model, "corrupt").Build().Train(_corpus.Train, _corpus.Validation));
        Assert.Contains(path, e.Message);
    }

    private sealed class ThrowAt(Func<CheckpointInfo, bool> when) : TrainingCallbacks
    {
        public override void OnCheckpoint(CheckpointInfo checkpoint)
        {
            if (when(checkpoint)) throw new InvalidTimeZoneException("simulated crash");
        }
    }

    private sealed class CancelAtEpochEnd(CancellationTokenSource cts, int epoch) : TrainingCallbacks
    {
        public Action<CheckpointInfo>? Checkpointed { get; set; }

        public override void OnEpochEnd(EpochSummary summary)
        {
            if (summary.Epoch == epoch) cts.Cancel();
        }

        public override void OnCheckpoint(CheckpointInfo checkpoint) => Checkpointed?.Invoke(checkpoint);
    }

    private sealed class Recorder(Action<TrainingProgress> record) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => record(value);
    }

    private sealed class CancelOn(CancellationTokenSource cts, Func<TrainingProgress, bool> when) : IProgress<TrainingProgress>
    {
        public int TrainingReports { get; private set; }

        public void Report(TrainingProgress value)
        {
            if (value.Phase == TrainingPhase.Training) TrainingReports++;
            if (when(value)) cts.Cancel();
        }
    }
}
