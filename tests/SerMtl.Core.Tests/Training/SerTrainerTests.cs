using SerMtl.Kernels;
using SerMtl.Modeling;
using SerMtl.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SerMtl.Tests.Training;

[Collection(TorchRandomCollection.Name)]
public sealed class SerTrainerTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinyCorpus _corpus = new();
    private readonly string _runs = Path.Combine(Path.GetTempPath(), "sermtl-trainer-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        _corpus.Dispose();
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
    }

    private SerTrainerBuilder Builder(SerMtl.Modeling.SerMtlModel model) =>
        SerTrainer.For(model).WithDevice(CPU).WithEpochs(2).WithBatchSize(4, gradientAccumulationSteps: 2).WithLearningRate(1e-3);

    [Fact]
    public void Train_TwoEpochs_ReportsFiniteLossesAndValidationMetricsAndKeepsTheBestEpoch()
    {
        using var model = TinyCorpus.Model();
        var result = Builder(model).Build().Train(_corpus.Train, _corpus.Validation);
        foreach (var e in result.Epochs) output.WriteLine(e.ToString());

        Assert.Equal([1, 2], result.Epochs.Select(e => e.Epoch));
        Assert.All(result.Epochs, e =>
        {
            Assert.True(double.IsFinite(e.TrainLoss) && double.IsFinite(e.TrainCe) && e.TrainCtc is { } ctc && double.IsFinite(ctc));
            Assert.Equal(e.TrainCe + 0.1 * e.TrainCtc!.Value, e.TrainLoss, 1e-4);
            Assert.InRange(e.ValidationUnweightedAccuracy!.Value, 0, 1);
            Assert.True(e.ValidationWer is >= 0);
            Assert.True(e.UtterancesPerSecond > 0 && e.Seconds > 0);
        });
        // 19 training utterances in batches of 4: 5 passes, 3 updates per epoch.
        Assert.Equal(6, result.Steps);
        Assert.Equal([3L, 6L], result.Epochs.Select(e => e.Step));
        Assert.NotNull(result.BestEpoch);
        Assert.True(result.Epochs.Single(e => e.Epoch == result.BestEpoch).IsBest);
        Assert.False(model.training);
    }

    [Fact]
    public void Train_FromAWavLMForCtcCheckpoint_UsesItsTokenizerAndBlank()
    {
        // Lower-case letters with [PAD] (the blank) last: the transcripts are lower-cased, the CTC loss is finite and
        // the word error rate is measured in that vocabulary.
        random.manual_seed(1);
        using var model = SerMtlModel.FromPretrained(Path.Combine(TestPaths.Fixtures, "wavlm", "tiny-wavlm-ctc"),
            new SerMtlModelOptions { Labels = TinyCorpus.Labels });
        Assert.Equal(29, model.Vocabulary.BlankId);
        var result = Builder(model).WithEpochs(1).Build().Train(_corpus.Train, _corpus.Validation);
        var epoch = result.Epochs.Single();
        Assert.True(epoch.TrainCtc is { } ctc && double.IsFinite(ctc) && ctc > 0, $"CTC {epoch.TrainCtc}");
        Assert.True(epoch.ValidationWer is >= 0);
    }

    [Fact]
    public void Train_AlphaZero_SkipsCtcAndUsesTheEmotionOnlyLearningRate()
    {
        using var model = TinyCorpus.Model();
        var rates = new List<double>();
        var result = SerTrainer.For(model).WithDevice(CPU).WithEpochs(1).WithBatchSize(4).WithAlpha(0).WithWarmupRatio(0)
            .WithProgress(new Recorder(p => rates.Add(p.LearningRate))).Build().Train(_corpus.Train);
        Assert.Null(result.Epochs.Single().TrainCtc);
        Assert.Equal(result.Epochs.Single().TrainCe, result.Epochs.Single().TrainLoss);
        Assert.Equal(1e-5, rates.Where(r => r > 0).First(), 12); // no warm-up: the first update runs at the peak
        Assert.Null(result.BestEpoch); // no validation split
    }

    [Fact]
    public void Train_NoTranscripts_CtcTermIsZeroAndTrainingWorks()
    {
        using var model = TinyCorpus.Model();
        var samples = _corpus.Train.Select(s => s with { Transcript = null }).ToList();
        var result = Builder(model).WithEpochs(1).Build().Train(samples);
        Assert.Equal(0, result.Epochs.Single().TrainCtc);
        Assert.True(double.IsFinite(result.Epochs.Single().TrainLoss));
    }

    [Fact]
    public void Train_RandomCrop_IsRepeatableWithTheSameSeed()
    {
        using var a = TinyCorpus.Model();
        using var b = TinyCorpus.Model();
        Builder(a).WithEpochs(1).WithRandomCrop(0.05).WithMaxBatchSeconds(0.3).Build().Train(_corpus.Train);
        Builder(b).WithEpochs(1).WithRandomCrop(0.05).WithMaxBatchSeconds(0.3).Build().Train(_corpus.Train);
        TinyCorpus.AssertSameWeights(a, b);
    }

    [Fact]
    public void Train_BFloat16MixedPrecision_KeepsFloat32WeightsAndFollowsTheFloat32Run()
    {
        using var full = TinyCorpus.Model();
        using var mixed = TinyCorpus.Model();
        var a = Builder(full).WithEpochs(1).Build().Train(_corpus.Train);
        var b = Builder(mixed).WithEpochs(1).WithComputePrecision(ComputePrecision.BFloat16).Build().Train(_corpus.Train);
        output.WriteLine($"float32 loss {a.Epochs[0].TrainLoss}, bfloat16 mixed {b.Epochs[0].TrainLoss}");

        Assert.All(mixed.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.True(double.IsFinite(b.Epochs[0].TrainLoss));
        // The products really ran in bfloat16 (the loss differs), and only by rounding (it differs little).
        Assert.NotEqual(a.Epochs[0].TrainLoss, b.Epochs[0].TrainLoss);
        Assert.Equal(a.Epochs[0].TrainLoss, b.Epochs[0].TrainLoss, 0.05 * a.Epochs[0].TrainLoss);
        Assert.Null(MixedPrecision.ComputeType); // nothing left switched on after training
    }

    private sealed class Recorder(Action<TrainingProgress> record) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Phase == TrainingPhase.Training) record(value);
        }
    }

    [Fact]
    public void Train_TranscriptsWithDigits_LogsTheOutOfVocabularyCharactersOnce()
    {
        using var model = TinyCorpus.Model();
        var samples = _corpus.Train.Select((s, i) => i < 3 ? s with { Transcript = $"I HAVE {i + 2} CATS" } : s).ToList();
        var logger = new ListLogger();
        Builder(model).WithEpochs(2).WithLogger(logger).Build().Train(samples, _corpus.Validation);
        var warnings = logger.Messages.Where(m => m.Contains("outside the CTC vocabulary", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains("train: 3 transcript(s) lost 3 character(s)", warning);
        Assert.Contains("'2' x1", warning);
        Assert.Equal(2, logger.Messages.Count(m => m.StartsWith("Epoch ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Train_TruncatedRecording_IsTrainedOnAsFarAsItGoes_AndTheLogSaysSo()
    {
        using var model = TinyCorpus.Model();
        var cut = Path.Combine(_runs, "cut.wav");
        Directory.CreateDirectory(_runs);
        File.WriteAllBytes(cut, File.ReadAllBytes(_corpus.Train[0].AudioPath)[..^200]);
        var samples = _corpus.Train.Select((s, i) => i == 0 ? s with { AudioPath = cut } : s).ToList();
        var logger = new ListLogger();
        Builder(model).WithEpochs(1).WithLogger(logger).Build().Train(samples);
        var warning = Assert.Single(logger.Messages, m => m.StartsWith("Audio read with a warning: ", StringComparison.Ordinal));
        Assert.Contains($"{cut}: truncated", warning);
        Assert.Contains("200 bytes are missing", warning);
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter) => Messages.Add(formatter(state, exception));
    }
}
