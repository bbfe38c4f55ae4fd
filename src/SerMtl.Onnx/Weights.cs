using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Onnx;

/// <summary>A module's state dict read as float32 arrays on the host, by key, each key read once at most.</summary>
internal sealed class Weights
{
    private readonly Dictionary<string, torch.Tensor> _tensors;
    private readonly string _source;

    public Weights(nn.Module module, string source)
    {
        _tensors = new Dictionary<string, torch.Tensor>(module.state_dict(), StringComparer.Ordinal);
        _source = source;
    }

    /// <summary>The tensor's values (float32, row-major) and shape.</summary>
    /// <exception cref="InvalidOperationException">The module has no such tensor (a bug in the writer, not in the model).</exception>
    public (float[] Values, long[] Shape) Read(string key) => Read<float>(key, ScalarType.Float32);

    /// <summary>The tensor's values in float64 (for weights the exporter derives, such as the weight-normalised convolution).</summary>
    public (double[] Values, long[] Shape) ReadDouble(string key) => Read<double>(key, ScalarType.Float64);

    private (T[] Values, long[] Shape) Read<T>(string key, ScalarType type) where T : unmanaged
    {
        if (!_tensors.TryGetValue(key, out var tensor))
            throw new InvalidOperationException($"{_source}: the model has no tensor '{key}'");
        using var scope = NewDisposeScope();
        using var host = tensor.detach().to(type, CPU).contiguous();
        return (host.data<T>().ToArray(), host.shape);
    }

    /// <summary>A [rows, cols] matrix transposed to [cols, rows] (a linear layer's weight as MatMul's right operand).</summary>
    public static float[] Transposed(float[] values, long rows, long cols)
    {
        var result = new float[values.Length];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
                result[c * rows + r] = values[r * cols + c];
        return result;
    }
}
