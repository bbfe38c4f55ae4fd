using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>The dropout and linear map both task heads end with, initialised as HF initialises a new head.</summary>
internal static class HeadProjection
{
    /// <summary>
    /// Dropout with probability <paramref name="dropout"/>, a weight [<paramref name="outputs"/>, <paramref name="inputs"/>]
    /// ~ N(0, <paramref name="initializerRange"/>²) and a zero bias [<paramref name="outputs"/>].
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The dropout is not in [0, 1) or the standard deviation is not positive.</exception>
    public static (Dropout Dropout, Parameter Weight, Parameter Bias) Create(int inputs, int outputs, double dropout, double initializerRange)
    {
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "expected a probability in [0, 1)");
        if (!(initializerRange > 0)) throw new ArgumentOutOfRangeException(nameof(initializerRange), initializerRange, "expected a positive standard deviation");
        var weight = new Parameter(empty(outputs, inputs));
        using (no_grad()) nn.init.normal_(weight, 0.0, initializerRange);
        return (nn.Dropout(dropout), weight, new Parameter(zeros(outputs)));
    }
}
