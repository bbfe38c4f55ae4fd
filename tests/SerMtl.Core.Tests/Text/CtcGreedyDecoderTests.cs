using SerMtl.Data.Text;
using SerMtl.Text;
using static TorchSharp.torch;

namespace SerMtl.Tests.Text;

public class CtcGreedyDecoderTests
{
    private static readonly CharacterVocabulary Vocab = CharacterVocabulary.Wav2Vec2Base960h;

    [Fact]
    public void Decode_CollapsesRepeatsThenDropsBlanks()
    {
        // H H <pad> I I | | <pad> Y O O U <pad> U |  ->  "HI YOUU"
        long[] frames = [11, 11, 0, 10, 10, 4, 4, 0, 22, 8, 8, 16, 0, 16, 4];
        Assert.Equal("HI YOUU", CtcGreedyDecoder.Decode(frames, Vocab));
    }

    [Fact]
    public void Decode_AllBlanks_IsEmpty()
    {
        Assert.Equal("", CtcGreedyDecoder.Decode(new long[] { 0, 0, 4, 0 }, Vocab));
    }

    [Fact]
    public void Decode_Batch_UsesArgmaxOverValidFramesOnly()
    {
        using var scope = NewDisposeScope();
        long[][] frames =
        [
            [19, 7, 6, 6, 0, 4, 4],      // C A T T <pad> | |  -> "CAT"
            [15, 15, 16, 0, 16, 19, 26], // L L U <pad> U C K -> length 5: "LUU"
        ];
        var logits = full(2, 7, 32, -5f);
        for (var b = 0; b < 2; b++)
            for (var t = 0; t < 7; t++)
                logits[b, t, frames[b][t]] = 5f;
        var texts = CtcGreedyDecoder.Decode(logits, tensor(new long[] { 7, 5 }), Vocab);
        Assert.Equal(new[] { "CAT", "LUU" }, texts);
    }

    [Fact]
    public void Decode_VocabularySizeMismatch_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => CtcGreedyDecoder.Decode(zeros(1, 3, 30), tensor(new long[] { 3 }), Vocab));
        Assert.Contains("[B, T, 32]", e.Message);
        Assert.Throws<ArgumentException>(() => CtcGreedyDecoder.Decode(zeros(1, 3, 32), tensor(new long[] { 4 }), Vocab));
    }
}
