using SerMtl.Checkpoints;
using TorchSharp;
using static SerMtl.Tests.Checkpoints.CheckpointTestKit;
using static TorchSharp.torch;

namespace SerMtl.Tests.Checkpoints;

public class Wav2Vec2KeyMapTests
{
    [Fact]
    public void Map_UnprefixedModelCheckpoint_KeepsEveryKeyAsIs()
    {
        var raw = SafeTensors.Read(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        try
        {
            var mapped = Wav2Vec2KeyMap.Map(raw);
            Assert.Equal(raw.Keys.Order(), mapped.Backbone.Keys.Order());
            Assert.All(raw, kv => Assert.Same(kv.Value, mapped.Backbone[kv.Key]));
            Assert.Null(mapped.LmHead);
            Assert.Empty(mapped.Skipped);
        }
        finally
        {
            DisposeAll(raw);
        }
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("pytorch_model.bin")]
    public void Map_TinyLayerCtcCheckpoint_StripsPrefixRenamesWeightNormSplitsHeadSkipsLeftovers(string file)
    {
        var raw = CheckpointFiles.Read(Fixture("wav2vec2", "tiny-layer", file));
        try
        {
            var mapped = Wav2Vec2KeyMap.Map(raw, file);
            Assert.All(mapped.Backbone.Keys, k => Assert.False(k.StartsWith("wav2vec2.", StringComparison.Ordinal), k));
            Assert.Same(raw["wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0"], mapped.Backbone["encoder.pos_conv_embed.conv.weight_g"]);
            Assert.Same(raw["wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1"], mapped.Backbone["encoder.pos_conv_embed.conv.weight_v"]);
            Assert.Equal(new long[] { 1, 1, 16 }, mapped.Backbone["encoder.pos_conv_embed.conv.weight_g"].shape);
            // layer norm in every conv layer, with conv bias
            for (var i = 0; i < 7; i++)
            {
                Assert.Contains($"feature_extractor.conv_layers.{i}.layer_norm.weight", mapped.Backbone.Keys);
                Assert.Contains($"feature_extractor.conv_layers.{i}.conv.bias", mapped.Backbone.Keys);
            }
            // 7 conv layers x (weight, bias, norm weight, norm bias), feature projection 4, positional conv 3 (bias, g, v),
            // encoder norm 2, 2 layers x 16, masked_spec_embed
            Assert.Equal(7 * 4 + 4 + 3 + 2 + 2 * 16 + 1, mapped.Backbone.Count);
            Assert.NotNull(mapped.LmHead);
            Assert.Equal(["bias", "weight"], mapped.LmHead!.Keys.Order());
            Assert.Equal(new long[] { 32, 32 }, mapped.LmHead["weight"].shape);
            Assert.Equal(
                ["project_hid.bias", "project_hid.weight", "project_q.bias", "project_q.weight", "quantizer.codevectors", "quantizer.weight_proj.bias", "quantizer.weight_proj.weight"],
                mapped.Skipped.Order());
        }
        finally
        {
            DisposeAll(raw);
        }
    }

    [Fact]
    public void Map_SequenceClassificationCheckpoint_SkipsAndReportsItsHead()
    {
        using var scope = NewDisposeScope();
        var raw = new Dictionary<string, Tensor>
        {
            ["wav2vec2.encoder.layer_norm.weight"] = ones(4),
            ["projector.weight"] = ones(2, 4),
            ["projector.bias"] = ones(2),
            ["classifier.weight"] = ones(3, 2),
            ["classifier.bias"] = ones(3),
            ["layer_weights"] = ones(3),
        };
        var mapped = Wav2Vec2KeyMap.Map(raw);
        Assert.Equal(["encoder.layer_norm.weight"], mapped.Backbone.Keys);
        Assert.Equal(["classifier.bias", "classifier.weight", "layer_weights", "projector.bias", "projector.weight"], mapped.Skipped.Order());
        Assert.Null(mapped.LmHead);
    }

    [Fact]
    public void Map_PrefixedLeftoversInsideTheBackbone_AreSkippedToo()
    {
        using var scope = NewDisposeScope();
        var mapped = Wav2Vec2KeyMap.Map(new Dictionary<string, Tensor>
        {
            ["wav2vec2.masked_spec_embed"] = ones(4),
            ["wav2vec2.quantizer.codevectors"] = ones(1, 4, 2),
        });
        Assert.Equal(["masked_spec_embed"], mapped.Backbone.Keys);
        Assert.Equal(["wav2vec2.quantizer.codevectors"], mapped.Skipped);
    }

    [Fact]
    public void Map_PrefixedAndUnprefixedBackboneKeys_Throws()
    {
        using var scope = NewDisposeScope();
        var raw = new Dictionary<string, Tensor>
        {
            ["wav2vec2.encoder.layer_norm.weight"] = ones(4),
            ["encoder.layer_norm.bias"] = ones(4),
            ["lm_head.weight"] = ones(2, 4),
        };
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2KeyMap.Map(raw, "ckpt.bin"));
        Assert.Equal("ckpt.bin: backbone keys come both with and without the 'wav2vec2.' prefix (e.g. 'wav2vec2.encoder.layer_norm.weight' and 'encoder.layer_norm.bias'); a checkpoint uses one spelling", e.Message);
    }

    [Fact]
    public void Map_BothWeightNormSpellings_Throws()
    {
        using var scope = NewDisposeScope();
        var raw = new Dictionary<string, Tensor>
        {
            ["encoder.pos_conv_embed.conv.weight_g"] = ones(1, 1, 4),
            ["encoder.pos_conv_embed.conv.parametrizations.weight.original0"] = ones(1, 1, 4),
        };
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2KeyMap.Map(raw, "ckpt"));
        Assert.Equal("ckpt: 'encoder.pos_conv_embed.conv.weight_g' and 'encoder.pos_conv_embed.conv.parametrizations.weight.original0' both give backbone tensor 'encoder.pos_conv_embed.conv.weight_g'", e.Message);
    }

    [Fact]
    public void Map_PrefixedAndUnprefixedSpellingOfOneKey_Throws()
    {
        using var scope = NewDisposeScope();
        var raw = new Dictionary<string, Tensor> { ["masked_spec_embed"] = ones(4), ["wav2vec2.masked_spec_embed"] = ones(4) };
        Assert.Contains("both give backbone tensor 'masked_spec_embed'", Assert.Throws<InvalidDataException>(() => Wav2Vec2KeyMap.Map(raw)).Message);
    }
}
