using SerMtl.Modeling;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// The dense–tanh–out_proj head (<c>Wav2Vec2ForSpeechClassification</c>) against float64 reference outputs from
/// torchaudio's wav2vec2 (tests/fixtures/generate.py) and WavLM (generate_wavlm.py): mean pooling with three regression
/// outputs, max pooling with four classes, HuBERT's and WavLM's spellings; each WAV alone and in one padded batch.
/// </summary>
public class SpeechClassificationParityTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("wav2vec2/tiny-speechcls-dim", "mean", true)]
    [InlineData("wav2vec2/tiny-speechcls-max", "max", false)]
    [InlineData("wav2vec2/tiny-hubert-speechcls", "mean", false)]
    [InlineData("wavlm/tiny-wavlm-speechcls", "mean", true)]
    public void Outputs_AloneAndBatched_MatchTheReference(string fixture, string pooling, bool regression)
    {
        var folder = Path.Combine(TestPaths.Fixtures, fixture);
        using var model = Wav2Vec2ForSpeechClassification.FromPretrained(folder);
        Assert.Equal((pooling, regression), (model.Pooling, model.IsRegression));
        Assert.Equal(regression ? ["arousal", "dominance", "valence"] : new[] { "neu", "hap", "ang", "sad" }, model.Labels);
        HeadParity.AloneAndBatched(folder, model.Backbone.Preprocessing, model.Forward, Tolerance);
    }
}
