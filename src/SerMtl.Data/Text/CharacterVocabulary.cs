using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SerMtl.Data.Text;

/// <summary>
/// A character-level CTC vocabulary in the layout of HuggingFace's <c>Wav2Vec2CTCTokenizer</c>: a <c>vocab.json</c>
/// object mapping each token to its id, and the names of its special tokens in <c>tokenizer_config.json</c>. Every
/// token is one character, except special tokens written as <c>&lt;...&gt;</c> or <c>[...]</c>. The CTC blank is the
/// padding token (<c>&lt;pad&gt;</c> at id 0 in <c>facebook/wav2vec2-base-960h</c>; <c>[PAD]</c>, often last, in
/// vocabularies made by HF's fine-tuning recipe); the word delimiter (<c>|</c>) stands for the space between words.
/// </summary>
public sealed class CharacterVocabulary
{
    /// <summary>The padding token, which CTC uses as its blank.</summary>
    public const string BlankToken = "<pad>";

    /// <summary>The token that stands for the space between words.</summary>
    public const string WordDelimiterToken = "|";

    /// <summary>The unknown-character token.</summary>
    public const string UnknownToken = "<unk>";

    /// <summary>The beginning-of-sentence token (unused by CTC; kept for id compatibility).</summary>
    public const string BeginToken = "<s>";

    /// <summary>The end-of-sentence token (unused by CTC; kept for id compatibility).</summary>
    public const string EndToken = "</s>";

    // A vocab.json is a few hundred bytes; anything near this is not a character vocabulary.
    private const long MaxFileBytes = 4 * 1024 * 1024;

    // facebook/wav2vec2-base-960h's vocab.json, in id order:
    //   0 <pad> (CTC blank), 1 <s>, 2 </s>, 3 <unk>, 4 | (word delimiter),
    //   5 E, 6 T, 7 A, 8 O, 9 N, 10 I, 11 H, 12 S, 13 R, 14 D, 15 L, 16 U, 17 M, 18 W, 19 C, 20 F, 21 G,
    //   22 Y, 23 P, 24 B, 25 V, 26 K, 27 ', 28 X, 29 J, 30 Q, 31 Z
    // (letters ordered by their frequency in LibriSpeech, which is how that vocabulary was built). The ids must
    // match exactly for the checkpoint's lm_head rows to mean the right characters.
    private static readonly string[] Base960hTokens =
    [
        BlankToken, BeginToken, EndToken, UnknownToken, WordDelimiterToken,
        "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "M", "W", "C", "F", "G",
        "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z",
    ];

    private readonly string[] _tokens;
    private readonly Dictionary<Rune, int> _characterIds;
    private readonly Dictionary<string, int> _tokenIds;

    /// <summary>Creates a vocabulary from its tokens in id order (token i has id i), with <c>&lt;pad&gt;</c> at id 0 as the blank.</summary>
    /// <exception cref="ArgumentException">A token is empty, repeated, longer than one character without being a
    /// <c>&lt;...&gt;</c> or <c>[...]</c> special token, or <c>&lt;pad&gt;</c> is not at id 0, or <c>|</c> is missing.</exception>
    public CharacterVocabulary(IEnumerable<string> tokensInIdOrder)
        : this(tokensInIdOrder?.ToArray() ?? throw new ArgumentNullException(nameof(tokensInIdOrder)),
               "vocabulary", message => new ArgumentException(message, nameof(tokensInIdOrder)), blankAtZero: true)
    {
    }

    /// <summary>
    /// Creates a vocabulary from its tokens in id order whose special tokens are named as in HF's
    /// <c>tokenizer_config.json</c>: the blank (<c>pad_token</c>, at any id), the word delimiter
    /// (<c>word_delimiter_token</c>) and the unknown token (<c>unk_token</c>, null when there is none).
    /// </summary>
    /// <exception cref="ArgumentException">A token is empty, repeated or neither one character nor a special token, or
    /// the blank or the word delimiter is not among the tokens.</exception>
    public CharacterVocabulary(IEnumerable<string> tokensInIdOrder, string blankToken, string wordDelimiterToken = WordDelimiterToken, string? unknownToken = UnknownToken)
        : this(tokensInIdOrder?.ToArray() ?? throw new ArgumentNullException(nameof(tokensInIdOrder)),
               "vocabulary", message => new ArgumentException(message, nameof(tokensInIdOrder)), blankAtZero: false,
               blankToken ?? throw new ArgumentNullException(nameof(blankToken)),
               wordDelimiterToken ?? throw new ArgumentNullException(nameof(wordDelimiterToken)), unknownToken)
    {
    }

    private CharacterVocabulary(string[] tokens, string source, Func<string, Exception> error, bool blankAtZero,
        string blankToken = BlankToken, string wordDelimiterToken = WordDelimiterToken, string? unknownToken = UnknownToken)
    {
        if (tokens.Length == 0)
            throw error($"{source}: the vocabulary is empty");
        _tokens = tokens;
        Blank = blankToken;
        WordDelimiter = wordDelimiterToken;
        _tokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        _characterIds = new Dictionary<Rune, int>();
        for (var id = 0; id < tokens.Length; id++)
        {
            var token = tokens[id];
            if (string.IsNullOrEmpty(token))
                throw error($"{source}: token at id {id} is empty");
            if (!_tokenIds.TryAdd(token, id))
                throw error($"{source}: token '{token}' appears at ids {_tokenIds[token]} and {id}");
            if (IsSpecial(token) || token == blankToken || token == unknownToken) continue;
            if (Rune.DecodeFromUtf16(token, out var rune, out var used) != OperationStatus.Done || used != token.Length)
                throw error($"{source}: token '{token}' at id {id} is neither one character nor a <...> special token; only character vocabularies are supported");
            _characterIds[rune] = id;
        }
        if (blankAtZero && (!_tokenIds.TryGetValue(blankToken, out var atZero) || atZero != 0))
            throw error($"{source}: expected the CTC blank '{blankToken}' at id 0, found {(_tokenIds.TryGetValue(blankToken, out var other) ? $"it at id {other}" : "no such token")}"
                + (tokens.Any(t => t is "[PAD]") ? "; a vocabulary whose blank is '[PAD]' names it in tokenizer_config.json (CharacterVocabulary.LoadPretrained reads both files)" : ""));
        if (!_tokenIds.TryGetValue(blankToken, out var blank))
            throw error($"{source}: the CTC blank (padding token) '{blankToken}' is not in the vocabulary");
        BlankId = blank;
        if (!_tokenIds.TryGetValue(wordDelimiterToken, out var delimiter))
            throw error($"{source}: the word delimiter '{wordDelimiterToken}' is missing");
        if (delimiter == blank)
            throw error($"{source}: the word delimiter and the CTC blank are the same token '{blankToken}'");
        WordDelimiterId = delimiter;
        UnknownId = unknownToken is not null && _tokenIds.TryGetValue(unknownToken, out var unknown) ? unknown : null;
    }

    /// <summary>The 32-token vocabulary of <c>facebook/wav2vec2-base-960h</c>, in its exact id order.</summary>
    public static CharacterVocabulary Wav2Vec2Base960h { get; } =
        new(Base960hTokens, "wav2vec2-base-960h", message => new InvalidOperationException(message), blankAtZero: true);

    /// <summary>Number of tokens (the CTC head's output size).</summary>
    public int Count => _tokens.Length;

    /// <summary>The tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>Id of the CTC blank (the padding token): 0 in <c>wav2vec2-base-960h</c>'s vocabulary, often the last id in fine-tuned ones.</summary>
    public int BlankId { get; }

    /// <summary>The CTC blank (padding) token, e.g. <c>&lt;pad&gt;</c> or <c>[PAD]</c>.</summary>
    public string Blank { get; }

    /// <summary>The word delimiter token, <c>|</c> unless the tokenizer names another.</summary>
    public string WordDelimiter { get; }

    /// <summary>Whether <paramref name="other"/> has the same tokens in the same order and the same blank and word delimiter.</summary>
    public bool HasSameTokens(CharacterVocabulary other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _tokens.AsSpan().SequenceEqual(other._tokens) && BlankId == other.BlankId && WordDelimiterId == other.WordDelimiterId;
    }

    /// <summary>Id of the word delimiter <c>|</c>.</summary>
    public int WordDelimiterId { get; }

    /// <summary>Id of <c>&lt;unk&gt;</c>, or null when the vocabulary has none.</summary>
    public int? UnknownId { get; }

    /// <summary>Looks up the id of <paramref name="token"/> (a character or a special token such as <c>&lt;pad&gt;</c>).</summary>
    public bool TryGetId(string token, out int id) => _tokenIds.TryGetValue(token, out id);

    /// <summary>Whether <paramref name="character"/> is one of the vocabulary's character tokens.</summary>
    public bool Contains(Rune character) => _characterIds.ContainsKey(character);

    /// <summary>
    /// Encodes normalised text (see <see cref="TranscriptNormalizer"/>) to ids, one per character; a space and
    /// <c>|</c> both become the word delimiter.
    /// </summary>
    /// <exception cref="ArgumentException">The text holds a character outside the vocabulary (normalise it first).</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        var position = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == ' ')
                ids.Add(WordDelimiterId);
            else if (_characterIds.TryGetValue(rune, out var id))
                ids.Add(id);
            else
                throw new ArgumentException(
                    $"character '{rune}' (U+{rune.Value:X4}) at position {position} of \"{text}\" is not in the vocabulary; normalise the text with TranscriptNormalizer first",
                    nameof(text));
            position += rune.Utf16SequenceLength;
        }
        return ids.ToArray();
    }

    /// <summary>
    /// Decodes ids to text: the blank, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> are skipped, the word delimiter becomes a
    /// space, runs of spaces collapse to one and the result is trimmed; other special tokens (e.g.
    /// <c>&lt;unk&gt;</c>) are written as they are. No CTC collapsing happens here (see the CTC decoder).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="Count"/>).</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} is outside the vocabulary [0, {_tokens.Length})");
            var token = _tokens[id];
            if (id == BlankId || token is BeginToken or EndToken) continue;
            if (id == WordDelimiterId)
            {
                if (text.Length > 0 && text[^1] != ' ') text.Append(' ');
                continue;
            }
            text.Append(token);
        }
        if (text.Length > 0 && text[^1] == ' ') text.Length--;
        return text.ToString();
    }

    /// <summary>Reads a HuggingFace <c>vocab.json</c> (an object of token → id, ids 0..N-1 each used once).</summary>
    /// <exception cref="InvalidDataException">The file is not such an object; the message names the file and the problem.</exception>
    public static CharacterVocabulary Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Load(path, null);
    }

    private static CharacterVocabulary Load(string path, SpecialTokens? tokenizer)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: vocabulary file not found", path);
        if (info.Length > MaxFileBytes)
            throw new InvalidDataException($"{path}: {info.Length} bytes is too large for a character vocabulary (at most {MaxFileBytes})");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object of token -> id, found {doc.RootElement.ValueKind}");
            var entries = new List<(string Token, int Id)>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Object)
                    throw new InvalidDataException($"{path}: '{property.Name}' holds a vocabulary of its own (one per language, as multilingual tokenizers write them); only a single vocabulary is supported");
                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var id))
                    throw new InvalidDataException($"{path}: token '{property.Name}' has id {property.Value.GetRawText()}, expected an integer");
                entries.Add((property.Name, id));
            }
            var tokens = new string?[entries.Count];
            foreach (var (token, id) in entries)
            {
                if (id < 0 || id >= entries.Count)
                    throw new InvalidDataException($"{path}: token '{token}' has id {id}, expected ids 0..{entries.Count - 1} (one per token)");
                if (tokens[id] is { } other)
                    throw new InvalidDataException($"{path}: tokens '{other}' and '{token}' share id {id}");
                tokens[id] = token;
            }
            return new CharacterVocabulary(tokens!, path, message => new InvalidDataException(message), blankAtZero: tokenizer is null,
                tokenizer?.Blank ?? BlankToken, tokenizer?.WordDelimiter ?? WordDelimiterToken, tokenizer is null ? UnknownToken : tokenizer.Unknown);
        }
    }

    /// <summary>
    /// Reads the CTC tokenizer of a HuggingFace model directory: <c>vocab.json</c>, with the special tokens named by
    /// <c>tokenizer_config.json</c> (<c>pad_token</c>, <c>word_delimiter_token</c>, <c>unk_token</c>, as strings or
    /// HF's <c>{"content": ...}</c> objects) or, failing that, <c>special_tokens_map.json</c>; without either, the
    /// defaults (<c>&lt;pad&gt;</c> at id 0, <c>|</c>, <c>&lt;unk&gt;</c>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The directory has no vocab.json.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or names a token the vocabulary lacks; the message names the file.</exception>
    public static CharacterVocabulary LoadPretrained(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        SpecialTokens? tokenizer = null;
        foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path)) continue;
            tokenizer = ReadSpecialTokens(path);
            if (tokenizer is not null) break;
        }
        return Load(Path.Combine(directory, "vocab.json"), tokenizer);
    }

    /// <summary>
    /// Writes <c>vocab.json</c> and a <c>tokenizer_config.json</c> naming the special tokens (HF's
    /// <c>Wav2Vec2CTCTokenizer</c> reads them), each atomically (a temporary file renamed over the old one).
    /// </summary>
    public void SavePretrained(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        var vocabPath = Path.Combine(directory, "vocab.json");
        Save(vocabPath + ".tmp");
        File.Move(vocabPath + ".tmp", vocabPath, overwrite: true);
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        using (var stream = File.Create(configPath + ".tmp"))
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("tokenizer_class", "Wav2Vec2CTCTokenizer");
            writer.WriteString("pad_token", Blank);
            writer.WriteString("word_delimiter_token", WordDelimiter);
            if (UnknownId is { } unknown) writer.WriteString("unk_token", _tokens[unknown]);
            else writer.WriteNull("unk_token");
            writer.WriteEndObject();
        }
        File.Move(configPath + ".tmp", configPath, overwrite: true);
    }

    private sealed record SpecialTokens(string Blank, string WordDelimiter, string? Unknown);

    /// <summary>The special-token names of a tokenizer_config.json or special_tokens_map.json, or null when it names no pad token.</summary>
    private static SpecialTokens? ReadSpecialTokens(string path)
    {
        if (new FileInfo(path).Length > MaxFileBytes)
            throw new InvalidDataException($"{path}: too large for a tokenizer configuration (at most {MaxFileBytes} bytes)");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object, found {doc.RootElement.ValueKind}");
            string? Token(string field)
            {
                if (!doc.RootElement.TryGetProperty(field, out var value)) return null;
                return value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Null => null,
                    // HF's AddedToken serialisation: {"content": "[PAD]", "lstrip": false, ...}
                    JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
                    _ => throw new InvalidDataException($"{path}: '{field}' is {value.ValueKind}, expected a token string"),
                };
            }
            var pad = Token("pad_token");
            if (pad is null) return null;
            var hasUnknown = doc.RootElement.TryGetProperty("unk_token", out _);
            return new SpecialTokens(pad, Token("word_delimiter_token") ?? WordDelimiterToken, hasUnknown ? Token("unk_token") : UnknownToken);
        }
    }

    /// <summary>Writes the vocabulary as a HuggingFace <c>vocab.json</c> (tokens in id order, UTF-8, unescaped).</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = true,
            // Keep '<pad>' and "'" readable, as HF writes them (ensure_ascii=False).
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        writer.WriteStartObject();
        for (var id = 0; id < _tokens.Length; id++) writer.WriteNumber(_tokens[id], id);
        writer.WriteEndObject();
    }

    private static bool IsSpecial(string token) => token.Length > 2 && ((token[0] == '<' && token[^1] == '>') || (token[0] == '[' && token[^1] == ']'));
}
