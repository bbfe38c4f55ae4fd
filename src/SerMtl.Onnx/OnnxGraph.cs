using System.Runtime.InteropServices;
using Google.Protobuf;
using SerMtl.Onnx.Format;
using Attribute = SerMtl.Onnx.Format.Attribute;
using Tensor = SerMtl.Onnx.Format.Tensor;

namespace SerMtl.Onnx;

/// <summary>
/// Builds an ONNX graph node by node: each operator call adds one node and returns the name of its output, so a graph
/// reads like the computation it writes. Names are unique (a running counter per prefix); constants of the same
/// int64 values are shared.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Graph _graph = new();
    private readonly Dictionary<string, string> _int64Constants = new(StringComparer.Ordinal);
    private readonly Dictionary<float, string> _floatConstants = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    public OnnxGraph(string name) => _graph.Name = name;

    public Graph Proto => _graph;

    /// <summary>The weights written so far, in bytes (what the file will hold, give or take the graph itself).</summary>
    public long WeightBytes { get; private set; }

    /// <summary>Declares a graph input; a dimension is a fixed size (long) or a symbolic name (string).</summary>
    public string Input(string name, Tensor.Types.DataType type, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, type, dims));
        _names.Add(name);
        return name;
    }

    /// <summary>Declares <paramref name="source"/> as graph output <paramref name="name"/> (through Identity when the names differ).</summary>
    public void Output(string name, string source, Tensor.Types.DataType type, params object[] dims)
    {
        if (source != name) Node("Identity", [source], [name]);
        _graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>A float32 initializer of the given shape.</summary>
    public string Weight(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Initializer(name, Tensor.Types.DataType.Float, MemoryMarshal.AsBytes(values), dims);

    /// <summary>An int8 initializer of the given shape.</summary>
    public string Int8Weight(string name, ReadOnlySpan<sbyte> values, params long[] dims) =>
        Initializer(name, Tensor.Types.DataType.Int8, MemoryMarshal.AsBytes(values), dims);

    /// <summary>A 1-D int64 constant (shared with every other use of the same values).</summary>
    public string Int64s(params long[] values)
    {
        var key = string.Join(",", values);
        if (!_int64Constants.TryGetValue(key, out var name))
        {
            name = Initializer(Unique("const_i64"), Tensor.Types.DataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), values.Length);
            _int64Constants[key] = name;
        }
        return name;
    }

    /// <summary>An int64 scalar constant.</summary>
    public string Int64Scalar(long value)
    {
        var key = "scalar:" + value;
        if (!_int64Constants.TryGetValue(key, out var name))
        {
            name = Initializer(Unique("const_i64"), Tensor.Types.DataType.Int64, MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
            _int64Constants[key] = name;
        }
        return name;
    }

    /// <summary>A float32 scalar constant.</summary>
    public string FloatScalar(float value)
    {
        if (!_floatConstants.TryGetValue(value, out var name))
        {
            name = Initializer(Unique("const_f32"), Tensor.Types.DataType.Float, MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
            _floatConstants[value] = name;
        }
        return name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Op(string opType, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes) =>
        Node(opType, inputs, [Unique(opType.ToLowerInvariant())], attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] OpN(string opType, IReadOnlyList<string> inputs, int outputs, params (string Name, object Value)[] attributes) =>
        Node(opType, inputs, Enumerable.Range(0, outputs).Select(_ => Unique(opType.ToLowerInvariant())).ToArray(), attributes);

    // Short forms of the operators the writers use most.
    public string Add(string a, string b) => Op("Add", [a, b]);
    public string Sub(string a, string b) => Op("Sub", [a, b]);
    public string Mul(string a, string b) => Op("Mul", [a, b]);
    public string Div(string a, string b) => Op("Div", [a, b]);
    public string MatMul(string a, string b) => Op("MatMul", [a, b]);
    public string Transpose(string x, params long[] perm) => Op("Transpose", [x], ("perm", perm));
    public string Reshape(string x, params long[] shape) => Op("Reshape", [x, Int64s(shape)]);
    public string Unsqueeze(string x, params long[] axes) => Op("Unsqueeze", [x, Int64s(axes)]);
    public string Cast(string x, Tensor.Types.DataType to) => Op("Cast", [x], ("to", (long)to));
    public string ReduceSum(string x, long axis, bool keepDims) => Op("ReduceSum", [x, Int64s(axis)], ("keepdims", keepDims ? 1L : 0L));

    /// <summary>Size of dimension <paramref name="axis"/> of <paramref name="x"/> as a 1-D int64 tensor [1].</summary>
    public string Dim(string x, long axis) => Op("Shape", [x], ("start", axis), ("end", axis + 1));

    public string Unique(string prefix)
    {
        string name;
        do name = $"{prefix}_{_counter++}";
        while (_names.Contains(name));
        _names.Add(name);
        return name;
    }

    private string[] Node(string opType, IReadOnlyList<string> inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new Node { OpType = opType, Name = Unique("n_" + opType) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        _graph.Node.Add(node);
        return outputs;
    }

    private string Initializer(string name, Tensor.Types.DataType type, ReadOnlySpan<byte> bytes, params long[] dims)
    {
        if (!_names.Add(name) && _graph.Initializer.Any(i => i.Name == name))
            throw new InvalidOperationException($"initializer '{name}' is written twice");
        var tensor = new Tensor { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        WeightBytes += bytes.Length;
        return name;
    }

    private static Attribute Attribute(string name, object value)
    {
        var attribute = new Attribute { Name = name };
        switch (value)
        {
            case long i:
                attribute.Type = Format.Attribute.Types.Kind.Int;
                attribute.I = i;
                break;
            case float f:
                attribute.Type = Format.Attribute.Types.Kind.Float;
                attribute.F = f;
                break;
            case long[] ints:
                attribute.Type = Format.Attribute.Types.Kind.Ints;
                attribute.Ints.AddRange(ints);
                break;
            case string s:
                attribute.Type = Format.Attribute.Types.Kind.String;
                attribute.S = ByteString.CopyFromUtf8(s);
                break;
            case Tensor t:
                attribute.Type = Format.Attribute.Types.Kind.Tensor;
                attribute.T = t;
                break;
            default:
                throw new ArgumentException($"attribute '{name}': unsupported value type {value.GetType().Name}");
        }
        return attribute;
    }

    private static ValueInfo ValueInfo(string name, Tensor.Types.DataType type, object[] dims)
    {
        var shape = new Shape();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                long size => new Shape.Types.Dimension { DimValue = size },
                int size => new Shape.Types.Dimension { DimValue = size },
                string symbol => new Shape.Types.Dimension { DimParam = symbol },
                _ => throw new ArgumentException($"input '{name}': a dimension is a size or a name, got {dim}"),
            });
        }
        return new ValueInfo { Name = name, Type = new Format.Type { TensorType = new Format.Type.Types.TensorType { ElemType = (int)type, Shape = shape } } };
    }
}
