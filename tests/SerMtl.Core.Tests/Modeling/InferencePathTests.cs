using SerMtl.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// The encoder's inference-only paths (taken without autograd on the CPU) give what the autograd paths give: written-out
/// attention against libtorch's SDPA, the positional convolution as a grouped product against <c>conv1d</c>.
/// </summary>
public class InferencePathTests
{
    private static readonly Wav2Vec2Config Small = Wav2Vec2Config.Base with
    {
        HiddenSize = 64,
        NumAttentionHeads = 4,
        IntermediateSize = 128,
        NumConvPosEmbeddings = 16,
        NumConvPosEmbeddingGroups = 4,
        AttentionDropout = 0,
        HiddenDropout = 0,
        ActivationDropout = 0,
        LayerDrop = 0,
    };

    private static double MaxDifference(Tensor a, Tensor b) => (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfAttention_WithoutAutograd_MatchesSdpaWithAndWithoutKeyPadding(bool wavLM)
    {
        manual_seed(11);
        var config = wavLM ? Small with { ModelType = "wavlm", NumBuckets = 8, MaxBucketDistance = 6 } : Small;
        using var attention = new SelfAttention(config, holdsPositionTable: wavLM);
        attention.ResetRelativeParameters(0.5); // a gate that is not the identity
        attention.eval();
        using var x = randn(2, 9, Small.HiddenSize);
        using var attendable = (arange(9).unsqueeze(0) < tensor(new long[] { 9, 5 }).unsqueeze(1)).unsqueeze(1).unsqueeze(1); // [2, 1, 1, 9]
        using var bias = wavLM ? attention.PositionBias(9, CPU).detach() : null;
        foreach (var mask in new Tensor?[] { null, attendable })
        {
            using var sdpa = attention.call(x, mask, bias);         // autograd on: libtorch's SDPA
            using var noGrad = no_grad();
            using var written = attention.call(x, mask, bias);      // the written-out product
            Assert.True(MaxDifference(sdpa, written) < 1e-5, $"mask {(mask is null ? "none" : "key padding")}: {MaxDifference(sdpa, written):G3}");
        }
    }

    [Fact]
    public void PositionalConvolution_BFloat16WithoutAutograd_MatchesGroupedConv1d()
    {
        manual_seed(12);
        using var conv = new WeightNormConv1d(Small.HiddenSize, Small.NumConvPosEmbeddings, Small.NumConvPosEmbeddingGroups);
        conv.ResetParameters();
        using (no_grad()) conv.parameters().First(p => p.dim() == 1).normal_(); // a non-zero bias
        conv.to(ScalarType.BFloat16);
        using var x = randn(2, Small.HiddenSize, 21).to(ScalarType.BFloat16);
        using var reference = conv.call(x);                         // autograd on: libtorch's grouped conv1d
        using var noGrad = no_grad();
        using var product = conv.call(x);                           // one batched product per utterance
        Assert.Equal(reference.shape, product.shape);
        var scale = reference.to(ScalarType.Float32).abs().max().item<float>();
        Assert.True(MaxDifference(reference, product) < 0.02 * scale, $"difference {MaxDifference(reference, product):G3} of {scale:G3}");
    }

    [Fact]
    public void WeightNormWeight_IsGTimesVOverItsNormPerKernelTap()
    {
        manual_seed(13);
        using var conv = new WeightNormConv1d(Small.HiddenSize, Small.NumConvPosEmbeddings, Small.NumConvPosEmbeddingGroups);
        conv.ResetParameters();
        var parameters = conv.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad()) parameters["weight_g"].uniform_(0.5, 2);
        var v = parameters["weight_v"];
        using var expected = v * parameters["weight_g"] / linalg.vector_norm(v, 2, [0, 1], keepdim: true);
        using var actual = conv.Weight();
        Assert.True(MaxDifference(expected, actual) < 1e-6, $"difference {MaxDifference(expected, actual):G3}");
    }
}
