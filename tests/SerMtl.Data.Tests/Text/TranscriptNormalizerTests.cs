using SerMtl.Data.Text;

namespace SerMtl.Data.Tests.Text;

public class TranscriptNormalizerTests
{
    private readonly TranscriptNormalizer _normalizer = new();

    [Fact]
    public void Normalize_UpperCasesAndDropsPunctuation_KeepingApostrophes()
    {
        var result = _normalizer.Normalize("Excuse me. I don't know, Mr. Smith!");
        Assert.Equal("EXCUSE ME I DON'T KNOW MR SMITH", result.Text);
        Assert.Equal("EXCUSE|ME|I|DON'T|KNOW|MR|SMITH", result.Delimited);
        Assert.Equal(new Dictionary<string, int> { ["!"] = 1, [","] = 1, ["."] = 2 }, result.Punctuation);
        Assert.Empty(result.OutOfVocabulary);
        Assert.Empty(result.Tags);
    }

    [Fact]
    public void Normalize_RemovesBracketedTagsAndCountsThem()
    {
        var result = _normalizer.Normalize("[LAUGHTER] Oh,[BREATHING]hi <sil> there [LAUGHTER]");
        Assert.Equal("OH HI THERE", result.Text);
        Assert.Equal(new Dictionary<string, int> { ["<sil>"] = 1, ["[BREATHING]"] = 1, ["[LAUGHTER]"] = 2 }, result.Tags);
    }

    [Fact]
    public void Normalize_OnlyTags_IsEmpty()
    {
        var result = _normalizer.Normalize(" [LAUGHTER]  [GARBAGE] ");
        Assert.True(result.IsEmpty);
        Assert.Equal("", result.Delimited);
    }

    [Fact]
    public void Normalize_DigitsAndAccentsAreReportedNotSpelled()
    {
        var result = _normalizer.Normalize("I have 22 cafés & 1 dog");
        Assert.Equal("I HAVE CAFS DOG", result.Text);
        Assert.Equal(new Dictionary<string, int> { ["&"] = 1, ["1"] = 1, ["2"] = 2, ["é"] = 1 }, result.OutOfVocabulary);
        Assert.Equal(5, result.OutOfVocabularyCount);
    }

    [Fact]
    public void Normalize_DashesAndSlashesSeparateWords()
    {
        var result = _normalizer.Normalize("twenty-one and/or well--maybe");
        Assert.Equal("TWENTY ONE AND OR WELL MAYBE", result.Text);
        Assert.Equal(new Dictionary<string, int> { ["-"] = 3, ["/"] = 1 }, result.Punctuation);
    }

    [Fact]
    public void Normalize_CollapsesWhitespaceAndLiteralDelimiters()
    {
        Assert.Equal("A B C D", _normalizer.Normalize("  a \t b\r\n c | d  ").Text);
    }

    [Fact]
    public void Normalize_TypographicApostropheBecomesApostrophe()
    {
        Assert.Equal("IT'S 'CAUSE GOIN'", _normalizer.Normalize("it\u2019s \u2018cause goin'").Text);
    }

    [Fact]
    public void Normalize_UnmatchedBracketIsPunctuation()
    {
        var result = _normalizer.Normalize("[LAUGH yes");
        Assert.Equal("LAUGH YES", result.Text);
        Assert.Equal(1, result.Punctuation["["]);
        Assert.Empty(result.Tags);
    }

    [Fact]
    public void Normalize_OutputEncodesWithTheVocabulary()
    {
        var vocab = CharacterVocabulary.Wav2Vec2Base960h;
        var result = _normalizer.Normalize("Well... I'm sure [LAUGHTER], 100%!");
        var ids = vocab.Encode(result.Delimited);
        Assert.Equal(result.Text, vocab.Decode(ids));
        Assert.Equal(new Dictionary<string, int> { ["%"] = 1, ["0"] = 2, ["1"] = 1 }, result.OutOfVocabulary);
    }

    [Fact]
    public void Normalize_LowerCaseVocabulary_LowerCases()
    {
        var vocab = new CharacterVocabulary(new[] { "<pad>", "|", "a", "b", "'" });
        var result = new TranscriptNormalizer(vocab).Normalize("AB Ba'");
        Assert.Equal("ab ba'", result.Text);
    }

    [Fact]
    public void Normalize_VocabularyWithoutApostrophe_DropsItAsPunctuation()
    {
        var vocab = new CharacterVocabulary(new[] { "<pad>", "|", "D", "O", "N", "T" });
        var result = new TranscriptNormalizer(vocab).Normalize("don\u2019t");
        Assert.Equal("DONT", result.Text);
        Assert.Equal(1, result.Punctuation["\u2019"]);
    }
}
