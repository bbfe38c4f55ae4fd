using System.Diagnostics;
using SerMtl.Modeling;
using SerMtl.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SerMtl.Tests.Training;

/// <summary>Non-finite losses, memory across epochs, bad input.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class SerTrainerRobustnessTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinyCorpus _corpus = new(count: 16);

    public void Dispose() => _corpus.Dispose();

    // 13 training utterances in batches of 4: 4 passes = 4 updates per epoch.
    private static SerTrainerBuilder Builder(SerMtlModel model) =>
        SerTrainer.For(model).WithDevice(CPU).WithEpochs(1).WithBatchSize(4).WithLearningRate(1e-3);

    [Fact]
    public void Train_OneNonFiniteLoss_SkipsThatUpdateCountsItAndLeavesFiniteWeights()
    {
        using var model = TinyCorpus.Model();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var result = Builder(model).WithInjectedNonFiniteLoss((epoch, pass) => pass == 1).Build().Train(_corpus.Train, _corpus.Validation);

        Assert.Equal(1, result.SkippedSteps);
        Assert.Equal(4, result.Steps);
        Assert.Equal(1, result.Epochs.Single().SkippedSteps);
        Assert.True(double.IsFinite(result.Epochs.Single().TrainLoss));
        foreach (var (key, value) in model.state_dict())
            Assert.True(value.isfinite().all().item<bool>(), $"{key} holds non-finite values");
        Assert.Contains(model.state_dict(), kv => !kv.Value.equal(before[kv.Key]).all().item<bool>()); // the other updates happened
        foreach (var t in before.Values) t.Dispose();
    }

    [Fact]
    public void Train_NonFiniteLossesInARowUpToTheLimit_StopsWithAClearError()
    {
        using var model = TinyCorpus.Model();
        var trainer = Builder(model).WithNonFiniteLossLimit(3).WithInjectedNonFiniteLoss((_, _) => true).Build();
        var e = Assert.Throws<NonFiniteLossException>(() => trainer.Train(_corpus.Train, _corpus.Validation));
        output.WriteLine(e.Message);
        Assert.Contains("3 updates in a row", e.Message);
        Assert.Contains("update 3", e.Message);
    }

    [Fact]
    public void Train_FourEpochs_LiveTensorCountAndMemoryStayFlat()
    {
        using var model = TinyCorpus.Model();
        var probe = new MemoryProbe();
        var runs = Path.Combine(Path.GetTempPath(), "sermtl-memory-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            Builder(model).WithEpochs(4).WithCheckpoints(runs).WithCallbacks(probe).Build().Train(_corpus.Train, _corpus.Validation);
        }
        finally
        {
            Directory.Delete(runs, recursive: true);
        }
        foreach (var (epoch, tensors, rss) in probe.Samples) output.WriteLine($"epoch {epoch}: {tensors} live tensors, RSS {rss / 1e6:0.0} MB");
        var first = probe.Samples[0];
        var third = probe.Samples[2];
        // Every pass and update disposes what it made: the same tensors are alive after epoch 1 and epoch 3.
        Assert.Equal(first.Tensors, third.Tensors);
        Assert.Equal(first.Tensors, probe.Samples[3].Tensors);
        // Native memory: allocator caches make RSS noisy, but a leak of one batch per pass would add far more than this.
        Assert.True(third.Rss - first.Rss < 64_000_000, $"RSS grew by {(third.Rss - first.Rss) / 1e6:0.0} MB from epoch 1 to epoch 3");
    }

    [Fact]
    public void Train_LabelTheModelDoesNotKnow_NamesTheSample()
    {
        using var model = TinyCorpus.Model();
        var bad = _corpus.Train.Select((s, i) => i == 2 ? s with { Label = "bored" } : s).ToList();
        var e = Assert.Throws<ArgumentException>(() => Builder(model).Build().Train(bad));
        Assert.Contains($"'{bad[2].Id}' has label 'bored'", e.Message);
    }

    [Fact]
    public void Build_OptionOutOfRange_NamesIt()
    {
        using var model = TinyCorpus.Model();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SerTrainer.For(model).WithBatchSize(0).Build());
        Assert.Equal("BatchSize", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => SerTrainer.For(model).WithWarmupRatio(1.5).Build());
        var precision = Assert.Throws<ArgumentOutOfRangeException>(() => SerTrainer.For(model).WithOptimizerState((OptimizerStatePrecision)7).Build());
        Assert.Equal("OptimizerStatePrecision", precision.ParamName);
    }

    [Fact]
    public void Options_Defaults_AreThePapers()
    {
        var o = new TrainingOptions();
        Assert.Equal((0.1, 5e-5, 0.9, 0.999, 1e-8, 0.1), (o.Alpha, o.EffectiveLearningRate, o.Beta1, o.Beta2, o.AdamEpsilon, o.WarmupRatio));
        Assert.Equal(8, o.BatchSize * o.GradientAccumulationSteps);
        Assert.Equal(1e-5, (o with { Alpha = 0 }).EffectiveLearningRate);
        Assert.Equal(3e-5, (o with { Alpha = 0, LearningRate = 3e-5 }).EffectiveLearningRate);
        Assert.True(o.FreezeFeatureEncoder);
        Assert.Null(o.RandomCropSeconds);
        Assert.Equal(SelectionMetric.UnweightedAccuracy, o.SelectionMetric);
        Assert.Equal(OptimizerStatePrecision.Float32, o.OptimizerStatePrecision);
        Assert.False(o.GradientCheckpointing);
        // Gradient checkpointing gives the same gradients, so a run may resume with it switched; the state's precision may not.
        Assert.Equal(o.Recipe(), (o with { GradientCheckpointing = true }).Recipe());
        Assert.NotEqual(o.Recipe(), (o with { OptimizerStatePrecision = OptimizerStatePrecision.BFloat16 }).Recipe());
    }

    private sealed class MemoryProbe : TrainingCallbacks
    {
        public List<(int Epoch, long Tensors, long Rss)> Samples { get; } = [];

        public override void OnEpochEnd(EpochSummary summary)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var process = Process.GetCurrentProcess();
            Samples.Add((summary.Epoch, DisposeScopeManager.Statistics.ThreadTotalLiveCount, process.WorkingSet64));
        }
    }
}
