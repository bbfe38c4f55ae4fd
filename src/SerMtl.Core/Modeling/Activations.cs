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

    /// <summary>
    /// Applies <paramref name="activation"/> to a tensor the caller has just computed and holds no other use of,
    /// in place when autograd records nothing for it (evaluation, a frozen feature encoder): that saves allocating
    /// and page-faulting another copy of the model's largest activations ([B, 512, S / 5] after the first convolution).
    /// </summary>
    public static Tensor ApplyToOwned(this Activation activation, Tensor x)
    {
        if (x.requires_grad) return activation.Apply(x);
        return activation switch
        {
            Activation.Gelu => x.gelu_(),
            Activation.GeluTanh => x.gelu_(TorchSharp.Modules.GELU.Approximate.tanh),
            Activation.Relu => x.relu_(),
            Activation.Silu => x.silu_(),
            Activation.Tanh => x.tanh_(),
            _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation"),
        };
    }
}
