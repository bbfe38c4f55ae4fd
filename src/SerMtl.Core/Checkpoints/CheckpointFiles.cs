using System.Text.Json;
using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>Finds and reads the weights file of a HuggingFace-layout model directory.</summary>
public static class CheckpointFiles
{
    /// <summary>File names looked for, in order of preference.</summary>
    public static IReadOnlyList<string> WeightFileNames { get; } =
        ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

    /// <summary>Returns the path of the weights file in <paramref name="directory"/>, or throws naming what was looked for.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">None of <see cref="WeightFileNames"/> is there.</exception>
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

    /// <summary>
    /// Reads a weights file by its name: <c>*.safetensors</c>, a PyTorch <c>*.bin</c> / <c>*.pt</c> / <c>*.pth</c>
    /// (see <see cref="PyTorchCheckpoint"/>), or a sharded checkpoint's <c>*.index.json</c>, whose
    /// <c>weight_map</c> names the shard (in the same folder) holding each tensor.
    /// </summary>
    /// <exception cref="InvalidDataException">The file, or a shard, is malformed or does not match its index.</exception>
    /// <exception cref="NotSupportedException">The file name has none of those endings.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)) return ReadSharded(path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return SafeTensors.Read(path);
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase))
            return PyTorchCheckpoint.Read(path);
        throw new NotSupportedException($"{path}: unsupported weights file type (expected .safetensors, .bin, .pt, .pth or a sharded .index.json)");
    }

    private static Dictionary<string, Tensor> ReadSharded(string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in weightMap.Values.Distinct(StringComparer.Ordinal))
            {
                var shardPath = Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                    throw new FileNotFoundException($"{indexPath}: shard '{shard}' listed in weight_map not found", shardPath);
                var tensors = Read(shardPath);
                // Take ownership first so every tensor is disposed if this shard turns out not to match the index.
                var unlisted = new List<string>();
                foreach (var (key, tensor) in tensors)
                {
                    if (weightMap.TryGetValue(key, out var owner) && owner == shard)
                    {
                        result.Add(key, tensor); // each key has one owner, so no other shard added it
                        continue;
                    }
                    tensor.Dispose();
                    unlisted.Add(weightMap.TryGetValue(key, out owner) ? $"'{key}' (the index puts it in '{owner}')" : $"'{key}' (not in the index)");
                }
                if (unlisted.Count > 0)
                    throw new InvalidDataException($"{indexPath}: shard '{shard}' holds tensors its index does not assign to it: {string.Join(", ", unlisted.Take(5))}{(unlisted.Count > 5 ? ", ..." : "")}");
                var missing = weightMap.Where(kv => kv.Value == shard && !tensors.ContainsKey(kv.Key)).Select(kv => kv.Key).ToList();
                if (missing.Count > 0)
                    throw new InvalidDataException($"{indexPath}: shard '{shard}' lacks {missing.Count} tensor(s) the index assigns to it: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}");
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>The <c>weight_map</c> (tensor name → shard file name) of a sharded checkpoint's index.</summary>
    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        var info = new FileInfo(indexPath);
        if (info.Exists && info.Length > 100_000_000)
            throw new InvalidDataException($"{indexPath}: {info.Length} bytes is too large for a checkpoint index");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{indexPath}: not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{indexPath}: expected a JSON object with a 'weight_map' object (tensor name -> shard file)");
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{indexPath}: weight_map['{entry.Name}'] must be a shard file name, found {entry.Value.ValueKind}");
                var shard = entry.Value.GetString()!;
                // Shards sit beside the index: a bare file name, never a path that could point elsewhere.
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard.Contains('/') || shard.Contains('\\') || shard is "." or ".."
                    || shard.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"{indexPath}: weight_map['{entry.Name}'] = '{shard}' is not a shard file name in the index's folder");
                if (!weightMap.TryAdd(entry.Name, shard))
                    throw new InvalidDataException($"{indexPath}: weight_map lists '{entry.Name}' twice");
            }
            if (weightMap.Count == 0)
                throw new InvalidDataException($"{indexPath}: weight_map is empty");
            return weightMap;
        }
    }
}
