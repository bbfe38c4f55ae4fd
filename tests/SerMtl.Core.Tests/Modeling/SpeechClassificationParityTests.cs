using SerMtl.Checkpoints;
using SerMtl.Data.Audio;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// The dense–tanh–out_proj head (<c>Wav2Vec2ForSpeechClassification</c>) against float64 reference outputs from
/// torchaudio's wav2vec2 (tests/fixtures/generate.py): mean pooling with three regression outputs, max pooling with
/// four classes; each WAV alone and in one padded batch.
/// </summary>
public class SpeechClassificationParityTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("tiny-speechcls-dim", "mean", true)]
    [InlineData("tiny-speechcls-max", "max", false)]
    public void Outputs_AloneAndBatched_MatchTheReference(string fixture, string pooling, bool regression)
    {
        var folder = Path.Combine(TestPaths.Fixtures, "wav2vec2", fixture);
        using var model = Wav2Vec2ForSpeechClassification.FromPretrained(folder);
        var expected = SafeTensors.Read(Path.Combine(folder, "expected.safetensors"));
        try
        {
            Assert.Equal((pooling, regression), (model.Pooling, model.IsRegression));
            Assert.Equal(regression ? ["arousal", "dominance", "valence"] : new[] { "neu", "hap", "ang", "sad" }, model.Labels);
            string[] stems = ["a", "b", "c"];
            var waveforms = stems.Select(s => AudioLoader.LoadMono(Path.Combine(folder, s + ".wav"))).ToArray();
            using var _ = no_grad();
            for (var i = 0; i < stems.Length; i++)
            {
                using var scope = NewDisposeScope();
                using var alone = WaveformBatch.Create([waveforms[i]], model.Backbone.Preprocessing);
                TensorAssert.Close(expected[stems[i] + ".logits"], model.Forward(alone)[0], Tolerance, $"{fixture}/{stems[i]}");
            }
            using (var scope = NewDisposeScope())
            {
                using var batch = WaveformBatch.Create(waveforms, model.Backbone.Preprocessing);
                var outputs = model.Forward(batch);
                for (var i = 0; i < stems.Length; i++)
                    TensorAssert.Close(expected[stems[i] + ".logits"], outputs[i], Tolerance, $"{fixture}/{stems[i]} (batched)");
            }
        }
        finally
        {
            foreach (var t in expected.Values) t.Dispose();
        }
    }
}
