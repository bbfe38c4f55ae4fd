using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>Copies a state dict into a module's parameters and buffers, strictly.</summary>
internal static class StateDictLoader
{
    /// <summary>
    /// Copies every tensor of <paramref name="stateDict"/> into the same-named entry of <paramref name="module"/>'s
    /// state dict (converting dtype, e.g. an F16 / BF16 checkpoint into float32 parameters, and keeping the
    /// module's device). Every module key must be present, no other key may be, every shape must match and a
    /// floating-point entry needs floating-point data; errors name <paramref name="source"/>, the key and both
    /// shapes. Nothing is copied unless everything matches.
    /// </summary>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> stateDict, string source)
    {
        var target = module.state_dict();
        var missing = target.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{source}: missing {missing.Count} tensor(s): {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", ..." : "")}");
        var unexpected = stateDict.Keys.Where(k => !target.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
            throw new InvalidDataException($"{source}: unexpected tensor(s) not in the model: {string.Join(", ", unexpected.Take(10))}{(unexpected.Count > 10 ? ", ..." : "")}");
        foreach (var (key, dst) in target)
        {
            var src = stateDict[key];
            if (!src.shape.SequenceEqual(dst.shape))
                throw new InvalidDataException($"{source}: tensor '{key}' has shape [{string.Join(", ", src.shape)}], expected [{string.Join(", ", dst.shape)}]");
            if (dst.is_floating_point() && !src.is_floating_point())
                throw new InvalidDataException($"{source}: tensor '{key}' has dtype {src.dtype}, expected floating-point data for a {dst.dtype} entry");
            CheckFinite(src, key, source);
        }
        using var _ = no_grad();
        foreach (var (key, dst) in target)
            dst.copy_(stateDict[key].to(dst.dtype, dst.device));
    }

    /// <summary>
    /// Refuses a floating-point tensor holding NaN or infinity: such a model would load and then answer every input
    /// with NaN (or a confident label computed from one), so the error names the tensor instead.
    /// </summary>
    public static void CheckFinite(Tensor tensor, string key, string source)
    {
        if (!tensor.is_floating_point() || tensor.numel() == 0) return;
        using var scope = NewDisposeScope();
        var bad = tensor.isfinite().logical_not().sum().item<long>();
        if (bad > 0)
            throw new InvalidDataException($"{source}: tensor '{key}' holds {bad} NaN or infinite value(s) of {tensor.numel()}; the checkpoint is corrupt or was saved after training diverged");
    }
}
