using Microsoft.ML.OnnxRuntime;

namespace SerMtl.Onnx.Tests;

/// <summary>One ONNX Runtime call on waveforms [B, S] and lengths [B], with the outputs read back by name.</summary>
internal sealed class OnnxRun : IDisposable
{
    private readonly Dictionary<string, OrtValue> _outputs;
    private readonly IDisposable _owner;

    private OnnxRun(Dictionary<string, OrtValue> outputs, IDisposable owner)
    {
        _outputs = outputs;
        _owner = owner;
    }

    public static OnnxRun Run(InferenceSession session, float[] waveforms, long[] lengths, int batch)
    {
        using var w = OrtValue.CreateTensorValueFromMemory(waveforms, [batch, waveforms.Length / batch]);
        using var l = OrtValue.CreateTensorValueFromMemory(lengths, [batch]);
        using var options = new RunOptions();
        var names = session.OutputNames;
        var results = session.Run(options, ["waveforms", "lengths"], [w, l], names);
        return new OnnxRun(names.Zip(results).ToDictionary(p => p.First, p => p.Second), results);
    }

    public float[] Float(string name) => _outputs[name].GetTensorDataAsSpan<float>().ToArray();

    public long[] Long(string name) => _outputs[name].GetTensorDataAsSpan<long>().ToArray();

    public long[] Shape(string name) => _outputs[name].GetTensorTypeAndShape().Shape;

    public void Dispose() => _owner.Dispose();
}
