using SerMtl.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

public class MaskedGroupNormTests
{
    [Fact]
    public void Forward_WithValidFrames_EqualsGroupNormOfEachUtteranceAlone()
    {
        using var scope = NewDisposeScope();
        using var norm = new MaskedGroupNorm(6);
        using (no_grad())
            foreach (var p in norm.parameters()) p.copy_(randn(6));
        var x = randn(3, 6, 40) * 3 + 1;
        long[] lengths = [40, 17, 5];
        x[1, .., 17..] = tensor(1e6f); // padding far off the data's scale must not move the statistics
        x[2, .., 5..] = tensor(float.NaN);
        var valid = arange(40).unsqueeze(0) < tensor(lengths).unsqueeze(1);
        var y = norm.call(x, valid);
        for (var b = 0; b < 3; b++)
        {
            var alone = norm.call(x[b..(b + 1), .., ..(int)lengths[b]], null);
            TensorAssert.Close(alone, y[b..(b + 1), .., ..(int)lengths[b]], 1e-5, $"utterance {b}");
        }
    }
}
