using SerMtl.Data.Text;

namespace SerMtl.Data.Tests.Text;

public class CharacterVocabularyTests
{
    [Fact]
    public void Wav2Vec2Base960h_HasTheCheckpointIdOrder()
    {
        var expected = new[]
        {
            "<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L",
            "U", "M", "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z",
        };
        var vocab = CharacterVocabulary.Wav2Vec2Base960h;
        Assert.Equal(expected, vocab.Tokens);
        Assert.Equal(32, vocab.Count);
        Assert.Equal(0, vocab.BlankId);
        Assert.Equal(4, vocab.WordDelimiterId);
        Assert.Equal(3, vocab.UnknownId);
    }

    [Fact]
    public void Encode_MapsCharactersAndSpacesToIds()
    {
        var vocab = CharacterVocabulary.Wav2Vec2Base960h;
        Assert.Equal(new[] { 11, 5, 4, 7, 27, 12 }, vocab.Encode("HE A'S"));
        Assert.Equal(vocab.Encode("HE A'S"), vocab.Encode("HE|A'S"));
    }

    [Fact]
    public void Encode_CharacterOutsideVocabulary_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => CharacterVocabulary.Wav2Vec2Base960h.Encode("HI 2"));
        Assert.Contains("'2'", e.Message);
        Assert.Contains("position 3", e.Message);
    }

    [Fact]
    public void Decode_SkipsBlanksAndSentenceMarks_MapsDelimiterToSingleSpaces()
    {
        var vocab = CharacterVocabulary.Wav2Vec2Base960h;
        // <s> H <pad> I | | <pad> Y O U | </s>
        Assert.Equal("HI YOU", vocab.Decode(new[] { 1, 11, 0, 10, 4, 4, 0, 22, 8, 16, 4, 2 }));
        Assert.Equal("A <unk>", vocab.Decode(new[] { 7, 4, 3 }));
        Assert.Equal("", vocab.Decode(new[] { 0, 4, 0 }));
    }

    [Fact]
    public void Decode_IdOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CharacterVocabulary.Wav2Vec2Base960h.Decode(new[] { 32 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => CharacterVocabulary.Wav2Vec2Base960h.Decode(new[] { -1 }));
    }

    [Fact]
    public void SaveThenLoad_RoundTripsTokensAndIds()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sermtl-vocab-{Guid.NewGuid():N}.json");
        try
        {
            CharacterVocabulary.Wav2Vec2Base960h.Save(path);
            var text = File.ReadAllText(path);
            Assert.Contains("\"<pad>\": 0", text);
            Assert.Contains("\"'\": 27", text);
            var loaded = CharacterVocabulary.Load(path);
            Assert.Equal(CharacterVocabulary.Wav2Vec2Base960h.Tokens, loaded.Tokens);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_HuggingFaceLayoutInAnyKeyOrder_ReadsIdsFromValues()
    {
        // HF writes vocab.json with sorted keys, so the file order is not the id order.
        var path = WriteTemp("{\"'\": 5, \"<pad>\": 0, \"<s>\": 1, \"</s>\": 2, \"<unk>\": 3, \"A\": 6, \"|\": 4}");
        try
        {
            var vocab = CharacterVocabulary.Load(path);
            Assert.Equal(new[] { "<pad>", "<s>", "</s>", "<unk>", "|", "'", "A" }, vocab.Tokens);
            Assert.Equal(new[] { 6, 4, 5 }, vocab.Encode("A '"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"<pad>\": 0, \"|\": 1, \"A\": 5}", "expected ids 0..2")]
    [InlineData("{\"<pad>\": 0, \"|\": 1, \"A\": 1}", "share id 1")]
    [InlineData("{\"<pad>\": 0, \"|\": 1, \"A\": \"2\"}", "expected an integer")]
    [InlineData("{\"<pad>\": 0, \"|\": 1, \"AB\": 2}", "neither one character")]
    [InlineData("{\"|\": 0, \"<pad>\": 1}", "CTC blank '<pad>' at id 0")]
    [InlineData("{\"<pad>\": 0, \"A\": 1}", "word delimiter '|' is missing")]
    [InlineData("{\"<pad>\": 0, ", "not valid JSON")]
    public void Load_InvalidFile_ThrowsNamingFileAndProblem(string json, string expected)
    {
        var path = WriteTemp(json);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => CharacterVocabulary.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(expected, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Constructor_DuplicateToken_ThrowsArgumentException()
    {
        var e = Assert.Throws<ArgumentException>(() => new CharacterVocabulary(new[] { "<pad>", "|", "A", "A" }));
        Assert.Contains("'A' appears at ids 2 and 3", e.Message);
    }

    // HF's fine-tuning recipe: the corpus's characters, " " renamed "|", then [UNK] and [PAD] appended.
    private const string RecipeVocab = "{\"'\": 0, \"a\": 1, \"b\": 2, \"|\": 3, \"[UNK]\": 4, \"[PAD]\": 5}";

    [Theory]
    [InlineData("tokenizer_config.json", "{\"pad_token\": \"[PAD]\", \"unk_token\": \"[UNK]\", \"word_delimiter_token\": \"|\", \"do_lower_case\": false}")]
    [InlineData("tokenizer_config.json", "{\"pad_token\": {\"content\": \"[PAD]\", \"lstrip\": false, \"__type\": \"AddedToken\"}, \"unk_token\": {\"content\": \"[UNK]\"}}")]
    [InlineData("special_tokens_map.json", "{\"pad_token\": \"[PAD]\", \"unk_token\": \"[UNK]\", \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}")]
    public void LoadPretrained_RecipeVocabularyWithPadLast_UsesTheNamedBlank(string file, string json)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "vocab.json"), RecipeVocab);
        File.WriteAllText(Path.Combine(dir.Path, file), json);
        var vocab = CharacterVocabulary.LoadPretrained(dir.Path);
        Assert.Equal(5, vocab.BlankId);
        Assert.Equal("[PAD]", vocab.Blank);
        Assert.Equal(4, vocab.UnknownId);
        Assert.Equal(3, vocab.WordDelimiterId);
        Assert.Equal([1, 3, 2, 0], vocab.Encode("a b'"));
        // id 0 is a character here; the blank (5) is dropped.
        Assert.Equal("a'b ba", vocab.Decode([1, 0, 5, 2, 3, 5, 2, 1]));
    }

    [Fact]
    public void SavePretrained_ThenLoadPretrained_KeepsTheBlankAndDelimiter()
    {
        using var dir = new TempDirectory();
        var vocab = new CharacterVocabulary(["'", "a", "b", "|", "[UNK]", "[PAD]"], blankToken: "[PAD]", unknownToken: "[UNK]");
        vocab.SavePretrained(dir.Path);
        var loaded = CharacterVocabulary.LoadPretrained(dir.Path);
        Assert.True(vocab.HasSameTokens(loaded));
        Assert.Equal(5, loaded.BlankId);
        Assert.Equal(4, loaded.UnknownId);
        Assert.False(loaded.HasSameTokens(CharacterVocabulary.Wav2Vec2Base960h));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void LoadPretrained_WithoutTokenizerConfig_KeepsTheDefaults()
    {
        using var dir = new TempDirectory();
        CharacterVocabulary.Wav2Vec2Base960h.Save(Path.Combine(dir.Path, "vocab.json"));
        var vocab = CharacterVocabulary.LoadPretrained(dir.Path);
        Assert.True(vocab.HasSameTokens(CharacterVocabulary.Wav2Vec2Base960h));
        Assert.Equal(0, vocab.BlankId);
    }

    [Theory]
    [InlineData("{\"pad_token\": \"<blank>\"}", RecipeVocab, "CTC blank (padding token) '<blank>' is not in the vocabulary")]
    [InlineData("{\"pad_token\": 7}", RecipeVocab, "'pad_token' is Number, expected a token string")]
    [InlineData("{\"pad_token\": \"|\"}", RecipeVocab, "word delimiter and the CTC blank are the same token")]
    [InlineData("{\"pad_token\": \"[PAD]\"}", "{\"en\": {\"a\": 0}, \"fr\": {\"b\": 0}}", "one per language")]
    [InlineData(null, RecipeVocab, "names it in tokenizer_config.json")]
    public void LoadPretrained_BadTokenizer_IsRefusedNamingTheProblem(string? tokenizerConfig, string vocab, string expected)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "vocab.json"), vocab);
        if (tokenizerConfig is not null) File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), tokenizerConfig);
        var e = Assert.Throws<InvalidDataException>(() => CharacterVocabulary.LoadPretrained(dir.Path));
        Assert.Contains(expected, e.Message);
    }

    private static string WriteTemp(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"sermtl-vocab-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, content);
        return path;
    }
}
