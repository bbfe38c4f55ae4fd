using SerMtl.Checkpoints;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// WavLM (wav2vec 2.0 with a gated relative position bias) against float64 references from torchaudio 2.6's
/// independent implementation (tests/fixtures/generate_wavlm.py, run in a Debian trixie chroot): a post-LN
/// WavLMForSequenceClassification whose few buckets put the utterances' offsets in the logarithmic and saturated
/// buckets, and a stable-layer-norm WavLMForCTC with the default 320 buckets; each WAV alone and all in one padded batch.
/// </summary>
public class WavLMParityTests
{
    private const double Tolerance = 1e-4;

    private static string Folder(string fixture) => Path.Combine(TestPaths.Fixtures, "wavlm", fixture);

    [Fact]
    public void SequenceClassifier_LogitsAloneAndBatched_MatchTheReference()
    {
        var folder = Folder("tiny-wavlm-seqcls");
        using var model = Wav2Vec2ForSequenceClassification.FromPretrained(folder);
        Assert.Equal("wavlm", model.Backbone.Config.ModelType);
        Assert.Equal(16, model.Backbone.Config.NumBuckets);
        Assert.True(model.UseWeightedLayerSum);
        HeadParity.AloneAndBatched(folder, model.Backbone.Preprocessing, model.Forward, Tolerance);
    }

    [Theory]
    [InlineData("tiny-wavlm-seqcls")]
    [InlineData("tiny-wavlm-ctc")]
    public void LastHiddenState_AloneAndBatched_MatchesTheReference(string fixture)
    {
        var folder = Folder(fixture);
        using var model = Wav2Vec2Model.FromPretrained(folder);
        HeadParity.AloneAndBatched(folder, model.Preprocessing, batch =>
        {
            using var output = model.Forward(batch);
            return output.LastHiddenState.clone();
        }, Tolerance, key: "last_hidden_state", perFrame: true);
    }

    [Fact]
    public void CtcLogits_AloneAndBatched_MatchTheReference()
    {
        var folder = Folder("tiny-wavlm-ctc");
        using var model = Wav2Vec2Model.FromPretrained(folder, out var lmHead);
        Assert.NotNull(lmHead);
        try
        {
            HeadParity.AloneAndBatched(folder, model.Preprocessing, batch =>
            {
                using var output = model.Forward(batch);
                return nn.functional.linear(output.LastHiddenState, lmHead["weight"], lmHead["bias"]);
            }, Tolerance, key: "logits", perFrame: true);
        }
        finally
        {
            foreach (var t in lmHead.Values) t.Dispose();
        }
    }

    [Theory]
    [InlineData(320, 800)]
    [InlineData(16, 20)]
    public void RelativeBuckets_MatchTorchaudiosForOffsetsUpToThreeThousandFrames(int buckets, int distance)
    {
        var reference = SafeTensors.Read(Path.Combine(TestPaths.Fixtures, "wavlm", "relative_buckets.safetensors"));
        try
        {
            var offsets = reference["offsets"].data<long>().ToArray();
            var expected = reference[$"buckets_{buckets}_{distance}"].data<long>().ToArray();
            Assert.Equal(-3000, offsets[0]);
            var actual = SelfAttention.RelativeBuckets(3001, buckets, distance); // offsets -3000..3000
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++)
                Assert.True(expected[i] == actual[i], $"offset {offsets[i]}: bucket {actual[i]}, torchaudio says {expected[i]}");
            Assert.Contains(buckets / 2 - 1, actual); // the saturated bucket is reached
        }
        finally
        {
            foreach (var t in reference.Values) t.Dispose();
        }
    }

    [Fact]
    public void PositionTable_LivesInTheFirstLayerOnly_UnderHFKeys()
    {
        using var model = Wav2Vec2Model.FromPretrained(Folder("tiny-wavlm-seqcls"));
        var keys = model.state_dict().Keys.ToList();
        Assert.Equal(["encoder.layers.0.attention.rel_attn_embed.weight"], keys.Where(k => k.Contains("rel_attn_embed", StringComparison.Ordinal)));
        Assert.Equal(model.Config.NumHiddenLayers, keys.Count(k => k.EndsWith("attention.gru_rel_pos_const", StringComparison.Ordinal)));
        Assert.Equal(model.Config.NumHiddenLayers * 2, keys.Count(k => k.Contains("attention.gru_rel_pos_linear.", StringComparison.Ordinal)));
    }

    [Fact]
    public void Checkpoint_WithoutTheGatedBias_IsRefusedNamingTheMissingTensor()
    {
        // A wav2vec2 checkpoint under a WavLM config: the strict loader names what is missing.
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(TestPaths.TinyGroup)) File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        var configPath = Path.Combine(dir.Path, "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"model_type\": \"wav2vec2\"", "\"model_type\": \"wavlm\""));
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Model.FromPretrained(dir.Path));
        Assert.Contains("rel_attn_embed", e.Message);
    }
}
