using SerMtl.Data.Audio;
using SerMtl.Inference;

namespace SerMtl.Onnx.Tests;

/// <summary>Timelines of a recording of three utterances with pauses between them, on both engines.</summary>
public sealed class TimelineTests : IDisposable
{
    private readonly SavedModelFixture _saved = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("sermtl-timeline-").FullName;

    public void Dispose()
    {
        _saved.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("onnx")]
    [InlineData("torch")]
    public async Task PredictTimeline_ThreeUtterances_OneSegmentEachWithItsOwnPrediction(string engine)
    {
        var pause = new float[16000];
        var parts = new[] { TestAudio.Speechlike(1.2, seed: 1), TestAudio.Speechlike(0.8, seed: 2), TestAudio.Speechlike(1.5, seed: 3) };
        var samples = pause.Concat(parts[0]).Concat(pause).Concat(parts[1]).Concat(pause).Concat(parts[2]).Concat(pause).ToArray();
        var wav = Path.Combine(_dir, "three.wav");
        TestAudio.WriteWav(wav, samples);
        using EmotionRecognizerBase recognizer = engine == "onnx"
            ? OnnxEmotionRecognizer.Load(Export())
            : EmotionRecognizer.Load(_saved.Directory);

        var timeline = recognizer.PredictTimeline(wav);
        var written = WavReader.Read(wav).Samples;                                     // as the file holds them (16-bit)
        Assert.Equal(3, timeline.Segments.Count);
        Assert.Empty(timeline.Warnings);
        Assert.Equal(TimeSpan.FromSeconds(samples.Length / 16000.0), timeline.Duration);
        var starts = new[] { 1.0, 3.2, 5.0 };
        var ends = new[] { 2.2, 4.0, 6.5 };
        for (var i = 0; i < 3; i++)
        {
            var segment = timeline.Segments[i];
            Assert.InRange(segment.Start.TotalSeconds, starts[i] - 0.15, starts[i] + 0.05);
            Assert.InRange(segment.End.TotalSeconds, ends[i] - 0.05, ends[i] + 0.15);
            // The segment's prediction is the prediction of exactly that stretch.
            var from = (int)Math.Round(segment.Start.TotalSeconds * 16000);
            var to = (int)Math.Round(segment.End.TotalSeconds * 16000);
            var alone = recognizer.Predict(written.AsSpan(from, to - from), 16000);
            Assert.Equal(alone.Label, segment.Prediction.Label);
            // In one padded batch with the other segments: equal up to float rounding.
            foreach (var (label, p) in alone.Probabilities) Assert.Equal(p, segment.Prediction.Probabilities[label], 1e-5f);
            Assert.Equal(alone.Transcript, segment.Prediction.Transcript);
        }

        await using var stream = File.OpenRead(wav);
        var fromStream = await recognizer.PredictTimelineAsync(stream, "upload");
        Assert.Equal(timeline.Segments.Select(s => (s.Start, s.End, s.Prediction.Label)), fromStream.Segments.Select(s => (s.Start, s.End, s.Prediction.Label)));
    }

    [Fact]
    public void PredictTimeline_Silence_IsEmptyWithAWarning()
    {
        var wav = Path.Combine(_dir, "silence.wav");
        TestAudio.WriteWav(wav, new float[32000]);
        using var recognizer = OnnxEmotionRecognizer.Load(Export());
        var timeline = recognizer.PredictTimeline(wav);
        var written = WavReader.Read(wav).Samples;                                     // as the file holds them (16-bit)
        Assert.Empty(timeline.Segments);
        Assert.Contains(timeline.Warnings, w => w.Contains("no speech found", StringComparison.Ordinal));
    }

    private string Export()
    {
        var path = Path.Combine(_dir, "model.onnx");
        if (!File.Exists(path)) OnnxExporter.Export(_saved.Directory, path);
        return path;
    }
}
