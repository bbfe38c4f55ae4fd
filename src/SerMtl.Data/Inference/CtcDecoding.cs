using SerMtl.Data.Text;

namespace SerMtl.Inference;

/// <summary>Greedy CTC decoding of per-frame best token ids (the engines' shared step; <c>CtcGreedyDecoder</c> in SerMtl.Core calls it too).</summary>
internal static class CtcDecoding
{
    /// <summary>Collapses repeats, then drops blanks ("A A &lt;pad&gt; A" is "AA", "A A A" is "A"), and decodes the ids left.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id outside the vocabulary.</exception>
    public static string Greedy(ReadOnlySpan<long> frameIds, CharacterVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var collapsed = new List<int>(frameIds.Length);
        long previous = -1;
        foreach (var id in frameIds)
        {
            if (id != previous && id != vocabulary.BlankId)
            {
                if (id < 0 || id >= vocabulary.Count)
                    throw new ArgumentOutOfRangeException(nameof(frameIds), $"token id {id} is outside the vocabulary [0, {vocabulary.Count})");
                collapsed.Add((int)id);
            }
            previous = id;
        }
        return vocabulary.Decode(collapsed);
    }
}
