using SerMtl.Checkpoints;
using SerMtl.Inference;

namespace SerMtl.Tests.Inference;

/// <summary>EmotionRecognizer running HF Wav2Vec2ForSequenceClassification / WavLMForSequenceClassification checkpoints (the fixtures' reference logits).</summary>
public sealed class SequenceClassifierRecognizerTests
{
    private static string Folder => Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-seqcls-group");

    [Theory]
    [InlineData("wav2vec2/tiny-seqcls-group")]
    [InlineData("wavlm/tiny-wavlm-seqcls")]
    public void Predict_GivesTheSoftmaxOfTheReferenceLogits_AndNoTranscript(string fixture)
    {
        var folder = Path.Combine(TestPaths.Fixtures, fixture);
        using var recognizer = EmotionRecognizer.Load(folder);
        var expected = SafeTensors.Read(Path.Combine(folder, "expected.safetensors"));
        try
        {
            Assert.Equal(["neu", "hap", "ang", "sad"], recognizer.Labels);
            var predictions = recognizer.PredictBatch(new[] { "a", "b", "c" }.Select(s => Path.Combine(folder, s + ".wav")).ToList());
            foreach (var (stem, prediction) in new[] { "a", "b", "c" }.Zip(predictions))
            {
                var want = expected[stem + ".logits"].softmax(-1).data<float>().ToArray();
                var got = recognizer.Labels.Select(l => prediction.Probabilities[l]).ToArray();
                Assert.All(want.Zip(got), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4, $"{stem}: {p.Second} vs {p.First}"));
                Assert.Equal(recognizer.Labels[Array.IndexOf(want, want.Max())], prediction.Label);
                Assert.Equal("", prediction.Transcript);
            }
        }
        finally
        {
            foreach (var t in expected.Values) t.Dispose();
        }
    }

    [Fact]
    public void Predict_LongRecordingInWindows_AveragesWithoutATranscript()
    {
        using var recognizer = EmotionRecognizer.Load(Folder, new EmotionRecognizerOptions { MaxWindowSeconds = 0.4 });
        var prediction = recognizer.Predict(Path.Combine(Folder, "b.wav")); // 1.3 s: several windows
        Assert.True(prediction.Windows.Count >= 3);
        Assert.Equal("", prediction.Transcript);
        Assert.Equal(1.0, prediction.Probabilities.Values.Sum(), 4);
    }

    [Fact]
    public void Load_SpeechClassifier_PredictsItsClasses()
    {
        var classes = Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-speechcls-max");
        using var recognizer = EmotionRecognizer.Load(classes);
        var prediction = recognizer.Predict(Path.Combine(classes, "c.wav"));
        Assert.False(recognizer.IsRegression);
        Assert.Equal(["neu", "hap", "ang", "sad"], prediction.Probabilities.Keys);
        Assert.Equal(1.0, prediction.Probabilities.Values.Sum(), 4);
        Assert.Empty(prediction.Scores);
    }

    [Fact]
    public void Load_RegressionModel_GivesNamedScoresAndNoLabel()
    {
        var folder = Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-speechcls-dim");
        var expected = SafeTensors.Read(Path.Combine(folder, "expected.safetensors"));
        try
        {
            using var recognizer = EmotionRecognizer.Load(folder);
            Assert.True(recognizer.IsRegression);
            var prediction = recognizer.Predict(Path.Combine(folder, "a.wav"));
            Assert.Equal(["arousal", "dominance", "valence"], prediction.Scores.Keys);
            var want = expected["a.logits"].data<float>().ToArray();
            Assert.All(want.Zip(prediction.Scores.Values), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4, $"{p.Second} vs {p.First}"));
            Assert.Equal("", prediction.Label);
            Assert.Empty(prediction.Probabilities);
            Assert.True(float.IsNaN(prediction.Confidence));

            using var windowed = EmotionRecognizer.Load(folder, new EmotionRecognizerOptions { MaxWindowSeconds = 0.4 });
            var long_ = windowed.Predict(Path.Combine(folder, "b.wav"));
            Assert.True(long_.Windows.Count >= 3);
            Assert.All(long_.Windows, w => Assert.Equal(3, w.Scores.Count));
            var weights = long_.Windows.Select(w => w.Duration.TotalSeconds).ToArray();
            var mean = weights.Zip(long_.Windows).Sum(x => x.First * x.Second.Scores["valence"]) / weights.Sum();
            Assert.Equal(mean, long_.Scores["valence"], 4);
        }
        finally
        {
            foreach (var t in expected.Values) t.Dispose();
        }
    }
}
