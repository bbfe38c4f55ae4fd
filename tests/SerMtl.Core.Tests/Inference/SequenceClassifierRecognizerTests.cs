using SerMtl.Checkpoints;
using SerMtl.Inference;

namespace SerMtl.Tests.Inference;

/// <summary>EmotionRecognizer running an HF Wav2Vec2ForSequenceClassification checkpoint (the fixtures' reference logits).</summary>
public sealed class SequenceClassifierRecognizerTests
{
    private static string Folder => Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-seqcls-group");

    [Fact]
    public void Predict_GivesTheSoftmaxOfTheReferenceLogits_AndNoTranscript()
    {
        using var recognizer = EmotionRecognizer.Load(Folder);
        var expected = SafeTensors.Read(Path.Combine(Folder, "expected.safetensors"));
        try
        {
            Assert.Equal(["neu", "hap", "ang", "sad"], recognizer.Labels);
            var predictions = recognizer.PredictBatch(new[] { "a", "b", "c" }.Select(s => Path.Combine(Folder, s + ".wav")).ToList());
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
    public void Load_SpeechClassifier_PredictsItsClasses_RegressionIsRefusedClearly()
    {
        var classes = Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-speechcls-max");
        using (var recognizer = EmotionRecognizer.Load(classes))
        {
            var prediction = recognizer.Predict(Path.Combine(classes, "c.wav"));
            Assert.Equal(["neu", "hap", "ang", "sad"], prediction.Probabilities.Keys);
            Assert.Equal(1.0, prediction.Probabilities.Values.Sum(), 4);
        }
        var e = Assert.Throws<NotSupportedException>(() => EmotionRecognizer.Load(Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-speechcls-dim")));
        Assert.Contains("regression model (arousal, dominance, valence)", e.Message);
        Assert.Contains("Wav2Vec2ForSpeechClassification.FromPretrained", e.Message);
    }
}
