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
    /// <summary>
    /// Reads every tensor of the state dict in <paramref name="path"/> onto the CPU, in its stored dtype: a
    /// <c>torch.save</c> zip archive, or the legacy format of PyTorch before 1.6 (a stream of pickles followed by the
    /// storages' bytes), both through the same restricted unpickler.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is not a <c>torch.save</c> file of a flat state dict (truncated, a disallowed global, a missing
    /// storage, ...); the message names the file and the offending key.
    /// </exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("torch.save data are read as little-endian; big-endian hosts are not supported");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (IsLegacy(file)) return new LegacyReader(file, path).ReadStateDict();
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

    /// <summary>A pickle PROTO opcode first: torch.save before PyTorch 1.6, or <c>_use_new_zipfile_serialization=False</c>.</summary>
    private static bool IsLegacy(FileStream file)
    {
        var first = file.ReadByte();
        file.Position = 0;
        return first == 0x80;
    }

    private static void CheckSignature(FileStream file, string path)
    {
        Span<byte> head = stackalloc byte[4];
        var n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        file.Position = 0;
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

    /// <summary>
    /// What both formats share: the allow-listed globals, tensors rebuilt as views of storages, and the state dict
    /// assembled from them; a format says where storages come from (<see cref="PersistentLoad"/>, <see cref="Load"/>).
    /// </summary>
    private abstract class StateDictReader(long fileLength, string path) : IPickleResolver
    {
        /// <summary>The storages the pickle named, by key.</summary>
        protected Dictionary<string, StorageRef> Storages { get; } = new(StringComparer.Ordinal);

        /// <summary>The file, for messages.</summary>
        protected string FilePath => path;

        /// <summary>The file's length: no storage may claim more.</summary>
        protected long FileLength => fileLength;

        /// <summary>The state dict the object pickle (<paramref name="root"/>, read from <paramref name="where"/>) describes, its tensors materialised.</summary>
        protected Dictionary<string, Tensor> StateDict(Func<object?> root, string where)
        {
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                var value = root();
                if (value is not PickleDict dict)
                    throw new InvalidDataException($"{path}: expected a state dict (a dict of tensors) in {where}, found a {RestrictedUnpickler.Describe(value)}");
                foreach (var (key, item) in dict.Items)
                {
                    if (key is not string name)
                        throw new InvalidDataException($"{path}: state dict key {key} is a {RestrictedUnpickler.Describe(key)}, expected a string");
                    if (item is not PendingTensor pending)
                        throw new InvalidDataException($"{path}: '{name}' holds a {RestrictedUnpickler.Describe(item)}, not a tensor; only flat state dicts of tensors are supported (for a training checkpoint, save model.state_dict() alone)");
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
                foreach (var s in Storages.Values)
                {
                    s.Data?.Dispose();
                    foreach (var t in s.Reinterpreted.Values) t.Dispose();
                }
            }
        }

        public abstract object? PersistentLoad(object? pid);

        /// <summary>The storage's elements, read on first use.</summary>
        protected abstract Tensor Load(StorageRef storage);

        /// <summary>The storage named by <paramref name="key"/>, registered on first sight and checked against earlier references.</summary>
        protected StorageRef Register(string key, TorchGlobal type, long count)
        {
            if (Storages.TryGetValue(key, out var existing))
            {
                if (existing.DType != type.DType || existing.Count != count)
                    throw new InvalidDataException($"{path}: storage '{key}' is referenced as {existing.Count} x {existing.DType} and as {count} x {type.DType}");
                return existing;
            }
            var storage = new StorageRef(key, type.DType, count);
            Storages.Add(key, storage);
            return storage;
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

    /// <summary>The zip archive torch.save writes since PyTorch 1.6: data.pkl and one entry per storage.</summary>
    private sealed class ArchiveReader(ZipArchive zip, long fileLength, string path) : StateDictReader(fileLength, path)
    {
        private string _prefix = "";

        public Dictionary<string, Tensor> ReadStateDict()
        {
            var pickle = ReadPickle();
            return StateDict(() => new RestrictedUnpickler(pickle, $"{FilePath} ({_prefix}data.pkl)", this).Load(), "data.pkl");
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
                throw new InvalidDataException($"{FilePath}: corrupt zip directory ({e.Message})", e);
            }
            if (entries.Count == 0)
                throw new InvalidDataException($"{FilePath}: the zip archive is empty, expected a torch.save archive with data.pkl");
            // torch names every entry "<archive>/..." after the file it first saved to; use the first entry's folder.
            var first = entries[0].FullName;
            _prefix = first.Contains('/') ? first[..(first.IndexOf('/') + 1)] : "";
            var pkl = zip.GetEntry(_prefix + "data.pkl");
            if (pkl is null)
            {
                if (zip.GetEntry(_prefix + "constants.pkl") is not null || entries.Any(e => e.FullName.StartsWith(_prefix + "code/", StringComparison.Ordinal)))
                    throw new InvalidDataException($"{FilePath}: a TorchScript archive (torch.jit.save), not a state dict saved with torch.save");
                throw new InvalidDataException($"{FilePath}: no '{_prefix}data.pkl' entry; not an archive written by torch.save");
            }
            var byteOrder = zip.GetEntry(_prefix + "byteorder");
            if (byteOrder is not null)
            {
                var order = System.Text.Encoding.ASCII.GetString(ReadEntry(byteOrder, "byteorder", maxBytes: 16)).Trim();
                if (order != "little")
                    throw new InvalidDataException($"{FilePath}: byteorder is '{order}'; only little-endian checkpoints are supported");
            }
            return ReadEntry(pkl, "data.pkl", maxBytes: int.MaxValue);
        }

        private byte[] ReadEntry(ZipArchiveEntry entry, string what, long maxBytes)
        {
            CheckStored(entry, what);
            if (entry.Length > maxBytes)
                throw new InvalidDataException($"{FilePath}: {what} entry is {entry.Length} bytes, more than the {maxBytes} expected");
            var bytes = new byte[entry.Length];
            try
            {
                using var stream = entry.Open();
                stream.ReadExactly(bytes);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                throw new InvalidDataException($"{FilePath}: cannot read the {what} entry ({e.Message}); the file may be truncated or corrupt", e);
            }
            return bytes;
        }

        /// <summary>torch.save stores entries uncompressed; this also bounds every allocation by the file size.</summary>
        private void CheckStored(ZipArchiveEntry entry, string what)
        {
            if (entry.CompressedLength != entry.Length)
                throw new InvalidDataException($"{FilePath}: {what} entry is compressed ({entry.CompressedLength} -> {entry.Length} bytes); torch.save stores entries uncompressed");
            if (entry.Length > FileLength)
                throw new InvalidDataException($"{FilePath}: {what} entry claims {entry.Length} bytes, more than the whole file ({FileLength})");
        }

        public override object? PersistentLoad(object? pid)
        {
            // ('storage', storage_type, key, location, numel)
            if (pid is not object?[] { Length: 5 } t || t[0] is not "storage")
                throw new InvalidDataException($"{FilePath}: unsupported persistent id {RestrictedUnpickler.Describe(pid)}; expected ('storage', type, key, location, numel)");
            if (t[1] is not TorchGlobal { Kind: GlobalKind.Storage } type)
                throw new InvalidDataException($"{FilePath}: persistent id names storage type {RestrictedUnpickler.Describe(t[1])}, expected a torch storage class");
            if (t[2] is not string key || t[3] is not string || t[4] is not long count || count < 0)
                throw new InvalidDataException($"{FilePath}: malformed persistent id for a {type.Name}: expected (key: str, location: str, numel: int >= 0)");
            return Register(key, type, count);
        }

        protected override Tensor Load(StorageRef storage)
        {
            if (storage.Data is not null) return storage.Data;
            var entryName = $"{_prefix}data/{storage.Key}";
            var entry = zip.GetEntry(entryName)
                ?? throw new InvalidDataException($"{FilePath}: storage '{storage.Key}' is missing from the archive (no entry '{entryName}')");
            var what = $"storage '{storage.Key}'";
            CheckStored(entry, what);
            var size = TensorData.ElementSize(storage.DType);
            if (storage.Count > FileLength / size || storage.Count * size != entry.Length)
                throw new InvalidDataException($"{FilePath}: {what} should hold {storage.Count} x {storage.DType} ({storage.Count}x{size} bytes), but its entry has {entry.Length} bytes");
            var data = empty(storage.Count, storage.DType);
            try
            {
                using var stream = entry.Open();
                TensorData.ReadExactly(stream, data);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                data.Dispose();
                throw new InvalidDataException($"{FilePath}: cannot read {what} ({e.Message}); the file may be truncated or corrupt", e);
            }
            storage.Data = data;
            return data;
        }
    }

    /// <summary>
    /// torch.save before PyTorch 1.6 (and with <c>_use_new_zipfile_serialization=False</c>): five pickles in a row
    /// (magic number, protocol version 1001, system info, the object, the sorted storage keys), then each storage's
    /// element count (int64) and bytes in key order. The pickles go through the same restricted unpickler; storages
    /// are read from their offsets in the file when a tensor needs them.
    /// </summary>
    private sealed class LegacyReader(FileStream file, string path) : StateDictReader(file.Length, path)
    {
        // pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): PROTO 2, LONG1 of 10 bytes, STOP.
        private static readonly byte[] MagicPickle = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
        private const long ProtocolVersion = 1001;
        private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal); // where each storage's bytes start

        public Dictionary<string, Tensor> ReadStateDict()
        {
            // The pickles are small and come first; read a prefix of the file, growing it until they fit.
            for (var prefix = (int)Math.Min(file.Length, 1 << 20); ; prefix = (int)Math.Min(file.Length, (long)prefix * 4))
            {
                var bytes = new byte[prefix];
                file.Position = 0;
                file.ReadExactly(bytes);
                try
                {
                    return Parse(bytes);
                }
                catch (InvalidDataException e) when (RestrictedUnpickler.IsTruncation(e) && prefix < file.Length && prefix < int.MaxValue / 4)
                {
                    // The prefix ended inside a pickle: try a longer one.
                }
            }
        }

        private Dictionary<string, Tensor> Parse(byte[] bytes)
        {
            if (bytes.Length < MagicPickle.Length || !bytes.AsSpan(0, MagicPickle.Length).SequenceEqual(MagicPickle))
                throw new InvalidDataException($"{FilePath}: a pickle stream, but not one written by torch.save (no torch magic number)");
            var position = MagicPickle.Length;
            object? Next(string what)
            {
                var unpickler = new RestrictedUnpickler(bytes.AsMemory(position), $"{FilePath} ({what})", this);
                var value = unpickler.Load();
                position += unpickler.Position;
                return value;
            }
            if (Next("protocol version") is not ProtocolVersion and var version)
                throw new InvalidDataException($"{FilePath}: legacy torch.save protocol {RestrictedUnpickler.Describe(version)}, expected {ProtocolVersion}");
            if (Next("system info") is PickleDict info && info.Items.FirstOrDefault(kv => kv.Key is "little_endian").Value is false)
                throw new InvalidDataException($"{FilePath}: saved on a big-endian machine; only little-endian checkpoints are supported");
            object? root = null;
            return StateDict(() =>
            {
                root = Next("object pickle");
                if (Next("storage keys") is not List<object?> keys || keys.Any(k => k is not string))
                    throw new InvalidDataException($"{FilePath}: the storage key list after the object pickle is malformed");
                long offset = position;
                foreach (var key in keys.Cast<string>())
                {
                    if (!Storages.TryGetValue(key, out var storage))
                        throw new InvalidDataException($"{FilePath}: storage '{key}' is listed but no tensor uses it");
                    var count = ReadCount(offset, key);
                    if (count != storage.Count)
                        throw new InvalidDataException($"{FilePath}: storage '{key}' holds {count} elements, the pickle says {storage.Count}");
                    _offsets[key] = offset + 8;
                    offset = checked(offset + 8 + count * TensorData.ElementSize(storage.DType));
                    if (offset > FileLength)
                        throw new InvalidDataException($"{FilePath}: storage '{key}' ends at byte {offset}, past the end of the file ({FileLength} bytes); the file is truncated");
                }
                return root;
            }, "the object pickle");
        }

        private long ReadCount(long offset, string key)
        {
            if (offset + 8 > FileLength)
                throw new InvalidDataException($"{FilePath}: storage '{key}' starts at byte {offset}, past the end of the file ({FileLength} bytes); the file is truncated");
            Span<byte> count = stackalloc byte[8];
            file.Position = offset;
            file.ReadExactly(count);
            var n = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(count);
            if (n < 0 || n > FileLength) throw new InvalidDataException($"{FilePath}: storage '{key}' claims {n} elements");
            return n;
        }

        public override object? PersistentLoad(object? pid)
        {
            // ('storage', storage_type, key, location, numel, view_metadata); view_metadata is None since PyTorch 1.0.
            if (pid is not object?[] { Length: 6 } t || t[0] is not "storage")
                throw new InvalidDataException($"{FilePath}: unsupported persistent id {RestrictedUnpickler.Describe(pid)}; expected ('storage', type, key, location, numel, view_metadata)");
            if (t[1] is not TorchGlobal { Kind: GlobalKind.Storage } type)
                throw new InvalidDataException($"{FilePath}: persistent id names storage type {RestrictedUnpickler.Describe(t[1])}, expected a torch storage class");
            if (t[2] is not string key || t[3] is not string || t[4] is not long count || count < 0)
                throw new InvalidDataException($"{FilePath}: malformed persistent id for a {type.Name}: expected (key: str, location: str, numel: int >= 0, ...)");
            if (t[5] is not null)
                throw new InvalidDataException($"{FilePath}: storage '{key}' is a view of another storage (PyTorch before 1.0); re-save the checkpoint with a newer PyTorch");
            return Register(key, type, count);
        }

        protected override Tensor Load(StorageRef storage)
        {
            if (storage.Data is not null) return storage.Data;
            if (!_offsets.TryGetValue(storage.Key, out var offset))
                throw new InvalidDataException($"{FilePath}: storage '{storage.Key}' is not in the storage key list");
            var data = empty(storage.Count, storage.DType);
            try
            {
                file.Position = offset;
                TensorData.ReadExactly(file, data);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                data.Dispose();
                throw new InvalidDataException($"{FilePath}: cannot read storage '{storage.Key}' ({e.Message}); the file may be truncated or corrupt", e);
            }
            storage.Data = data;
            return data;
        }
    }
}
