using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SerMtl.Data.Audio;
using SerMtl.Inference;

namespace SerMtl.Onnx.Tests;

/// <summary>
/// The asynchronous API every engine shares (<see cref="EmotionRecognizerBase"/>): the same results as the synchronous
/// calls, a bounded queue that refuses at once, cancellation, and the meter. Run on both engines.
/// </summary>
public sealed class AsyncRecognizerTests : IDisposable
{
    private readonly SavedModelFixture _saved = new();
    private readonly string _onnx;
    private static readonly string Wav = Path.Combine(TestPaths.TinyGroup, "a.wav");

    public AsyncRecognizerTests()
    {
        _onnx = Path.Combine(Path.GetDirectoryName(_saved.Directory)!, Path.GetFileName(_saved.Directory) + ".onnx");
        OnnxExporter.Export(_saved.Directory, _onnx);
    }

    public void Dispose()
    {
        _saved.Dispose();
        File.Delete(_onnx);
    }

    internal EmotionRecognizerBase Load(string engine, int queueCapacity = 32) => engine == "onnx"
        ? OnnxEmotionRecognizer.Load(_onnx, new OnnxRecognizerOptions { QueueCapacity = queueCapacity })
        : EmotionRecognizer.Load(_saved.Directory, new EmotionRecognizerOptions { QueueCapacity = queueCapacity });

    [Theory]
    [InlineData("onnx")]
    [InlineData("torch")]
    public async Task PredictAsync_PathStreamAndSamples_GiveTheSynchronousResults(string engine)
    {
        using var recognizer = Load(engine);
        var expected = recognizer.Predict(Wav);
        var clip = WavReader.Read(Wav);
        await using var stream = File.OpenRead(Wav);
        var results = new[]
        {
            await recognizer.PredictAsync(Wav),
            await recognizer.PredictAsync(stream, "upload"),
            await recognizer.PredictAsync(clip.Samples.AsMemory(), clip.SampleRate),
        };
        foreach (var actual in results)
        {
            Assert.Equal(expected.Label, actual.Label);
            Assert.Equal(expected.Transcript, actual.Transcript);
            Assert.Equal(expected.Probabilities.Values, actual.Probabilities.Values);
        }
        Assert.Equal(0, recognizer.QueueDepth);
    }

    [Fact]
    public async Task PredictAsync_QueueFull_RefusesAtOnceWithoutReading_ThenServesTheAdmitted()
    {
        using var recognizer = Load("onnx", queueCapacity: 2);
        var bytes = await File.ReadAllBytesAsync(Wav);
        var gates = new[] { new HeldStream(bytes), new HeldStream(bytes) };
        var admitted = gates.Select((g, i) => recognizer.PredictAsync(g, $"held {i}")).ToArray();
        await Task.WhenAll(gates.Select(g => g.Reading));          // both admitted and reading
        Assert.Equal(2, recognizer.QueueDepth);

        var third = new HeldStream(bytes);
        var refused = await Assert.ThrowsAsync<RecognizerOverloadedException>(() => recognizer.PredictAsync(third, "third"));
        Assert.Equal(2, refused.QueueCapacity);
        Assert.False(third.Reading.IsCompleted, "the refused request read its stream");
        await Assert.ThrowsAsync<RecognizerOverloadedException>(() => recognizer.PredictAsync(Wav));

        foreach (var g in gates) g.Release();
        var results = await Task.WhenAll(admitted);
        Assert.All(results, r => Assert.Equal(recognizer.Predict(Wav).Label, r.Label));
        Assert.Equal(0, recognizer.QueueDepth);
        Assert.NotNull(await recognizer.PredictAsync(Wav));           // room again
    }

    [Fact]
    public async Task PredictAsync_CancelledWhileWaiting_ThrowsAndLeavesTheQueue()
    {
        using var recognizer = Load("onnx");
        var bytes = await File.ReadAllBytesAsync(Wav);
        var held = new HeldStream(bytes);
        using var cancel = new CancellationTokenSource();
        var waiting = recognizer.PredictAsync(held, "held", cancel.Token);
        await held.Reading;
        cancel.Cancel();
        held.Release();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, recognizer.QueueDepth);
    }
}

/// <summary>
/// The meter's counts. The listener hears every recognizer in the process, so this runs alone (a collection that
/// disables parallelization): another test class predicting meanwhile would add its own measurements.
/// </summary>
[Collection(MeterCollection.Name)]
public sealed class MeterTests : IDisposable
{
    private static readonly string Wav = Path.Combine(TestPaths.TinyGroup, "a.wav");
    private readonly AsyncRecognizerTests _models = new();

    public void Dispose() => _models.Dispose();

    private EmotionRecognizerBase Load(string engine, int queueCapacity = 32) => _models.Load(engine, queueCapacity);

    [Fact]
    public async Task Meter_CountsPredictionsErrorsRejectionsAndDurations()
    {
        var measurements = new ConcurrentQueue<(string Instrument, double Value, string? Outcome, string? Engine)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EmotionRecognizerBase.MeterName) l.EnableMeasurementEvents(instrument);
        };
        void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? outcome = null, engine = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome") outcome = tag.Value as string;
                if (tag.Key == "sermtl.engine") engine = tag.Value as string;
            }
            if (engine == nameof(OnnxEmotionRecognizer)) measurements.Enqueue((instrument.Name, value, outcome, engine));
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => OnMeasurement(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => OnMeasurement(i, v, t));
        listener.Start();

        using var recognizer = Load("onnx", queueCapacity: 1);
        recognizer.Predict(Wav);
        await recognizer.PredictAsync(Wav);
        Assert.Throws<FileNotFoundException>(() => recognizer.Predict(Path.Combine(TestPaths.TinyGroup, "missing.wav")));
        var held = new HeldStream(await File.ReadAllBytesAsync(Wav));
        var admitted = recognizer.PredictAsync(held, "held");
        await held.Reading;
        await Assert.ThrowsAsync<RecognizerOverloadedException>(() => recognizer.PredictAsync(Wav));
        held.Release();
        await admitted;

        var all = measurements.ToList();
        Assert.Equal(3, all.Count(m => m.Instrument == "sermtl.recognizer.predictions" && m.Outcome == "ok"));
        Assert.Equal(1, all.Count(m => m.Instrument == "sermtl.recognizer.predictions" && m.Outcome == "error"));
        Assert.Equal(1, all.Count(m => m.Instrument == "sermtl.recognizer.rejections"));
        var durations = all.Where(m => m.Instrument == "sermtl.recognizer.duration").ToList();
        Assert.Equal(4, durations.Count);
        Assert.All(durations, d => Assert.True(d.Value > 0));
        var depth = all.Where(m => m.Instrument == "sermtl.recognizer.queue_depth").Sum(m => m.Value);
        Assert.Equal(0, depth);                                       // every admission left again
        Assert.Equal(2, all.Count(m => m.Instrument == "sermtl.recognizer.queue_depth" && m.Value > 0));
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeterCollection
{
    public const string Name = "meter listener";
}
