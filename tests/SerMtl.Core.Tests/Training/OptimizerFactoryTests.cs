using SerMtl.Modeling;
using SerMtl.Training;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Tests.Training;

public class OptimizerFactoryTests
{
    [Theory]
    [InlineData("encoder.layers.0.attention.q_proj.weight", false)]
    [InlineData("encoder.layers.0.attention.q_proj.bias", true)]
    [InlineData("encoder.layers.0.layer_norm.weight", true)]
    [InlineData("encoder.layers.0.final_layer_norm.weight", true)]
    [InlineData("feature_extractor.conv_layers.0.layer_norm.weight", true)]
    [InlineData("feature_extractor.conv_layers.0.conv.weight", false)]
    [InlineData("encoder.pos_conv_embed.conv.weight_g", false)]
    [InlineData("masked_spec_embed", true)]
    [InlineData("wav2vec2.masked_spec_embed", true)]
    [InlineData("lm_head.weight", false)]
    public void IsExcludedFromWeightDecay_ByName(string name, bool excluded)
    {
        Assert.Equal(excluded, OptimizerFactory.IsExcludedFromWeightDecay(name));
    }

    [Fact]
    public void SplitForWeightDecay_PartitionsTrainableParametersExactly()
    {
        using var model = new ToyModel();
        var (decay, noDecay) = OptimizerFactory.SplitForWeightDecay(model);
        Assert.Equal(new[] { "encoder.q_proj.weight", "lm_head.weight" }, decay.Select(p => p.Name).Order());
        Assert.Equal(
            new[] { "encoder.final_layer_norm.bias", "encoder.final_layer_norm.weight", "encoder.q_proj.bias", "layer_norm.bias", "layer_norm.weight", "lm_head.bias", "masked_spec_embed" },
            noDecay.Select(p => p.Name).Order());
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).Order();
        Assert.Equal(trainable, decay.Concat(noDecay).Select(p => p.Name).Order());
        Assert.DoesNotContain("frozen.weight", decay.Concat(noDecay).Select(p => p.Name));
    }

    [Fact]
    public void AdamW_DecaysOnlyTheDecayGroup()
    {
        using var model = new ToyModel();
        using var optimizer = OptimizerFactory.AdamW(model, learningRate: 0.1, betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0.5);
        Assert.Equal(2, optimizer.ParamGroups.Count());
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        // Zero gradients: the Adam step is 0, so only decoupled weight decay moves a parameter (p *= 1 - lr * wd).
        foreach (var p in model.parameters()) p.grad = zeros_like(p);
        optimizer.step();
        var after = model.state_dict();
        var (decay, noDecay) = OptimizerFactory.SplitForWeightDecay(model);
        foreach (var (name, _) in decay)
            Assert.True(allclose(after[name], before[name] * 0.95f), name);
        foreach (var (name, _) in noDecay)
            Assert.True(after[name].eq(before[name]).all().item<bool>(), name);
        Assert.True(after["frozen.weight"].eq(before["frozen.weight"]).all().item<bool>());
    }

    [Fact]
    public void AdamW_NothingTrainable_Throws()
    {
        using var head = new CtcHead(4);
        foreach (var p in head.parameters()) p.requires_grad = false;
        Assert.Throws<ArgumentException>(() => OptimizerFactory.AdamW(head, 1e-4, (0.9, 0.999), 1e-8, 0.0));
    }

    private sealed class ToyEncoder : nn.Module
    {
        [ComponentName(Name = "q_proj")] private readonly Linear _qProj = nn.Linear(4, 4);
        [ComponentName(Name = "final_layer_norm")] private readonly LayerNorm _finalLayerNorm = nn.LayerNorm(4);

        public ToyEncoder() : base(nameof(ToyEncoder)) => RegisterComponents();
    }

    private sealed class ToyModel : nn.Module
    {
        [ComponentName(Name = "masked_spec_embed")] private readonly Parameter _maskedSpecEmbed = new(rand(4));
        [ComponentName(Name = "layer_norm")] private readonly LayerNorm _layerNorm = nn.LayerNorm(4);
        [ComponentName(Name = "encoder")] private readonly ToyEncoder _encoder = new();
        [ComponentName(Name = "lm_head")] private readonly CtcHead _lmHead = new(4);
        [ComponentName(Name = "frozen")] private readonly Linear _frozen = nn.Linear(4, 4, hasBias: false);

        public ToyModel() : base(nameof(ToyModel))
        {
            RegisterComponents();
            _frozen.weight!.requires_grad = false;
            using var _ = no_grad();
            // Non-trivial values so that "unchanged" and "scaled by 0.95" are distinguishable.
            foreach (var p in parameters()) p.uniform_(0.5, 1.5);
        }
    }
}
