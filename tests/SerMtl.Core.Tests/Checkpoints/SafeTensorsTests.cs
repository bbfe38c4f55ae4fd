using SerMtl.Checkpoints;
using SerMtl.Tests;

namespace SerMtl.Tests.Checkpoints;

public class SafeTensorsTests
{
    [Fact]
    public void Read_TinyGroupModel_LoadsEveryTensorWithItsShape()
    {
        var tensors = SafeTensors.Read(Path.Combine(TestPaths.TinyGroup, "model.safetensors"));
        try
        {
            Assert.Equal(new long[] { 16, 1, 10 }, tensors["feature_extractor.conv_layers.0.conv.weight"].shape);
            Assert.Equal(new long[] { 32, 8, 16 }, tensors["encoder.pos_conv_embed.conv.weight_v"].shape);
            Assert.True(float.IsFinite(tensors["encoder.layers.0.attention.q_proj.weight"].abs().sum().item<float>()));
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
