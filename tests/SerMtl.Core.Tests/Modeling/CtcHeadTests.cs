using SerMtl.Modeling;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

public class CtcHeadTests
{
    [Fact]
    public void StateDict_UnderParentNamedLmHead_UsesCheckpointKeys()
    {
        using var parent = new Parent(new CtcHead(hiddenSize: 8));
        Assert.Equal(new[] { "lm_head.bias", "lm_head.weight" }, parent.state_dict().Keys.Order());
        Assert.Equal(new long[] { 32, 8 }, parent.state_dict()["lm_head.weight"].shape);
    }

    [Fact]
    public void Forward_AfterLoadFrom_IsTheLinearMapOfTheCheckpoint()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var weight = randn(32, 8);
        var bias = randn(32);
        using var head = new CtcHead(hiddenSize: 8);
        head.LoadFrom(new Dictionary<string, Tensor> { ["weight"] = weight, ["bias"] = bias });
        head.eval();
        var hidden = randn(2, 5, 8);
        var logits = head.call(hidden);
        Assert.Equal(new long[] { 2, 5, 32 }, logits.shape);
        var expected = matmul(hidden, weight.t()) + bias;
        Assert.True(allclose(expected, logits, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void LoadFrom_WrongVocabularySize_ThrowsNamingKeyAndShapes()
    {
        using var head = new CtcHead(hiddenSize: 8);
        var e = Assert.Throws<InvalidDataException>(() => head.LoadFrom(
            new Dictionary<string, Tensor> { ["weight"] = zeros(40, 8), ["bias"] = zeros(40) }, "model.safetensors"));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("'lm_head.weight' has shape [40, 8], expected [32, 8]", e.Message);
    }

    [Fact]
    public void LoadFrom_MissingOrUnexpectedKey_Throws()
    {
        using var head = new CtcHead(hiddenSize: 8);
        var missing = Assert.Throws<InvalidDataException>(() => head.LoadFrom(new Dictionary<string, Tensor> { ["weight"] = zeros(32, 8) }));
        Assert.Contains("'lm_head.bias' is missing", missing.Message);
        var unexpected = Assert.Throws<InvalidDataException>(() => head.LoadFrom(
            new Dictionary<string, Tensor> { ["weight"] = zeros(32, 8), ["bias"] = zeros(32), ["lm_head.weight"] = zeros(32, 8) }));
        Assert.Contains("'lm_head.weight'", unexpected.Message);
    }

    [Fact]
    public void LoadFrom_HalfPrecisionTensors_AreConvertedToTheHeadDtype()
    {
        using var head = new CtcHead(hiddenSize: 4);
        head.LoadFrom(new Dictionary<string, Tensor> { ["weight"] = ones(32, 4, ScalarType.Float16), ["bias"] = full(32, 0.5, ScalarType.Float16) });
        var state = head.state_dict();
        Assert.Equal(ScalarType.Float32, state["weight"].dtype);
        Assert.Equal(1.0f, state["weight"][3, 2].item<float>());
        Assert.Equal(0.5f, state["bias"][7].item<float>());
    }

    [Fact]
    public void Constructor_FreshInit_NormalWeightsZeroBias()
    {
        manual_seed(2);
        using var head = new CtcHead(hiddenSize: 768);
        var state = head.state_dict();
        Assert.Equal(0.0f, state["bias"].abs().max().item<float>());
        var std = state["weight"].std().item<float>();
        Assert.InRange(std, 0.018f, 0.022f);
    }

    [Fact]
    public void Forward_WrongHiddenSize_Throws()
    {
        using var head = new CtcHead(hiddenSize: 8);
        var e = Assert.Throws<ArgumentException>(() => head.call(zeros(1, 3, 7)));
        Assert.Contains("[B, T, 8]", e.Message);
    }

    [Fact]
    public void Forward_Eval_IsDeterministic_TrainAppliesDropout()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var head = new CtcHead(hiddenSize: 16, dropout: 0.5);
        var hidden = randn(1, 10, 16);
        head.eval();
        Assert.True(Same(head.call(hidden), head.call(hidden)));
        head.train();
        Assert.False(Same(head.call(hidden), head.call(hidden)));
    }

    private sealed class Parent : nn.Module
    {
        [ComponentName(Name = "lm_head")]
        private readonly CtcHead _head;

        public Parent(CtcHead head) : base(nameof(Parent))
        {
            _head = head;
            RegisterComponents();
        }
    }

    // Same shape and bit-for-bit equal values.
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
