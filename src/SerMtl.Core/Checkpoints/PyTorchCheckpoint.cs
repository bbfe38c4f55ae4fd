using System.IO.Compression;
using static TorchSharp.torch;

namespace SerMtl.Checkpoints;

/// <summary>
/// Reads state dicts written by <c>torch.save</c> (<c>pytorch_model.bin</c>, <c>*.pt</c>): a zip archive holding
/// <c>&lt;archive&gt;/data.pkl</c> (the pickled dict) and one <c>&lt;archive&gt;/data/&lt;key&gt;</c> entry per
/// tensor storage.
/// </summary>
/// <remarks>
/// The pickle is interpreted by a restricted unpickler that accepts only what a state dict needs
/// (<c>collections.OrderedDict</c>, torch's tensor and parameter rebuild functions, storage types and dtypes) and
/// refuses every other global, so loading a file never executes code. Views are supported: storage offsets,
/// arbitrary strides and several tensors sharing one storage. Every returned tensor is contiguous.
/// </remarks>
public static class PyTorchCheckpoint
{
    /// <summary>Reads every tensor of the state dict in <paramref name="path"/> onto the CPU, in its stored dtype.</summary>
    /// <exception cref="InvalidDataException">
    /// The file is not a <c>torch.save</c> zip archive of a flat state dict (legacy format, truncated, a disallowed
    /// global, a missing storage, ...); the message names the file and the offending key.
    /// </exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("torch.save data are read as little-endian; big-endian hosts are not supported");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        CheckSignature(file, path);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: not a readable zip archive ({e.Message}); the file may be truncated or corrupt", e);
        }
        using (zip)
            return new ArchiveReader(zip, file.Length, path).ReadStateDict();
    }

    private static void CheckSignature(FileStream file, string path)
    {
        Span<byte> head = stackalloc byte[4];
        var n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        file.Position = 0;
        if (n >= 1 && head[0] == 0x80) // a pickle PROTO opcode: torch.save before PyTorch 1.6, or _use_new_zipfile_serialization=False
            throw new InvalidDataException($"{path}: unsupported legacy format (a raw pickle stream from an old torch.save); re-save with torch.save(..., _use_new_zipfile_serialization=True) or convert to safetensors");
        if (n < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
            throw new InvalidDataException($"{path}: not a PyTorch checkpoint: expected a zip archive written by torch.save (starting with 'PK'), found {(n == 0 ? "an empty file" : "bytes " + Convert.ToHexString(head[..n]))}");
    }

    private enum GlobalKind
    {
        OrderedDict,
        RebuildTensor,
        RebuildTensorV2,
        RebuildTensorV3,
        RebuildParameter,
        RebuildParameterWithState,
        Storage,
        DType,
    }

    /// <summary>What an allowed global becomes on the pickle stack.</summary>
    private sealed record TorchGlobal(string Name, GlobalKind Kind, ScalarType DType = ScalarType.Byte)
    {
        public override string ToString() => Name;
    }

    // The complete allow-list. Storage classes and dtypes are only type tags here; nothing is ever instantiated
    // from a name. Notably absent: torch.storage._load_from_bytes (unpickles raw bytes), builtins, os, ...
    private static readonly Dictionary<string, TorchGlobal> AllowedGlobals = BuildAllowList();

    private static Dictionary<string, TorchGlobal> BuildAllowList()
    {
        var list = new List<TorchGlobal>
        {
            new("collections.OrderedDict", GlobalKind.OrderedDict),
            new("torch._utils._rebuild_tensor", GlobalKind.RebuildTensor),
            new("torch._utils._rebuild_tensor_v2", GlobalKind.RebuildTensorV2),
            new("torch._utils._rebuild_tensor_v3", GlobalKind.RebuildTensorV3),
            new("torch._utils._rebuild_parameter", GlobalKind.RebuildParameter),
            new("torch._utils._rebuild_parameter_with_state", GlobalKind.RebuildParameterWithState),
            // Untyped storages count bytes; _rebuild_tensor_v3 then names the dtype.
            new("torch.UntypedStorage", GlobalKind.Storage, ScalarType.Byte),
            new("torch.storage.UntypedStorage", GlobalKind.Storage, ScalarType.Byte),
        };
        (string Storage, ScalarType DType, string[] DTypeNames)[] types =
        [
            ("Float", ScalarType.Float32, ["float32", "float"]),
            ("Double", ScalarType.Float64, ["float64", "double"]),
            ("Half", ScalarType.Float16, ["float16", "half"]),
            ("BFloat16", ScalarType.BFloat16, ["bfloat16"]),
            ("Long", ScalarType.Int64, ["int64", "long"]),
            ("Int", ScalarType.Int32, ["int32", "int"]),
            ("Short", ScalarType.Int16, ["int16", "short"]),
            ("Char", ScalarType.Int8, ["int8"]),
            ("Byte", ScalarType.Byte, ["uint8"]),
            ("Bool", ScalarType.Bool, ["bool"]),
        ];
        foreach (var (storage, dtype, names) in types)
        {
            // Checkpoints saved from a GPU by old torch versions name the CUDA storage class; data load to the CPU.
            list.Add(new($"torch.{storage}Storage", GlobalKind.Storage, dtype));
            list.Add(new($"torch.cuda.{storage}Storage", GlobalKind.Storage, dtype));
            list.AddRange(names.Select(n => new TorchGlobal($"torch.{n}", GlobalKind.DType, dtype)));
        }
        return list.ToDictionary(g => g.Name, StringComparer.Ordinal);
    }

    /// <summary>A storage named by a persistent id; its bytes are read from the archive on first use.</summary>
    private sealed class StorageRef(string key, ScalarType dtype, long count)
    {
        public string Key { get; } = key;
        public ScalarType DType { get; } = dtype;
        public long Count { get; } = count;
        public Tensor? Data { get; set; } // [Count] once loaded
        public Dictionary<ScalarType, Tensor> Reinterpreted { get; } = []; // untyped bytes viewed as a dtype (v3)
        public override string ToString() => $"storage '{Key}'";
    }

    /// <summary>A tensor the pickle described; built once its key is known so errors can name it.</summary>
    private sealed record PendingTensor(StorageRef Storage, long Offset, long[] Size, long[] Stride, ScalarType? DType)
    {
        public override string ToString() => "tensor";
    }

    private sealed class ArchiveReader(ZipArchive zip, long fileLength, string path) : IPickleResolver
    {
        private readonly Dictionary<string, StorageRef> _storages = new(StringComparer.Ordinal);
        private string _prefix = "";

        public Dictionary<string, Tensor> ReadStateDict()
        {
            var pickle = ReadPickle();
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                var root = new RestrictedUnpickler(pickle, $"{path} ({_prefix}data.pkl)", this).Load();
                if (root is not PickleDict dict)
                    throw new InvalidDataException($"{path}: expected a state dict (a dict of tensors) in data.pkl, found a {RestrictedUnpickler.Describe(root)}");
                foreach (var (key, value) in dict.Items)
                {
                    if (key is not string name)
                        throw new InvalidDataException($"{path}: state dict key {key} is a {RestrictedUnpickler.Describe(key)}, expected a string");
                    if (value is not PendingTensor pending)
                        throw new InvalidDataException($"{path}: '{name}' holds a {RestrictedUnpickler.Describe(value)}, not a tensor; only flat state dicts of tensors are supported (for a training checkpoint, save model.state_dict() alone)");
                    result.Add(name, Materialize(name, pending));
                }
                return result;
            }
            catch
            {
                foreach (var t in result.Values) t.Dispose();
                throw;
            }
            finally
            {
                // Returned tensors keep what they use of a storage alive; these handles are no longer needed.
                foreach (var s in _storages.Values)
                {
                    s.Data?.Dispose();
                    foreach (var t in s.Reinterpreted.Values) t.Dispose();
                }
            }
        }

        private byte[] ReadPickle()
        {
            IReadOnlyList<ZipArchiveEntry> entries;
            try
            {
                entries = zip.Entries;
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: corrupt zip directory ({e.Message})", e);
            }
            if (entries.Count == 0)
                throw new InvalidDataException($"{path}: the zip archive is empty, expected a torch.save archive with data.pkl");
            // torch names every entry "<archive>/..." after the file it first saved to; use the first entry's folder.
            var first = entries[0].FullName;
            _prefix = first.Contains('/') ? first[..(first.IndexOf('/') + 1)] : "";
            var pkl = zip.GetEntry(_prefix + "data.pkl");
            if (pkl is null)
            {
                if (zip.GetEntry(_prefix + "constants.pkl") is not null || entries.Any(e => e.FullName.StartsWith(_prefix + "code/", StringComparison.Ordinal)))
                    throw new InvalidDataException($"{path}: a TorchScript archive (torch.jit.save), not a state dict saved with torch.save");
                throw new InvalidDataException($"{path}: no '{_prefix}data.pkl' entry; not an archive written by torch.save");
            }
            var byteOrder = zip.GetEntry(_prefix + "byteorder");
            if (byteOrder is not null)
            {
                var order = System.Text.Encoding.ASCII.GetString(ReadEntry(byteOrder, "byteorder", maxBytes: 16)).Trim();
                if (order != "little")
                    throw new InvalidDataException($"{path}: byteorder is '{order}'; only little-endian checkpoints are supported");
            }
            return ReadEntry(pkl, "data.pkl", maxBytes: int.MaxValue);
        }

        private byte[] ReadEntry(ZipArchiveEntry entry, string what, long maxBytes)
        {
            CheckStored(entry, what);
            if (entry.Length > maxBytes)
                throw new InvalidDataException($"{path}: {what} entry is {entry.Length} bytes, more than the {maxBytes} expected");
            var bytes = new byte[entry.Length];
            try
            {
                using var stream = entry.Open();
                stream.ReadExactly(bytes);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                throw new InvalidDataException($"{path}: cannot read the {what} entry ({e.Message}); the file may be truncated or corrupt", e);
            }
            return bytes;
        }

        /// <summary>torch.save stores entries uncompressed; this also bounds every allocation by the file size.</summary>
        private void CheckStored(ZipArchiveEntry entry, string what)
        {
            if (entry.CompressedLength != entry.Length)
                throw new InvalidDataException($"{path}: {what} entry is compressed ({entry.CompressedLength} -> {entry.Length} bytes); torch.save stores entries uncompressed");
            if (entry.Length > fileLength)
                throw new InvalidDataException($"{path}: {what} entry claims {entry.Length} bytes, more than the whole file ({fileLength})");
        }

        public object FindGlobal(string module, string name) =>
            AllowedGlobals.TryGetValue($"{module}.{name}", out var g)
                ? g
                : throw new InvalidDataException($"refusing to load '{module}.{name}' from {path}: only state-dict tensors are allowed");

        public object? Call(object? callable, object?[] args)
        {
            if (callable is not TorchGlobal g)
                throw new InvalidDataException($"{path}: the pickle calls a {RestrictedUnpickler.Describe(callable)}, which is not callable");
            switch (g.Kind)
            {
                case GlobalKind.OrderedDict:
                    return NewOrderedDict(args);
                case GlobalKind.RebuildTensor: // (storage, storage_offset, size, stride)
                    ExpectArgs(g, args, 4, 4);
                    return Pending(args, dtype: null);
                case GlobalKind.RebuildTensorV2: // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                    ExpectArgs(g, args, 6, 7);
                    return Pending(args, dtype: null);
                case GlobalKind.RebuildTensorV3: // (..., backward_hooks, dtype[, metadata])
                    ExpectArgs(g, args, 7, 8);
                    if (args[6] is not TorchGlobal { Kind: GlobalKind.DType } dtype)
                        throw new InvalidDataException($"{path}: {g.Name} expects a dtype as its 7th argument, found {RestrictedUnpickler.Describe(args[6])}");
                    return Pending(args, dtype.DType);
                case GlobalKind.RebuildParameter: // (data, requires_grad, backward_hooks)
                case GlobalKind.RebuildParameterWithState: // (data, requires_grad, backward_hooks, state)
                    ExpectArgs(g, args, g.Kind == GlobalKind.RebuildParameter ? 3 : 4, g.Kind == GlobalKind.RebuildParameter ? 3 : 4);
                    return args[0] as PendingTensor
                        ?? throw new InvalidDataException($"{path}: {g.Name} expects a tensor, found {RestrictedUnpickler.Describe(args[0])}");
                default:
                    throw new InvalidDataException($"{path}: the pickle calls '{g.Name}', which is not callable in a state dict");
            }
        }

        private PickleDict NewOrderedDict(object?[] args)
        {
            var dict = new PickleDict();
            if (args.Length == 0) return dict;
            // OrderedDict([(key, value), ...]) as older protocols write it.
            if (args.Length == 1 && args[0] is List<object?> pairs)
            {
                foreach (var pair in pairs)
                {
                    if (pair is not object?[] { Length: 2 } kv || kv[0] is not string key)
                        throw new InvalidDataException($"{path}: OrderedDict expects (str, value) pairs, found {RestrictedUnpickler.Describe(pair)}");
                    dict.Set(key, kv[1]);
                }
                return dict;
            }
            throw new InvalidDataException($"{path}: OrderedDict called with {args.Length} unexpected argument(s)");
        }

        private void ExpectArgs(TorchGlobal g, object?[] args, int min, int max)
        {
            if (args.Length < min || args.Length > max)
                throw new InvalidDataException($"{path}: {g.Name} expects {(min == max ? $"{min}" : $"{min} to {max}")} arguments, found {args.Length}");
        }

        private PendingTensor Pending(object?[] args, ScalarType? dtype)
        {
            if (args[0] is not StorageRef storage)
                throw new InvalidDataException($"{path}: a tensor is rebuilt from a {RestrictedUnpickler.Describe(args[0])}, expected a storage");
            if (args[1] is not long offset)
                throw new InvalidDataException($"{path}: a tensor on {storage} has storage offset {RestrictedUnpickler.Describe(args[1])}, expected an int");
            return new PendingTensor(storage, offset, Integers(args[2], "size", storage), Integers(args[3], "stride", storage), dtype);
        }

        private long[] Integers(object? value, string what, StorageRef storage)
        {
            if (value is object?[] tuple && tuple.All(v => v is long))
                return tuple.Select(v => (long)v!).ToArray();
            throw new InvalidDataException($"{path}: a tensor on {storage} has {what} {RestrictedUnpickler.Describe(value)}, expected a tuple of ints");
        }

        public void Build(object? target, object? state)
        {
            // OrderedDict state: torch.nn.Module.state_dict() attaches _metadata (module versions); not needed here.
            if (target is PickleDict dict)
            {
                dict.State = state;
                return;
            }
            throw new InvalidDataException($"{path}: the pickle sets state on a {RestrictedUnpickler.Describe(target)}, which a state dict never does");
        }

        public object? PersistentLoad(object? pid)
        {
            // ('storage', storage_type, key, location, numel)
            if (pid is not object?[] { Length: 5 } t || t[0] is not "storage")
                throw new InvalidDataException($"{path}: unsupported persistent id {RestrictedUnpickler.Describe(pid)}; expected ('storage', type, key, location, numel)");
            if (t[1] is not TorchGlobal { Kind: GlobalKind.Storage } type)
                throw new InvalidDataException($"{path}: persistent id names storage type {RestrictedUnpickler.Describe(t[1])}, expected a torch storage class");
            if (t[2] is not string key || t[3] is not string || t[4] is not long count || count < 0)
                throw new InvalidDataException($"{path}: malformed persistent id for a {type.Name}: expected (key: str, location: str, numel: int >= 0)");
            if (_storages.TryGetValue(key, out var existing))
            {
                if (existing.DType != type.DType || existing.Count != count)
                    throw new InvalidDataException($"{path}: storage '{key}' is referenced as {existing.Count} x {existing.DType} and as {count} x {type.DType}");
                return existing;
            }
            var storage = new StorageRef(key, type.DType, count);
            _storages.Add(key, storage);
            return storage;
        }

        private Tensor Materialize(string name, PendingTensor p)
        {
            var storage = Load(p.Storage);
            if (p.DType is { } dtype && dtype != storage.dtype)
                storage = Reinterpret(p.Storage, dtype, name);
            var available = storage.numel();
            var (size, stride, offset) = (p.Size, p.Stride, p.Offset);
            var geometry = $"size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}], storage offset {offset}";
            if (size.Length != stride.Length || size.Any(s => s < 0) || stride.Any(s => s < 0) || offset < 0)
                throw new InvalidDataException($"{path}: tensor '{name}' has an invalid view ({geometry})");
            long count, last = offset;
            try
            {
                count = size.Aggregate(1L, (a, b) => checked(a * b));
                for (var i = 0; i < size.Length; i++)
                    if (size[i] > 0) last = checked(last + (size[i] - 1) * stride[i]);
            }
            catch (OverflowException)
            {
                throw new InvalidDataException($"{path}: tensor '{name}' has an invalid view ({geometry})");
            }
            if (count > 0 && last >= available)
                throw new InvalidDataException($"{path}: tensor '{name}' ({geometry}) reaches element {last} of storage '{p.Storage.Key}', which holds {available}");

            var view = storage.as_strided(size, stride, offset);
            if (view.is_contiguous() && offset == 0 && count == available)
                return view;
            // A strided view is copied into its own contiguous memory; a slice is copied so it does not keep a
            // larger shared storage alive.
            using (view)
                return view.is_contiguous() ? view.clone() : view.contiguous();
        }

        private Tensor Load(StorageRef storage)
        {
            if (storage.Data is not null) return storage.Data;
            var entryName = $"{_prefix}data/{storage.Key}";
            var entry = zip.GetEntry(entryName)
                ?? throw new InvalidDataException($"{path}: storage '{storage.Key}' is missing from the archive (no entry '{entryName}')");
            var what = $"storage '{storage.Key}'";
            CheckStored(entry, what);
            var size = TensorData.ElementSize(storage.DType);
            if (storage.Count > fileLength / size || storage.Count * size != entry.Length)
                throw new InvalidDataException($"{path}: {what} should hold {storage.Count} x {storage.DType} ({storage.Count}x{size} bytes), but its entry has {entry.Length} bytes");
            var data = empty(storage.Count, storage.DType);
            try
            {
                using var stream = entry.Open();
                TensorData.ReadExactly(stream, data);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                data.Dispose();
                throw new InvalidDataException($"{path}: cannot read {what} ({e.Message}); the file may be truncated or corrupt", e);
            }
            storage.Data = data;
            return data;
        }

        /// <summary>_rebuild_tensor_v3 views an untyped (byte) storage as another dtype.</summary>
        private Tensor Reinterpret(StorageRef storage, ScalarType dtype, string name)
        {
            if (storage.Reinterpreted.TryGetValue(dtype, out var done)) return done;
            var size = TensorData.ElementSize(dtype);
            if (storage.DType != ScalarType.Byte || storage.Count % size != 0)
                throw new InvalidDataException($"{path}: tensor '{name}' views storage '{storage.Key}' ({storage.Count} x {storage.DType}) as {dtype}");
            var typed = empty(storage.Count / size, dtype);
            TensorData.CopyBytes(storage.Data!, typed);
            storage.Reinterpreted[dtype] = typed;
            return typed;
        }
    }
}
