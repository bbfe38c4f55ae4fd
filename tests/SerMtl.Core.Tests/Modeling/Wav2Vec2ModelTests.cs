using SerMtl.Checkpoints;
using SerMtl.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

public class Wav2Vec2ModelTests
{
    private static Wav2Vec2Config TinyGroup => Wav2Vec2Config.FromJsonFile(Path.Combine(TestPaths.TinyGroup, "config.json"));

    private static Wav2Vec2Config TinyLayer => TinyGroup with { FeatExtractNorm = FeatureNorm.Layer, ConvBias = true, DoStableLayerNorm = true };

    /// <summary>Random waveforms of very different lengths, shortest at the receptive field.</summary>
    private static float[][] Waveforms(int seed, params int[] lengths)
    {
        var rng = new Random(seed);
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    [Fact]
    public void StateDict_FreshGroupNormModel_HasExactlyTheCheckpointKeysAndShapes()
    {
        using var model = new Wav2Vec2Model(TinyGroup);
        var checkpoint = SafeTensors.Read(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        try
        {
            var keys = model.state_dict();
            Assert.Equal(checkpoint.Keys.Order(StringComparer.Ordinal), keys.Keys.Order(StringComparer.Ordinal));
            foreach (var (k, t) in keys) Assert.True(checkpoint[k].shape.SequenceEqual(t.shape), k);
        }
        finally
        {
            foreach (var t in checkpoint.Values) t.Dispose();
        }
    }

    [Fact]
    public void StateDict_LayerNormModel_HasConvBiasAndLayerNormInEveryConvolution()
    {
        using var model = new Wav2Vec2Model(TinyLayer);
        var keys = model.state_dict();
        for (var i = 0; i < 7; i++)
        {
            Assert.Equal(new long[] { 16 }, keys[$"feature_extractor.conv_layers.{i}.conv.bias"].shape);
            Assert.Equal(new long[] { 16 }, keys[$"feature_extractor.conv_layers.{i}.layer_norm.weight"].shape);
            Assert.Equal(new long[] { 16 }, keys[$"feature_extractor.conv_layers.{i}.layer_norm.bias"].shape);
        }
        // Otherwise the group-norm model's keys: + 6 more conv norms x 2 + 7 conv biases.
        using var groupModel = new Wav2Vec2Model(TinyGroup);
        var groupKeys = groupModel.state_dict().Keys;
        Assert.Equal(groupKeys.Count + 12 + 7, keys.Count);
        Assert.All(groupKeys, k => Assert.Contains(k, keys.Keys));
    }

    [Fact]
    public void StateDict_WithoutSpecAugment_HasNoMaskedSpecEmbed()
    {
        using var model = new Wav2Vec2Model(TinyGroup with { MaskTimeProb = 0, MaskFeatureProb = 0 });
        Assert.DoesNotContain("masked_spec_embed", model.state_dict().Keys);
    }

    [Fact]
    public void Constructor_InitialisesNormsToIdentityAndEverythingFinite()
    {
        using var model = new Wav2Vec2Model(TinyGroup);
        var sd = model.state_dict();
        Assert.Equal(1f, sd["feature_extractor.conv_layers.0.layer_norm.weight"].min().item<float>());
        Assert.Equal(1f, sd["feature_extractor.conv_layers.0.layer_norm.weight"].max().item<float>());
        Assert.Equal(0f, sd["feature_extractor.conv_layers.0.layer_norm.bias"].abs().max().item<float>());
        foreach (var (k, t) in sd) Assert.True(t.isfinite().all().item<bool>(), k);
        // Weight norm starts as the identity reparametrisation: g = ||v|| per kernel position.
        var g = sd["encoder.pos_conv_embed.conv.weight_g"];
        var v = sd["encoder.pos_conv_embed.conv.weight_v"];
        TensorAssert.Close(v.square().sum([0, 1], keepdim: true).sqrt(), g, 1e-6, "weight_g");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Forward_PaddedBatch_EqualsEachUtteranceAlone(bool layerNormModel)
    {
        manual_seed(11);
        using var model = new Wav2Vec2Model(layerNormModel ? TinyLayer : TinyGroup);
        model.eval();
        // Make the norms non-trivial, as in a trained model.
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("norm")) p.add_(randn_like(p) * 0.3);
        var waves = Waveforms(1, 16000, 400, 7013, 2450);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var batch = WaveformBatch.Create(waves, model.Preprocessing);
        using var output = model.Forward(batch);
        var frames = output.FrameLengths.data<long>().ToArray();
        Assert.Equal(new long[] { 49, 1, 21, 7 }, frames);
        for (var i = 0; i < waves.Length; i++)
        {
            using var aloneBatch = WaveformBatch.Create([waves[i]], model.Preprocessing);
            using var alone = model.Forward(aloneBatch);
            TensorAssert.Close(alone.ExtractFeatures[0], output.ExtractFeatures[i].narrow(0, 0, frames[i]), 1e-4, $"conv features {i}");
            TensorAssert.Close(alone.LastHiddenState[0], output.LastHiddenState[i].narrow(0, 0, frames[i]), 1e-4, $"last hidden state {i}");
        }

        // The comparison is not vacuous: treating the padding as signal changes the short utterances a lot.
        using var unmasked = model.call(batch.Waveforms, null);
        using var shortAlone = model.Forward(WaveformBatch.Create([waves[3]], model.Preprocessing));
        using var diff = (shortAlone.LastHiddenState[0] - unmasked.LastHiddenState[3].narrow(0, 0, frames[3])).abs().max();
        Assert.True(diff.item<float>() > 1e-2, $"padding ignored by lengths=null? diff {diff.item<float>()}");
    }

    [Fact]
    public void Forward_NaNInThePadding_DoesNotReachValidFrames()
    {
        manual_seed(12);
        using var model = new Wav2Vec2Model(TinyGroup);
        model.eval();
        var waves = Waveforms(8, 9000, 3100);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var batch = WaveformBatch.Create(waves, model.Preprocessing);
        var dirty = batch.Waveforms.clone();
        dirty[1, 3100..] = tensor(float.NaN);
        using var output = model.call(dirty, batch.Lengths);
        using var clean = model.Forward(batch);
        var frames = output.FrameLengths.data<long>().ToArray();
        for (var i = 0; i < 2; i++)
            TensorAssert.Close(clean.LastHiddenState[i].narrow(0, 0, frames[i]), output.LastHiddenState[i].narrow(0, 0, frames[i]), 1e-6, $"utterance {i}");
    }

    [Fact]
    public void Forward_PaddedBatchOnCpu_RunsTheFeatureEncoderPerUtteranceAndZeroesPaddedFrames()
    {
        manual_seed(13);
        using var model = new Wav2Vec2Model(TinyGroup);
        model.eval();
        // Long enough that the first layer's output (3 x 16 channels x 90 000 frames) passes the per-utterance threshold.
        var waves = Waveforms(9, 450000, 150000, 300000);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var batch = WaveformBatch.Create(waves, model.Preprocessing);
        using var output = model.Forward(batch);
        var frames = output.FrameLengths.data<long>().ToArray();
        Assert.Equal(output.ExtractFeatures.shape[1], frames[0]);
        for (var i = 1; i < waves.Length; i++)
        {
            var padding = output.ExtractFeatures[i].narrow(0, frames[i], frames[0] - frames[i]);
            Assert.Equal(0f, padding.abs().max().item<float>());
        }
    }

    [Fact]
    public void Forward_Eval_IsDeterministicDespiteDropoutLayerDropAndSpecAugment()
    {
        var config = TinyGroup with { HiddenDropout = 0.5, AttentionDropout = 0.5, ActivationDropout = 0.5, FeatProjDropout = 0.5, LayerDrop = 0.5, MaskTimeProb = 0.5, MaskFeatureProb = 0.5 };
        using var model = new Wav2Vec2Model(config);
        using var batch = WaveformBatch.Create(Waveforms(2, 8000, 5000));
        using var _ = no_grad();
        model.eval();
        using (var a = model.Forward(batch))
        using (var b = model.Forward(batch))
            TensorAssert.Close(a.LastHiddenState, b.LastHiddenState, 0, "two eval runs");
        model.train();
        using (var a = model.Forward(batch))
        using (var b = model.Forward(batch))
        using (var diff = (a.LastHiddenState - b.LastHiddenState).abs().max())
            Assert.True(diff.item<float>() > 1e-3, "training runs should differ (dropout, layerdrop, masking)");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_TrainingModePaddedBatch_GivesFiniteGradientsToEveryParameter(bool layerNormModel)
    {
        manual_seed(3);
        using var model = new Wav2Vec2Model((layerNormModel ? TinyLayer : TinyGroup) with { LayerDrop = 0, MaskTimeMinMasks = 2, MaskTimeLength = 3 });
        model.train();
        using var batch = WaveformBatch.Create(Waveforms(4, 9000, 6000));
        using var scope = NewDisposeScope();
        using var output = model.Forward(batch);
        var valid = (arange(output.LastHiddenState.shape[1]).unsqueeze(0) < output.FrameLengths.unsqueeze(1)).unsqueeze(-1);
        var loss = output.LastHiddenState.masked_fill(valid.logical_not(), 0).square().mean();
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name} has no gradient");
            Assert.True(p.grad!.isfinite().all().item<bool>(), $"{name} has a non-finite gradient");
        }
        Assert.Contains(model.named_parameters(), np => np.parameter.grad!.abs().max().item<float>() > 0);
    }

    [Fact]
    public void Training_FreshModelWithAdam_ReducesASimpleLoss()
    {
        manual_seed(21);
        using var model = new Wav2Vec2Model(TinyGroup with { HiddenDropout = 0, AttentionDropout = 0, FeatProjDropout = 0, LayerDrop = 0, ApplySpecAugment = false });
        model.train();
        using var batch = WaveformBatch.Create(Waveforms(9, 6000, 4000));
        using var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
        float Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            using var output = model.Forward(batch);
            // Pull every valid frame's first channel towards 1.
            var valid = arange(output.LastHiddenState.shape[1]).unsqueeze(0) < output.FrameLengths.unsqueeze(1);
            var loss = (output.LastHiddenState[.., .., 0] - 1).square().masked_select(valid).mean();
            loss.backward();
            optimizer.step();
            return loss.item<float>();
        }
        var first = Step();
        for (var i = 0; i < 15; i++) Step();
        var last = Step();
        Assert.True(last < 0.5 * first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void FreezeFeatureEncoder_Training_LeavesNoGradientsOnTheFeatureEncoder()
    {
        using var model = new Wav2Vec2Model(TinyGroup with { LayerDrop = 0 });
        model.FreezeFeatureEncoder();
        Assert.True(model.IsFeatureEncoderFrozen);
        model.train();
        using var batch = WaveformBatch.Create(Waveforms(5, 7000, 3000));
        using var scope = NewDisposeScope();
        using var output = model.Forward(batch);
        Assert.False(output.ExtractFeatures.requires_grad);
        output.LastHiddenState.sum().backward();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.StartsWith("feature_extractor.", StringComparison.Ordinal))
            {
                Assert.False(p.requires_grad, name);
                Assert.Null(p.grad);
            }
            else
            {
                Assert.NotNull(p.grad);
            }
        }
    }

    [Fact]
    public void OutputLengths_Tensor_MatchesTheConfigFormula()
    {
        using var model = new Wav2Vec2Model(TinyGroup);
        long[] samples = [0, 399, 400, 401, 12321, 16000, 20800];
        using var lengths = model.OutputLengths(tensor(samples));
        Assert.Equal(samples.Select(model.Config.OutputLength), lengths.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 1, 1, 38, 49, 64 }, lengths.data<long>().ToArray());
    }

    [Fact]
    public void Forward_BadInput_ThrowsSayingWhatWasExpected()
    {
        using var model = new Wav2Vec2Model(TinyGroup);
        using var scope = NewDisposeScope();
        var tooShort = Assert.Throws<ArgumentException>(() => model.call(zeros(2, 1000), tensor(new long[] { 1000, 399 })));
        Assert.Contains("utterance 1 has 399 samples; the feature encoder needs at least 400", tooShort.Message);
        var outOfRange = Assert.Throws<ArgumentException>(() => model.call(zeros(2, 1000), tensor(new long[] { 1001, 500 })));
        Assert.Contains("lengths[0] = 1001 is outside [1, 1000]", outOfRange.Message);
        var wrongRank = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 1, 1000), null));
        Assert.Contains("[batch, samples], got shape [1, 1, 1000]", wrongRank.Message);
        var wrongLengths = Assert.Throws<ArgumentException>(() => model.call(zeros(2, 1000), tensor(new long[] { 1000 })));
        Assert.Contains("lengths must be [batch] = [2]", wrongLengths.Message);
    }

    [Fact]
    public void ToFloat64_MovesEveryParameterIncludingMaskedSpecEmbed()
    {
        using var model = new Wav2Vec2Model(TinyGroup with { MaskTimeProb = 0.5, MaskTimeLength = 2 });
        model.to(ScalarType.Float64);
        model.train();
        using var scope = NewDisposeScope();
        using var output = model.call(randn(2, 4000, dtype: ScalarType.Float64), tensor(new long[] { 4000, 2000 }));
        Assert.Equal(ScalarType.Float64, output.LastHiddenState.dtype);
    }

    [Fact]
    public void Embed_ResultsDoNotDependOnBatchSizeAndKeepInputOrder()
    {
        manual_seed(5);
        using var model = new Wav2Vec2Model(TinyGroup);
        model.train();
        var waves = Waveforms(6, 3000, 9000, 400, 5000, 1234);
        var one = model.Embed(waves, batchSize: 1);
        var all = model.Embed(waves, batchSize: 8);
        var two = model.Embed(waves, batchSize: 2);
        Assert.True(model.training, "Embed restores the training mode");
        for (var i = 0; i < waves.Length; i++)
        {
            Assert.Equal(new[] { model.Config.OutputLength(waves[i].Length), 32L }, one[i].shape);
            TensorAssert.Close(one[i], all[i], 1e-5, $"utterance {i}, batch 8");
            TensorAssert.Close(one[i], two[i], 1e-5, $"utterance {i}, batch 2");
        }
        foreach (var t in one.Concat(all).Concat(two)) t.Dispose();
    }

    [Fact]
    public void FromPretrained_TinyGroup_LoadsInEvalModeWithItsPreprocessingAndNoLmHead()
    {
        using var model = Wav2Vec2Model.FromPretrained(TestPaths.TinyGroup, out var lmHead);
        Assert.False(model.training);
        Assert.Null(lmHead);
        Assert.True(model.Preprocessing.DoNormalize);
        Assert.Equal(32, model.Config.HiddenSize);
    }

    [Fact]
    public void FromPretrained_ConfigureWithoutSpecAugment_IgnoresTheCheckpointMaskEmbedding()
    {
        using var model = Wav2Vec2Model.FromPretrained(TestPaths.TinyGroup, new Wav2Vec2LoadOptions
        {
            Configure = c => c with { MaskTimeProb = 0, MaskFeatureProb = 0 },
        });
        Assert.DoesNotContain("masked_spec_embed", model.state_dict().Keys);
    }

    [Fact]
    public void FromPretrained_CtcCheckpointWithPrefix_ReturnsTheLmHead()
    {
        var dir = CopyFixtureWithWeights(raw =>
        {
            var result = raw.ToDictionary(kv => "wav2vec2." + kv.Key, kv => kv.Value);
            result["lm_head.weight"] = ones(32, 32);
            result["lm_head.bias"] = zeros(32);
            return result;
        });
        try
        {
            using var model = Wav2Vec2Model.FromPretrained(dir, out var lmHead);
            Assert.NotNull(lmHead);
            Assert.Equal(new long[] { 32, 32 }, lmHead!["weight"].shape);
            Assert.Equal(new long[] { 32 }, lmHead["bias"].shape);
            foreach (var t in lmHead.Values) t.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FromPretrained_ShapeMismatch_ThrowsNamingFileKeyAndBothShapes()
    {
        var dir = CopyFixtureWithWeights(raw =>
        {
            raw["encoder.layers.1.attention.q_proj.weight"] = zeros(32, 16);
            return raw;
        });
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => Wav2Vec2Model.FromPretrained(dir));
            Assert.Contains("model.safetensors", e.Message);
            Assert.Contains("'encoder.layers.1.attention.q_proj.weight' has shape [32, 16], expected [32, 32]", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FromPretrained_MissingPieces_ThrowClearErrors()
    {
        var missingDir = Path.Combine(Path.GetTempPath(), "sermtl-missing-" + Guid.NewGuid());
        Assert.Throws<DirectoryNotFoundException>(() => Wav2Vec2Model.FromPretrained(missingDir));
        var e = Assert.Throws<FileNotFoundException>(() => Wav2Vec2Model.FromPretrained(TestPaths.TinyGroup, new Wav2Vec2LoadOptions { WeightsFile = "nope.safetensors" }));
        Assert.Contains("nope.safetensors: weights file not found", e.Message);
    }

    /// <summary>A temporary copy of tiny-group whose model.safetensors is rewritten through <paramref name="edit"/>.</summary>
    private static string CopyFixtureWithWeights(Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> edit)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sermtl-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var name in new[] { "config.json", "preprocessor_config.json" })
            File.Copy(Path.Combine(TestPaths.TinyGroup, name), Path.Combine(dir, name));
        var raw = SafeTensors.Read(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        var edited = edit(raw);
        TestSafeTensors.WriteFloat32(Path.Combine(dir, "model.safetensors"), edited);
        foreach (var t in raw.Values.Concat(edited.Values).Distinct(ReferenceEqualityComparer.Instance)) ((Tensor)t!).Dispose();
        return dir;
    }
}
