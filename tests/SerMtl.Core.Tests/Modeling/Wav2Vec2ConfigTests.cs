using SerMtl.Modeling;

namespace SerMtl.Tests.Modeling;

public class Wav2Vec2ConfigTests
{
    private static string TinyGroupJson => File.ReadAllText(Path.Combine(TestPaths.TinyGroup, "config.json"));

    [Fact]
    public void FromJsonFile_TinyGroupConfig_ReadsEveryArchitectureField()
    {
        var c = Wav2Vec2Config.FromJsonFile(Path.Combine(TestPaths.TinyGroup, "config.json"));
        Assert.Equal(Enumerable.Repeat(16, 7), c.ConvDim);
        Assert.Equal(new[] { 10, 3, 3, 3, 3, 2, 2 }, c.ConvKernel);
        Assert.Equal(new[] { 5, 2, 2, 2, 2, 2, 2 }, c.ConvStride);
        Assert.False(c.ConvBias);
        Assert.Equal(FeatureNorm.Group, c.FeatExtractNorm);
        Assert.Equal(Activation.Gelu, c.FeatExtractActivation);
        Assert.False(c.DoStableLayerNorm);
        Assert.Equal((32, 2, 4, 64), (c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize));
        Assert.Equal(Activation.Gelu, c.HiddenAct);
        Assert.Equal(1e-5, c.LayerNormEps);
        Assert.Equal((16, 4), (c.NumConvPosEmbeddings, c.NumConvPosEmbeddingGroups));
        Assert.Equal((0.1, 0.1, 0.0, 0.1, 0.1, 0.1), (c.HiddenDropout, c.AttentionDropout, c.ActivationDropout, c.FeatProjDropout, c.FinalDropout, c.LayerDrop));
        Assert.True(c.ApplySpecAugment);
        Assert.Equal((0.05, 10, 2), (c.MaskTimeProb, c.MaskTimeLength, c.MaskTimeMinMasks));
        Assert.Equal((32, 0), (c.VocabSize, c.PadTokenId));
        Assert.Equal(0.02, c.InitializerRange);
    }

    [Fact]
    public void ToJson_ThenFromJson_GivesTheSameConfigInHfSpelling()
    {
        var original = Wav2Vec2Config.Large with { HiddenAct = Activation.GeluTanh, LayerDrop = 0.05 };
        var json = original.ToJson();
        Assert.Contains("\"feat_extract_norm\": \"layer\"", json);
        Assert.Contains("\"hidden_act\": \"gelu_new\"", json);
        Assert.Contains("\"do_stable_layer_norm\": true", json);
        Assert.Contains("\"model_type\": \"wav2vec2\"", json);
        var parsed = Wav2Vec2Config.FromJson(json);
        Assert.Equal(json, parsed.ToJson());
        Assert.Equal(original.ConvDim, parsed.ConvDim);
    }

    [Fact]
    public void Presets_BaseAndLarge_HaveTheirArchitectures()
    {
        var b = Wav2Vec2Config.Base;
        Assert.Equal((FeatureNorm.Group, false, false, 768, 12, 12, 3072), (b.FeatExtractNorm, b.ConvBias, b.DoStableLayerNorm, b.HiddenSize, b.NumHiddenLayers, b.NumAttentionHeads, b.IntermediateSize));
        var l = Wav2Vec2Config.Large;
        Assert.Equal((FeatureNorm.Layer, true, true, 1024, 24, 16, 4096), (l.FeatExtractNorm, l.ConvBias, l.DoStableLayerNorm, l.HiddenSize, l.NumHiddenLayers, l.NumAttentionHeads, l.IntermediateSize));
        b.Validate();
        l.Validate();
    }

    [Theory]
    [InlineData(399, 0)]
    [InlineData(400, 1)]
    [InlineData(16000, 49)]
    [InlineData(80000, 249)]
    public void OutputLength_BaseLayout_FollowsTheConvolutionFormula(long samples, long frames)
    {
        Assert.Equal(frames, Wav2Vec2Config.Base.OutputLength(samples));
        Assert.Equal(400, Wav2Vec2Config.Base.ReceptiveField);
        Assert.Equal(320, Wav2Vec2Config.Base.SamplesPerFrame);
    }

    [Fact]
    public void FromJson_UnequalConvLists_ThrowsNamingTheLengths()
    {
        var json = TinyGroupJson.Replace("\"conv_kernel\": [\n    10,", "\"conv_kernel\": [\n");
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Config.FromJson(json, "x/config.json"));
        Assert.Contains("x/config.json", e.Message);
        Assert.Contains("conv_dim, conv_kernel and conv_stride must have equal length, found 7, 6 and 7", e.Message);
    }

    [Fact]
    public void FromJson_HiddenSizeNotDivisibleByHeads_Throws()
    {
        var json = TinyGroupJson.Replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Config.FromJson(json));
        Assert.Contains("hidden_size 32 is not divisible by num_attention_heads 5", e.Message);
    }

    [Fact]
    public void FromJson_UnknownActivation_ThrowsNamingFieldAndValue()
    {
        var json = TinyGroupJson.Replace("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"mish\"");
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Config.FromJson(json, "m/config.json"));
        Assert.Contains("m/config.json", e.Message);
        Assert.Contains("hidden_act", e.Message);
        Assert.Contains("\"mish\"", e.Message);
    }

    [Fact]
    public void FromJson_UnknownFeatureNorm_ThrowsNamingFieldAndChoices()
    {
        var json = TinyGroupJson.Replace("\"feat_extract_norm\": \"group\"", "\"feat_extract_norm\": \"batch\"");
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Config.FromJson(json));
        Assert.Contains("feat_extract_norm", e.Message);
        Assert.Contains("expected \"group\" or \"layer\", found \"batch\"", e.Message);
    }

    [Fact]
    public void FromJson_WrongType_ThrowsNamingTheField()
    {
        var json = TinyGroupJson.Replace("\"hidden_size\": 32", "\"hidden_size\": \"32\"");
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Config.FromJson(json));
        Assert.Contains("hidden_size", e.Message);
    }

    [Fact]
    public void Validate_OutOfRangeValues_ListsEveryProblem()
    {
        var config = Wav2Vec2Config.Base with { HiddenDropout = 1.5, ConvStride = [5, 2, 2, 2, 2, 2, 0], AddAdapter = true };
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains("hidden_dropout must be in [0, 1), found 1.5", e.Message);
        Assert.Contains("conv_stride[6] must be > 0, found 0", e.Message);
        Assert.Contains("add_adapter is true", e.Message);
    }

    [Fact]
    public void FromJson_ImplausiblyLargeSizes_FailBeforeAnyAllocation()
    {
        var json = TinyGroupJson.Replace("\"hidden_size\": 32", "\"hidden_size\": 2000000000");
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Config.FromJson(json));
        Assert.Contains("hidden_size is 2000000000, more than the supported 65536", e.Message);
    }

    [Fact]
    public void FromJson_MalformedJson_ThrowsNamingTheSource()
    {
        var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Config.FromJson("{\"hidden_size\": 32,", "bad/config.json"));
        Assert.StartsWith("bad/config.json: ", e.Message);
    }

    [Fact]
    public void FromJsonFile_MissingFile_ThrowsFileNotFound()
    {
        var path = Path.Combine(Path.GetTempPath(), "sermtl-no-such-dir", "config.json");
        var e = Assert.Throws<FileNotFoundException>(() => Wav2Vec2Config.FromJsonFile(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void FeatureExtractorConfig_FromFixture_ReadsNormalisationAndRate()
    {
        var c = FeatureExtractorConfig.FromJsonFile(Path.Combine(TestPaths.TinyGroup, "preprocessor_config.json"));
        Assert.True(c.DoNormalize);
        Assert.Equal(16000, c.SamplingRate);
        Assert.Equal(0f, c.PaddingValue);
        Assert.Contains("\"feature_extractor_type\": \"Wav2Vec2FeatureExtractor\"", c.ToJson());
    }

    [Fact]
    public void FeatureExtractorConfig_MultiChannelFeatures_Throws()
    {
        var e = Assert.Throws<InvalidDataException>(() => FeatureExtractorConfig.FromJson("{\"feature_size\": 80}", "p.json"));
        Assert.Contains("p.json: invalid feature extractor config: feature_size must be 1", e.Message);
    }
}
