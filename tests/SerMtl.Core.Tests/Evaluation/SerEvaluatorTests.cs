using SerMtl.Data.Evaluation;
using SerMtl.Evaluation;
using SerMtl.Modeling;
using SerMtl.Tests.Training;
using SerMtl.Training;
using static TorchSharp.torch;

namespace SerMtl.Tests.Evaluation;

[Collection(TorchRandomCollection.Name)]
public sealed class SerEvaluatorTests : IDisposable
{
    private readonly TinyCorpus _corpus = new(count: 12);
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sermtl-eval-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        _corpus.Dispose();
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    [Fact]
    public void Evaluate_TrainedModelSavedAndLoaded_GivesIdenticalPredictions()
    {
        using var model = TinyCorpus.Model();
        SerTrainer.For(model).WithDevice(CPU).WithEpochs(1).WithBatchSize(4).WithLearningRate(1e-3).Build().Train(_corpus.Train);
        var before = SerEvaluator.Evaluate(model, _corpus.Samples);
        model.Save(_out);
        using var loaded = SerMtlModel.Load(_out);
        var after = SerEvaluator.Evaluate(loaded, _corpus.Samples);

        Assert.Equal(before.Predictions.Select(p => (p.Id, p.Predicted, p.Transcript)), after.Predictions.Select(p => (p.Id, p.Predicted, p.Transcript)));
        Assert.Equal(before.Predictions.SelectMany(p => p.Probabilities), after.Predictions.SelectMany(p => p.Probabilities));
        Assert.Equal(before.Classification.Confusion.ToRows(), after.Classification.Confusion.ToRows());
    }

    [Fact]
    public void Evaluate_BatchSizeDoesNotChangePredictions_MetricsAgreeWithThePredictions()
    {
        using var model = TinyCorpus.Model();
        var one = SerEvaluator.Evaluate(model, _corpus.Samples, new EvaluationOptions { BatchSize = 1 });
        var five = SerEvaluator.Evaluate(model, _corpus.Samples, new EvaluationOptions { BatchSize = 5, MaxBatchSeconds = 0.5 });

        Assert.Equal(_corpus.Samples.Select(s => s.Id), five.Predictions.Select(p => p.Id)); // input order
        Assert.Equal(one.Predictions.Select(p => p.Transcript), five.Predictions.Select(p => p.Transcript));
        foreach (var (a, b) in one.Predictions.Zip(five.Predictions))
            Assert.True(a.Probabilities.Zip(b.Probabilities).All(x => Math.Abs(x.First - x.Second) < 1e-5), $"{a.Id}: batching changed the probabilities");
        Assert.All(five.Predictions, p => Assert.Equal(1.0, p.Probabilities.Sum(), 5));

        var correct = five.Predictions.Count(p => p.Label == p.Predicted);
        Assert.Equal((double)correct / five.Count, five.WeightedAccuracy, 12);
        var words = five.Predictions.Aggregate(new EditCounts(0, 0), (sum, p) => sum + ErrorRates.WordEdits(p.Reference!, p.Transcript));
        Assert.Equal(words, five.WordErrors);
    }

    [Fact]
    public void Evaluate_SamplesWithoutTranscripts_AreLeftOutOfTheWer()
    {
        using var model = TinyCorpus.Model();
        var samples = _corpus.Samples.Select((s, i) => i % 2 == 0 ? s with { Transcript = null } : s with { Transcript = "[LAUGHTER]" }).ToList();
        var result = SerEvaluator.Evaluate(model, samples);
        Assert.All(result.Predictions, p => Assert.Null(p.Reference));
        Assert.Equal(0, result.WordErrors.ReferenceLength);
        Assert.True(double.IsNaN(result.WordErrorRate));
        Assert.Equal(12, result.Classification.Total);
    }

    [Fact]
    public void Evaluate_LabelOutsideTheModel_AndNoSamples_Throw()
    {
        using var model = TinyCorpus.Model();
        var e = Assert.Throws<ArgumentException>(() => SerEvaluator.Evaluate(model, [_corpus.Samples[0] with { Label = "calm" }]));
        Assert.Contains("'calm'", e.Message);
        Assert.Throws<ArgumentException>(() => SerEvaluator.Evaluate(model, []));
    }
}
