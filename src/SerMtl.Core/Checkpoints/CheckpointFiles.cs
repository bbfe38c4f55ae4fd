using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>Finds and reads the weights file of a HuggingFace-layout model directory.</summary>
public static class CheckpointFiles
{
    /// <summary>File names looked for, in order of preference.</summary>
    public static IReadOnlyList<string> WeightFileNames { get; } = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"];

    /// <summary>Returns the path of the weights file in <paramref name="directory"/>, or throws naming what was looked for.</summary>
    public static string FindWeights(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: model directory not found");
        foreach (var name in WeightFileNames)
        {
            var p = Path.Combine(directory, name);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"{directory}: no weights file found (expected one of {string.Join(", ", WeightFileNames)})");
    }

    /// <summary>Reads every tensor of the weights file in <paramref name="directory"/> onto the CPU.</summary>
    public static Dictionary<string, Tensor> LoadStateDict(string directory) => Read(FindWeights(directory));

    /// <summary>Reads a weights file by its name: <c>*.safetensors</c>, a sharded <c>*.index.json</c>, or a PyTorch <c>*.bin</c>/<c>*.pt</c>.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return SafeTensors.Read(path);
        throw new NotSupportedException($"{path}: unsupported weights file type");
    }
}
