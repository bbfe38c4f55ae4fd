using SerMtl.Data.Text;
using static TorchSharp.torch;

namespace SerMtl.Text;

/// <summary>
/// Best-path (greedy) CTC decoding: the most likely token per valid frame, repeats collapsed, blanks dropped, the
/// word delimiter <c>|</c> turned into a space, the result trimmed.
/// </summary>
public static class CtcGreedyDecoder
{
    /// <summary>Decodes a batch of CTC logits to text.</summary>
    /// <param name="logits">CTC logits (or log-probabilities) [B, T, V], V = the vocabulary size.</param>
    /// <param name="frameLengths">Valid frames per utterance [B], each in [0, T]; frames beyond are ignored.</param>
    /// <param name="vocabulary">The vocabulary the logits are over.</param>
    /// <returns>One string per utterance.</returns>
    /// <exception cref="ArgumentException">Shapes disagree with each other or with the vocabulary, or a length is out of range.</exception>
    public static IReadOnlyList<string> Decode(Tensor logits, Tensor frameLengths, CharacterVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(frameLengths);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (logits.dim() != 3 || logits.shape[2] != vocabulary.Count)
            throw new ArgumentException($"expected logits [B, T, {vocabulary.Count}] (the vocabulary size), got [{string.Join(", ", logits.shape)}]", nameof(logits));
        var (batch, frames) = ((int)logits.shape[0], (int)logits.shape[1]);
        if (frameLengths.dim() != 1 || frameLengths.shape[0] != batch)
            throw new ArgumentException($"expected frame lengths [{batch}], got [{string.Join(", ", frameLengths.shape)}]", nameof(frameLengths));

        using var scope = NewDisposeScope();
        // Only the argmax ids ([B, T] int64) travel to the host.
        var best = logits.argmax(-1).to(ScalarType.Int64).cpu().data<long>().ToArray(); // [B * T]
        var lengths = frameLengths.to(ScalarType.Int64).cpu().data<long>().ToArray();   // [B]
        var texts = new string[batch];
        for (var b = 0; b < batch; b++)
        {
            if (lengths[b] < 0 || lengths[b] > frames)
                throw new ArgumentException($"frame length {lengths[b]} of utterance {b} is outside [0, {frames}]", nameof(frameLengths));
            texts[b] = Decode(best.AsSpan(b * frames, (int)lengths[b]), vocabulary);
        }
        return texts;
    }

    /// <summary>Decodes one utterance's per-frame best token ids.</summary>
    /// <param name="frameIds">The most likely token id of each valid frame.</param>
    /// <param name="vocabulary">The vocabulary the ids are from.</param>
    public static string Decode(ReadOnlySpan<long> frameIds, CharacterVocabulary vocabulary) => SerMtl.Inference.CtcDecoding.Greedy(frameIds, vocabulary);
}
