using SerMtl.Data.Evaluation;

namespace SerMtl.Data.Tests.Evaluation;

public class ErrorRatesTests
{
    [Fact]
    public void WordErrorRate_SubstitutionAndDeletion()
    {
        // sat -> sit (substitution), second "the" deleted: 2 edits over 6 reference words.
        var edits = ErrorRates.WordEdits("the cat sat on the mat", "the cat sit on mat");
        Assert.Equal(new EditCounts(2, 6), edits);
        Assert.Equal(2.0 / 6, ErrorRates.WordErrorRate("the cat sat on the mat", "the cat sit on mat"), 12);
    }

    [Fact]
    public void WordErrorRate_InsertionsCanExceedOne()
    {
        Assert.Equal(1.0, ErrorRates.WordErrorRate("a b", "a x b c"), 12);
        Assert.Equal(3.0, ErrorRates.WordErrorRate("a", "x y z"), 12);
        Assert.Equal(1.0, ErrorRates.WordErrorRate("a b", ""), 12);
    }

    [Fact]
    public void WordErrorRate_IgnoresExtraWhitespace()
    {
        Assert.Equal(0.0, ErrorRates.WordErrorRate("HELLO WORLD", "  HELLO \t WORLD "));
    }

    [Fact]
    public void WordErrorRate_EmptyReference_IsZeroOrInfinity()
    {
        Assert.Equal(0.0, ErrorRates.WordErrorRate("", " "));
        Assert.Equal(double.PositiveInfinity, ErrorRates.WordErrorRate("", "A"));
    }

    [Fact]
    public void CharacterErrorRate_ClassicKittenSitting()
    {
        // k->s, e->i, +g: 3 edits over 6 characters.
        Assert.Equal(new EditCounts(3, 6), ErrorRates.CharacterEdits("KITTEN", "SITTING"));
    }

    [Fact]
    public void CharacterErrorRate_CountsSpacesAfterCollapsingWhitespace()
    {
        // "AB CD" has 5 characters; the hypothesis misses the space.
        Assert.Equal(new EditCounts(1, 5), ErrorRates.CharacterEdits("AB   CD ", "ABCD"));
    }

    [Fact]
    public void CorpusRate_SumsEditsOverSumOfReferenceLengths()
    {
        var pairs = new[] { ("a b c", "a b c"), ("d e", "x") };
        // 0 + 2 edits over 3 + 2 words = 0.4, not the mean of per-utterance rates (0.5).
        Assert.Equal(0.4, ErrorRates.WordErrorRate(pairs), 12);
        // Characters: 0 edits over 5, then "d e" -> "x": 3 edits over 3.
        Assert.Equal(3.0 / 8, ErrorRates.CharacterErrorRate(pairs), 12);
    }

    [Fact]
    public void EditCounts_Add()
    {
        Assert.Equal(new EditCounts(3, 10), new EditCounts(1, 4) + new EditCounts(2, 6));
    }

    [Fact]
    public void PoolFolds_IsTheMeanOfFoldRates()
    {
        Assert.Equal(0.3, ErrorRates.PoolFolds(new[] { 0.2, 0.4 }), 12);
        Assert.Throws<ArgumentException>(() => ErrorRates.PoolFolds(Array.Empty<double>()));
    }

    [Fact]
    public void Levenshtein_EmptySides()
    {
        Assert.Equal(0, ErrorRates.Levenshtein<int>([], []));
        Assert.Equal(3, ErrorRates.Levenshtein<int>([1, 2, 3], []));
        Assert.Equal(2, ErrorRates.Levenshtein<int>([], [1, 2]));
    }
}
