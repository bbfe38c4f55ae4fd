using SerMtl.Data.Corpora;

namespace SerMtl.Data.Tests.Corpora;

public class SpeechCorpusTests
{
    private static SpeechSample S(string id, string label) => new(id, $"/a/{id}.wav", "spk", label);

    [Fact]
    public void Constructor_IndexesLabelsAndCounts()
    {
        var corpus = new SpeechCorpus("c", ["x", "y", "z"], [S("1", "y"), S("2", "y"), S("3", "x")]);
        Assert.Equal(1, corpus.LabelIndex("y"));
        Assert.Equal([1, 2, 0], corpus.CountByLabel());
        Assert.Contains("unknown label 'w'", Assert.Throws<KeyNotFoundException>(() => corpus.LabelIndex("w")).Message);
    }

    [Fact]
    public void Constructor_UnknownLabel_Throws() =>
        Assert.Contains("has label 'q', expected one of x, y", Assert.Throws<ArgumentException>(() => new SpeechCorpus("c", ["x", "y"], [S("1", "q")])).Message);

    [Fact]
    public void Constructor_DuplicateId_Throws() =>
        Assert.Contains("'1' appears twice", Assert.Throws<ArgumentException>(() => new SpeechCorpus("c", ["x"], [S("1", "x"), S("1", "x")])).Message);

    [Fact]
    public void Constructor_DuplicateLabel_Throws() =>
        Assert.Throws<ArgumentException>(() => new SpeechCorpus("c", ["x", "x"], []));

    [Fact]
    public void Constructor_NoLabels_Throws() =>
        Assert.Throws<ArgumentException>(() => new SpeechCorpus("c", [], []));
}
