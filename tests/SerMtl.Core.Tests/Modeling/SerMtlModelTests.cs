using SerMtl.Checkpoints;
using SerMtl.Data.Audio;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

public class SerMtlModelTests
{
    private static readonly string[] FourLabels = ["neutral", "happy", "angry", "sad"];

    private static float[][] FixtureWaves(string dir) =>
        new[] { "a", "b", "c" }.Select(s => AudioLoader.LoadMono(Path.Combine(dir, s + ".wav"))).ToArray();

    [Fact]
    public void StateDict_UsesWav2Vec2ForCtcNamesPlusEmotionHead()
    {
        using var model = SerMtlModel.FromPretrained(TestPaths.TinyGroup, new SerMtlModelOptions { Labels = FourLabels });
        var keys = model.state_dict().Keys.ToList();
        Assert.Contains("wav2vec2.encoder.pos_conv_embed.conv.weight_g", keys);
        Assert.Contains("lm_head.weight", keys);
        Assert.Contains("lm_head.bias", keys);
        Assert.Contains("emotion_head.weight", keys);
        Assert.All(keys, k => Assert.True(k.StartsWith("wav2vec2.") || k.StartsWith("lm_head.") || k.StartsWith("emotion_head."), k));
        Assert.Equal(new long[] { 4, 32 }, model.state_dict()["emotion_head.weight"].shape);
    }

    [Fact]
    public void FromPretrained_CheckpointWithLmHead_CtcHeadReproducesReferenceLogits()
    {
        var dir = Path.Combine(TestPaths.Fixtures, "wav2vec2", "tiny-layer");
        using var model = SerMtlModel.FromPretrained(dir, new SerMtlModelOptions { Labels = FourLabels });
        model.eval();
        var expected = SafeTensors.Read(Path.Combine(dir, "expected.safetensors"));
        using var _ = no_grad();
        foreach (var (stem, wave) in new[] { "a", "b", "c" }.Zip(FixtureWaves(dir)))
        {
            using var batch = WaveformBatch.Create([wave], model.Backbone.Preprocessing);
            using var output = model.Forward(batch);
            var diff = (output.CtcLogits[0] - expected[stem + ".logits"]).abs().max().item<float>();
            Assert.True(diff <= 1e-4, $"{stem}: max |diff| {diff}");
        }
        foreach (var t in expected.Values) t.Dispose();
    }

    [Fact]
    public void SaveLoad_RoundTrip_GivesIdenticalOutputs()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sermtl-model-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var model = SerMtlModel.FromPretrained(TestPaths.TinyGroup, new SerMtlModelOptions { Labels = FourLabels, Pooling = Pooling.Mean });
            model.eval();
            model.Save(dir);
            using var loaded = SerMtlModel.Load(dir);
            Assert.Equal(FourLabels, loaded.Labels);
            Assert.Equal(Pooling.Mean, loaded.Pooling);
            Assert.Equal(model.Vocabulary.Tokens, loaded.Vocabulary.Tokens);

            using var _ = no_grad();
            using var batch = WaveformBatch.Create(FixtureWaves(TestPaths.TinyGroup), model.Backbone.Preprocessing);
            using var a = model.Forward(batch);
            using var b = loaded.Forward(batch);
            Assert.True(a.EmotionLogits.equal(b.EmotionLogits).all().item<bool>());
            Assert.True(a.CtcLogits.equal(b.CtcLogits).all().item<bool>());

            // The backbone half stays loadable as a plain wav2vec2 checkpoint (the wav2vec2. prefix, lm_head).
            using var backbone = Wav2Vec2Model.FromPretrained(dir, out var lmHead);
            Assert.NotNull(lmHead);
            foreach (var t in lmHead!.Values) t.Dispose();
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Load_PlainBackboneDirectory_SaysItIsNotASerMtlModel()
    {
        var e = Assert.Throws<InvalidDataException>(() => SerMtlModel.Load(TestPaths.TinyGroup));
        Assert.Contains("not a SerMtl model", e.Message);
        Assert.Contains("FromPretrained", e.Message);
    }

    [Fact]
    public void Load_MissingDirectory_NamesIt()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => SerMtlModel.Load("/nonexistent/sermtl-model"));
        Assert.Contains("/nonexistent/sermtl-model", e.Message);
    }

    [Fact]
    public void Constructor_DuplicateLabels_Throws()
    {
        using var backbone = Wav2Vec2Model.FromPretrained(TestPaths.TinyGroup);
        var e = Assert.Throws<ArgumentException>(() => new SerMtlModel(backbone, ["sad", "sad"]));
        Assert.Contains("sad", e.Message);
    }
}
