using SerMtl.Checkpoints;
using TorchSharp;
using static SerMtl.Tests.Checkpoints.CheckpointTestKit;
using static TorchSharp.torch;

namespace SerMtl.Tests.Checkpoints;

public class StateDictLoaderTests
{
    // A module with keys "0.weight" [2, 3], "0.bias" [2], "1.weight" [2], "1.bias" [2].
    private static nn.Module<Tensor, Tensor> Model() => nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2));

    private static Dictionary<string, Tensor> Weights(ScalarType dtype = ScalarType.Float32) => new()
    {
        ["0.weight"] = (arange(6, ScalarType.Float32).reshape(2, 3) * 0.5f).to(dtype),
        ["0.bias"] = tensor(new[] { -1f, 1f }).to(dtype),
        ["1.weight"] = tensor(new[] { 2f, 3f }).to(dtype),
        ["1.bias"] = tensor(new[] { 0.25f, -0.25f }).to(dtype),
    };

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    public void Load_AnyFloatDtype_CopiesValuesIntoFloat32Parameters(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var model = Model();
        StateDictLoader.Load(model, Weights(dtype), "test");
        var state = model.state_dict();
        Assert.All(state.Values, t => Assert.Equal(ScalarType.Float32, t.dtype));
        Assert.Equal(new[] { 0f, 0.5f, 1f, 1.5f, 2f, 2.5f }, Floats(state["0.weight"]));
        Assert.Equal(new[] { -1f, 1f }, Floats(state["0.bias"]));
        Assert.Equal(new[] { 2f, 3f }, Floats(state["1.weight"]));
        Assert.Equal(new[] { 0.25f, -0.25f }, Floats(state["1.bias"]));
    }

    [Fact]
    public void Load_HalfPrecisionFixture_IntoALinearLayer_GivesTheExactWidenedValues()
    {
        var raw = SafeTensors.Read(Fixture("checkpoints", "bf16.safetensors"));
        using var scope = NewDisposeScope();
        try
        {
            var linear = nn.Linear(7, 5);
            StateDictLoader.Load(linear, new Dictionary<string, Tensor> { ["weight"] = raw["weight"], ["bias"] = raw["bias"] }, "bf16.safetensors");
            AssertBitwiseEqual(raw["weight_as_f32"], linear.weight!, "weight");
        }
        finally
        {
            DisposeAll(raw);
        }
    }

    [Fact]
    public void Load_MissingKey_ThrowsNamingItAndCopiesNothing()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var before = Floats(model.state_dict()["0.weight"]);
        var weights = Weights();
        weights.Remove("1.bias");
        var e = Assert.Throws<InvalidDataException>(() => StateDictLoader.Load(model, weights, "ckpt.safetensors"));
        Assert.Equal("ckpt.safetensors: missing 1 tensor(s): 1.bias", e.Message);
        Assert.Equal(before, Floats(model.state_dict()["0.weight"]));
    }

    [Fact]
    public void Load_UnexpectedKey_ThrowsNamingIt()
    {
        using var scope = NewDisposeScope();
        var weights = Weights();
        weights["2.weight"] = ones(2);
        var e = Assert.Throws<InvalidDataException>(() => StateDictLoader.Load(Model(), weights, "ckpt.safetensors"));
        Assert.Equal("ckpt.safetensors: unexpected tensor(s) not in the model: 2.weight", e.Message);
    }

    [Fact]
    public void Load_ShapeMismatch_ThrowsWithBothShapesAndCopiesNothing()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var before = Floats(model.state_dict()["0.bias"]);
        var weights = Weights();
        weights["0.weight"] = ones(3, 2);
        var e = Assert.Throws<InvalidDataException>(() => StateDictLoader.Load(model, weights, "ckpt.safetensors"));
        Assert.Equal("ckpt.safetensors: tensor '0.weight' has shape [3, 2], expected [2, 3]", e.Message);
        Assert.Equal(before, Floats(model.state_dict()["0.bias"]));
    }

    [Fact]
    public void Load_IntegerDataForAFloatParameter_Throws()
    {
        using var scope = NewDisposeScope();
        var weights = Weights();
        weights["1.weight"] = ones(new long[] { 2 }, ScalarType.Int64);
        var e = Assert.Throws<InvalidDataException>(() => StateDictLoader.Load(Model(), weights, "ckpt"));
        Assert.Equal("ckpt: tensor '1.weight' has dtype Int64, expected floating-point data for a Float32 entry", e.Message);
    }

    [Fact]
    public void Load_ManyMissingKeys_ListsTheFirstTenAndCounts()
    {
        using var scope = NewDisposeScope();
        var model = nn.Sequential(Enumerable.Range(0, 6).Select(i => ($"l{i}", (nn.Module<Tensor, Tensor>)nn.Linear(2, 2))).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => StateDictLoader.Load(model, new Dictionary<string, Tensor>(), "ckpt"));
        Assert.StartsWith("ckpt: missing 12 tensor(s): l0.weight, l0.bias, l1.weight", e.Message);
        Assert.EndsWith(", ...", e.Message);
    }
}
