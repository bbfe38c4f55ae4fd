using System.Buffers.Binary;
using System.Text;

namespace SerMtl.Checkpoints;

/// <summary>
/// Decides what the names and calls in a pickle may become. The unpickler itself only builds plain data (None,
/// bool, int, float, str, bytes, tuple, list, dict); everything else goes through here, so an implementation that
/// recognises a fixed allow-list makes loading a file unable to run code.
/// </summary>
internal interface IPickleResolver
{
    /// <summary>Returns a token for <c>module.name</c> (GLOBAL / STACK_GLOBAL), or throws when it is not allowed.</summary>
    object FindGlobal(string module, string name);

    /// <summary>REDUCE / NEWOBJ: applies a token from <see cref="FindGlobal"/> to its arguments.</summary>
    object? Call(object? callable, object?[] args);

    /// <summary>BUILD: sets <paramref name="state"/> on <paramref name="target"/>.</summary>
    void Build(object? target, object? state);

    /// <summary>BINPERSID: resolves a persistent id (torch.save uses it for tensor storages).</summary>
    object? PersistentLoad(object? pid);
}

/// <summary>A Python dict as the pickle built it: insertion-ordered, plus the attributes a BUILD set on it.</summary>
internal sealed class PickleDict
{
    private readonly Dictionary<object, int> _index = new();

    public List<KeyValuePair<object, object?>> Items { get; } = [];

    /// <summary>State set by BUILD (e.g. the <c>_metadata</c> of a module state dict), or null.</summary>
    public object? State { get; set; }

    public void Set(object key, object? value)
    {
        if (_index.TryGetValue(key, out var i)) Items[i] = new(key, value);
        else
        {
            _index[key] = Items.Count;
            Items.Add(new(key, value));
        }
    }
}

/// <summary>
/// A pickle interpreter that implements the opcodes of protocols 2–5 a state dict uses and nothing that can reach
/// Python objects by itself: globals, calls, BUILD and persistent ids go to an <see cref="IPickleResolver"/>.
/// Every read is bounds-checked, so a malformed or hostile pickle ends in an <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class RestrictedUnpickler
{
    // Tuples are object?[]; lists List<object?>; dicts PickleDict; ints long; floats double; bytes byte[].
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlyMemory<byte> _data;
    private readonly string _source;
    private readonly IPickleResolver _resolver;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _pos;
    private int _opStart;

    public RestrictedUnpickler(ReadOnlyMemory<byte> data, string source, IPickleResolver resolver)
    {
        _data = data;
        _source = source;
        _resolver = resolver;
    }

    /// <summary>Bytes consumed so far: after <see cref="Load"/>, where the next pickle of a stream starts.</summary>
    public int Position => _pos;

    /// <summary>Runs the pickle to its STOP and returns the object it built.</summary>
    public object? Load()
    {
        while (true)
        {
            _opStart = _pos;
            var op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    var protocol = ReadByte();
                    if (protocol > 5) throw Malformed($"unsupported pickle protocol {protocol}");
                    break;
                case 0x95: // FRAME: an 8-byte length prefix; frames only group opcodes
                    ReadBytes(8);
                    break;
                case (byte)'.': // STOP
                    var result = Pop();
                    return result;
                case (byte)'(': // MARK
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'1': // POP_MARK
                    PopMark();
                    break;
                case (byte)'2': // DUP
                    Push(Peek());
                    break;

                case (byte)'N': Push(null); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: Push(ReadLong(ReadLength(4))); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT

                case (byte)'X': Push(ReadString(ReadLength(4))); break; // BINUNICODE
                case 0x8c: Push(ReadString(ReadByte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadString(ReadLength(8))); break; // BINUNICODE8
                case (byte)'B': Push(ReadBytes(ReadLength(4)).ToArray()); break; // BINBYTES
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: Push(ReadBytes(ReadLength(8)).ToArray()); break; // BINBYTES8

                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: // TUPLE2
                {
                    var b = Pop();
                    var a = Pop();
                    Push(new[] { a, b });
                    break;
                }
                case 0x87: // TUPLE3
                {
                    var c = Pop();
                    var b = Pop();
                    var a = Pop();
                    Push(new[] { a, b, c });
                    break;
                }
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': Push(PopMark()); break; // LIST
                case (byte)'a': // APPEND
                {
                    var item = Pop();
                    PeekAs<List<object?>>("APPEND").Add(item);
                    break;
                }
                case (byte)'e': // APPENDS
                {
                    var items = PopMark();
                    PeekAs<List<object?>>("APPENDS").AddRange(items);
                    break;
                }
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)'d': // DICT
                {
                    var items = PopMark();
                    var dict = new PickleDict();
                    SetItems(dict, items);
                    Push(dict);
                    break;
                }
                case (byte)'s': // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    SetItems(PeekAs<PickleDict>("SETITEM"), [key, value]);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopMark();
                    SetItems(PeekAs<PickleDict>("SETITEMS"), items);
                    break;
                }

                case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[ReadLength(4)] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(ReadLength(4))); break; // LONG_BINGET

                case (byte)'c': // GLOBAL: "module\nname\n"
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(_resolver.FindGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop() as string ?? throw Malformed("STACK_GLOBAL needs a string name");
                    var module = Pop() as string ?? throw Malformed("STACK_GLOBAL needs a string module");
                    Push(_resolver.FindGlobal(module, name));
                    break;
                }
                case (byte)'R': // REDUCE
                case 0x81: // NEWOBJ
                {
                    var args = Pop() as object?[] ?? throw Malformed("REDUCE / NEWOBJ needs an argument tuple");
                    var callable = Pop();
                    Push(_resolver.Call(callable, args));
                    break;
                }
                case (byte)'b': // BUILD
                {
                    var state = Pop();
                    _resolver.Build(Peek(), state);
                    break;
                }
                case (byte)'Q': // BINPERSID
                    Push(_resolver.PersistentLoad(Pop()));
                    break;

                default:
                    throw Malformed($"unsupported pickle opcode 0x{op:x2}{(op is >= 0x20 and < 0x7f ? $" ('{(char)op}')" : "")}; only the opcodes of a plain state dict are accepted");
            }
        }
    }

    private InvalidDataException Malformed(string message) =>
        new($"{_source}: malformed pickle at byte {_opStart}: {message}");

    /// <summary>Marks an error as "the pickle ended before its STOP" (see <see cref="IsTruncation"/>).</summary>
    private InvalidDataException Truncated(string message)
    {
        var e = Malformed(message);
        e.Data[TruncatedKey] = true;
        return e;
    }

    private const string TruncatedKey = "SerMtl.PickleTruncated";

    /// <summary>True when <paramref name="e"/> says the data ended inside the pickle (truncated, or a prefix cut too short).</summary>
    public static bool IsTruncation(InvalidDataException e) => e.Data.Contains(TruncatedKey);

    private byte ReadByte()
    {
        if (_pos >= _data.Length) throw Truncated("unexpected end of data (no STOP)");
        return _data.Span[_pos++];
    }

    private ReadOnlySpan<byte> ReadBytes(long count)
    {
        if (count < 0 || count > _data.Length - _pos)
            throw Truncated($"needs {count} bytes but only {_data.Length - _pos} remain");
        var span = _data.Span.Slice(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    /// <summary>An unsigned length field of 4 or 8 bytes, checked against what remains of the pickle.</summary>
    private long ReadLength(int width)
    {
        var bytes = ReadBytes(width);
        var value = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (value > (ulong)int.MaxValue) throw Malformed($"length {value} is too large");
        return (long)value;
    }

    /// <summary>LONG1 / LONG4: little-endian two's complement of <paramref name="count"/> bytes; up to 64 bits.</summary>
    private long ReadLong(long count)
    {
        if (count > 8) throw Malformed($"integer of {count} bytes does not fit 64 bits");
        var bytes = ReadBytes(count);
        if (count == 0) return 0;
        long value = 0;
        for (var i = (int)count - 1; i >= 0; i--) value = (value << 8) | bytes[i];
        var shift = 64 - 8 * (int)count;
        return shift == 0 ? value : (value << shift) >> shift; // sign-extend
    }

    private string ReadString(long count)
    {
        try
        {
            return StrictUtf8.GetString(ReadBytes(count));
        }
        catch (DecoderFallbackException)
        {
            throw Malformed("string is not valid UTF-8");
        }
    }

    private string ReadLine()
    {
        var rest = _data.Span[_pos..];
        var end = rest.IndexOf((byte)'\n');
        if (end < 0 || end > 256) throw Malformed("GLOBAL name is not a short newline-terminated line");
        var line = Encoding.ASCII.GetString(rest[..end]);
        if (line.Any(ch => ch < 0x20 || ch > 0x7e)) throw Malformed("GLOBAL name is not printable ASCII");
        _pos += end + 1;
        return line;
    }

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks.Peek() == _stack.Count))
            throw Malformed("stack underflow");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks.Peek() == _stack.Count))
            throw Malformed("stack underflow");
        return _stack[^1];
    }

    private T PeekAs<T>(string opcode) where T : class =>
        Peek() as T ?? throw Malformed($"{opcode} expects a {typeof(T).Name} below its operands, found {Describe(Peek())}");

    /// <summary>Removes and returns everything above the topmost MARK.</summary>
    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Malformed("no MARK to pop to");
        var start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private object? MemoGet(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Malformed($"memo entry {index} was never stored");

    private void SetItems(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Malformed("odd number of items for a dict");
        for (var i = 0; i < items.Count; i += 2)
        {
            var key = items[i];
            if (key is not (string or long or bool or double))
                throw Malformed($"dict key of type {Describe(key)} is not supported");
            dict.Set(key, items[i + 1]);
        }
    }

    internal static string Describe(object? value) => value switch
    {
        null => "None",
        string => "str",
        long => "int",
        bool => "bool",
        double => "float",
        byte[] => "bytes",
        object?[] => "tuple",
        List<object?> => "list",
        PickleDict => "dict",
        _ => value.ToString() ?? value.GetType().Name,
    };
}
