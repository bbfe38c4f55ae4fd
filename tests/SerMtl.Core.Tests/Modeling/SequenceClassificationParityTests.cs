using SerMtl.Data.Audio;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// HF's Wav2Vec2ForSequenceClassification against float64 reference logits computed from torchaudio's components
/// (tests/fixtures/generate.py): weighted layer sum over a group-norm model, and the last hidden state of a
/// stable-layer-norm model; each WAV alone and all in one padded batch.
/// </summary>
public class SequenceClassificationParityTests
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string> Fixtures => new() { "tiny-seqcls-group", "tiny-seqcls-layer", "tiny-hubert-seqcls" };

    private static string Folder(string fixture) => Path.Combine(TestPaths.Fixtures, "wav2vec2", fixture);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Logits_AloneAndBatched_MatchTheReference(string fixture)
    {
        var folder = Folder(fixture);
        using var model = Wav2Vec2ForSequenceClassification.FromPretrained(folder);
        Assert.Equal(["neu", "hap", "ang", "sad"], model.Labels);
        Assert.Equal(fixture != "tiny-seqcls-layer", model.UseWeightedLayerSum);
        HeadParity.AloneAndBatched(folder, model.Backbone.Preprocessing, model.Forward, Tolerance);
    }

    [Fact]
    public void HiddenStates_AreEachLayersInputThenTheLastState()
    {
        using var backbone = Wav2Vec2Model.FromPretrained(Folder("tiny-seqcls-layer"));
        backbone.OutputHiddenStates = true;
        using var _ = no_grad();
        using var batch = WaveformBatch.Create([AudioLoader.LoadMono(Path.Combine(Folder("tiny-seqcls-layer"), "a.wav"))], backbone.Preprocessing);
        using var output = backbone.Forward(batch);
        Assert.Equal(backbone.Config.NumHiddenLayers + 1, output.HiddenStates!.Count);
        Assert.True(output.HiddenStates[^1].equal(output.LastHiddenState).all().item<bool>());
        backbone.OutputHiddenStates = false;
        using var without = backbone.Forward(batch);
        Assert.Null(without.HiddenStates);
    }

    [Fact]
    public void FromPretrained_UnsupportedBackboneKinds_AreRefusedByName()
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(Folder("tiny-hubert-seqcls"))) File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        var configPath = Path.Combine(dir.Path, "config.json");
        var config = File.ReadAllText(configPath);

        File.WriteAllText(configPath, config.Replace("\"model_type\": \"hubert\"", "\"model_type\": \"data2vec-audio\""));
        Assert.Contains("model_type 'data2vec-audio' is not supported (wav2vec2, hubert and wavlm are)",
            Assert.Throws<InvalidDataException>(() => Wav2Vec2ForSequenceClassification.FromPretrained(dir.Path)).Message);
        File.WriteAllText(configPath, config.Replace("\"feat_proj_layer_norm\": true", "\"feat_proj_layer_norm\": false"));
        Assert.Contains("feat_proj_layer_norm", Assert.Throws<InvalidDataException>(() => Wav2Vec2ForSequenceClassification.FromPretrained(dir.Path)).Message);
    }

    [Fact]
    public void FromPretrained_NotASequenceClassifier_SaysSo()
    {
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2ForSequenceClassification.FromPretrained(Folder("tiny-layer")));
        Assert.Contains("includes neither Wav2Vec2ForSequenceClassification nor HubertForSequenceClassification nor WavLMForSequenceClassification", e.Message);
    }
}

/// <summary>Fine-tuning starts from a sequence classifier's backbone: SerMtlModel keeps it and drops the HF head.</summary>
public class SequenceClassifierBackboneTests
{
    [Theory]
    [InlineData("tiny-seqcls-group")]
    [InlineData("tiny-hubert-seqcls")]
    public void SerMtlModel_FromASequenceClassifier_HasItsBackboneWeights(string fixture)
    {
        var folder = Path.Combine(TestPaths.Fixtures, "wav2vec2", fixture);
        using var classifier = Wav2Vec2ForSequenceClassification.FromPretrained(folder);
        using var model = SerMtlModel.FromPretrained(folder, new SerMtlModelOptions { Labels = ["a", "b"] });
        var expected = classifier.Backbone.state_dict();
        var actual = model.Backbone.state_dict();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, value) in expected)
            Assert.True(value.equal(actual[key]).all().item<bool>(), key);
    }
}
