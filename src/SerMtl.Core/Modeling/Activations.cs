using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

internal static class Activations
{
    /// <summary>Applies <paramref name="activation"/> elementwise.</summary>
    public static Tensor Apply(this Activation activation, Tensor x) => activation switch
    {
        Activation.Gelu => nn.functional.gelu(x),
        Activation.GeluTanh => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        Activation.Relu => nn.functional.relu(x),
        Activation.Silu => nn.functional.silu(x),
        Activation.Tanh => x.tanh(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation"),
    };
}
