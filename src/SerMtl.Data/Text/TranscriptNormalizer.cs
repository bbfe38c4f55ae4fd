using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SerMtl.Data.Text;

/// <summary>
/// Turns a corpus transcript into a CTC target for a <see cref="CharacterVocabulary"/>, reporting everything it
/// removes:
/// <list type="number">
/// <item>bracketed tags (<c>[LAUGHTER]</c>, <c>[BREATHING]</c>, <c>&lt;sil&gt;</c>) are removed and counted in
/// <see cref="NormalizedTranscript.Tags"/>; they are non-speech annotations, not words;</item>
/// <item>typographic apostrophes (’ ‘ ʼ) become <c>'</c> when the vocabulary has it;</item>
/// <item>letters are upper-cased (lower-cased instead when the vocabulary's letters are lower case);</item>
/// <item>dashes and slashes separate words (<c>twenty-one</c> → <c>TWENTY ONE</c>); other punctuation is removed
/// (<c>Mr.</c> → <c>MR</c>) and counted in <see cref="NormalizedTranscript.Punctuation"/>; apostrophes stay
/// (<c>don't</c>, <c>'cause</c>, <c>goin'</c>);</item>
/// <item>any other character outside the vocabulary — digits, accented letters, symbols that are read aloud
/// such as <c>&amp;</c>, <c>%</c>, <c>#</c>, <c>@</c>, <c>$</c>, <c>+</c> — is removed and counted in <see cref="NormalizedTranscript.OutOfVocabulary"/>. Digits are not spelled
/// out: the count tells the caller that spoken words were lost;</item>
/// <item>whitespace (and a literal <c>|</c>) collapses to single spaces; the result is trimmed.</item>
/// </list>
/// </summary>
public sealed class TranscriptNormalizer
{
    // [anything without brackets] and <anything without angle brackets>: the annotation styles of IEMOCAP and
    // similar corpora. An unmatched bracket is left to the punctuation rule.
    private static readonly Regex TagPattern = new(@"\[[^\[\]]*\]|<[^<>]*>", RegexOptions.CultureInvariant);

    private readonly CharacterVocabulary _vocabulary;
    private readonly LetterCase _case;
    private readonly bool _hasApostrophe;

    /// <summary>A normaliser for the <c>facebook/wav2vec2-base-960h</c> vocabulary.</summary>
    public TranscriptNormalizer()
        : this(CharacterVocabulary.Wav2Vec2Base960h)
    {
    }

    /// <summary>A normaliser for <paramref name="vocabulary"/>.</summary>
    public TranscriptNormalizer(CharacterVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = vocabulary;
        _hasApostrophe = vocabulary.Contains(new Rune('\''));
        var letters = vocabulary.Tokens.Where(t => t.Length == 1 && char.IsLetter(t[0])).Select(t => t[0]).ToList();
        _case = letters.Any(char.IsUpper) ? LetterCase.Upper
            : letters.Any(char.IsLower) ? LetterCase.Lower
            : LetterCase.AsIs;
    }

    /// <summary>The vocabulary the output is written in.</summary>
    public CharacterVocabulary Vocabulary => _vocabulary;

    /// <summary>Normalises one transcript.</summary>
    public NormalizedTranscript Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tags = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var withoutTags = TagPattern.Replace(text, match =>
        {
            var tag = match.Value;
            tags[tag] = tags.GetValueOrDefault(tag) + 1;
            return " ";
        });

        var punctuation = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var outOfVocabulary = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var output = new StringBuilder(withoutTags.Length);
        foreach (var original in withoutTags.EnumerateRunes())
        {
            var rune = original;
            if (_hasApostrophe && rune.Value is '\u2019' or '\u2018' or '\u02BC') rune = new Rune('\'');
            rune = _case switch
            {
                LetterCase.Upper => Rune.ToUpperInvariant(rune),
                LetterCase.Lower => Rune.ToLowerInvariant(rune),
                _ => rune,
            };

            if (Rune.IsWhiteSpace(rune) || rune.Value == '|')
                AppendSpace(output);
            else if (_vocabulary.Contains(rune))
                output.Append(rune.ToString());
            else if (IsWordSeparator(rune))
            {
                Count(punctuation, rune);
                AppendSpace(output);
            }
            else if (Rune.IsPunctuation(rune) && !IsSpokenSymbol(rune))
                Count(punctuation, rune);
            else
                Count(outOfVocabulary, original);
        }
        var normalized = output.ToString().Trim(' ');
        return new NormalizedTranscript(normalized, outOfVocabulary.AsReadOnly(), punctuation.AsReadOnly(), tags.AsReadOnly());
    }

    private static void AppendSpace(StringBuilder output)
    {
        if (output.Length > 0 && output[^1] != ' ') output.Append(' ');
    }

    private static void Count(SortedDictionary<string, int> counts, Rune rune)
    {
        var key = rune.ToString();
        counts[key] = counts.GetValueOrDefault(key) + 1;
    }

    // Unicode files these under punctuation, but they are read aloud ("and", "percent", "number", "at").
    private static bool IsSpokenSymbol(Rune rune) => rune.Value is '&' or '%' or '#' or '@' or '\u00A7';

    private static bool IsWordSeparator(Rune rune) =>
        Rune.GetUnicodeCategory(rune) == UnicodeCategory.DashPunctuation || rune.Value is '/' or '\\';

    private enum LetterCase { AsIs, Upper, Lower }
}

/// <summary>The result of <see cref="TranscriptNormalizer.Normalize"/>: the text and everything removed from it.</summary>
/// <param name="Text">Normalised words separated by single spaces (the form to compare with a decoded hypothesis);
/// empty when nothing is left.</param>
/// <param name="OutOfVocabulary">Characters (as found in the input) that are not in the vocabulary and were
/// removed, with their counts — possibly spoken content (digits, accented letters, symbols).</param>
/// <param name="Punctuation">Punctuation removed (or turned into a word break), with counts.</param>
/// <param name="Tags">Bracketed annotations removed (e.g. <c>[LAUGHTER]</c>), with counts.</param>
public sealed record NormalizedTranscript(
    string Text,
    IReadOnlyDictionary<string, int> OutOfVocabulary,
    IReadOnlyDictionary<string, int> Punctuation,
    IReadOnlyDictionary<string, int> Tags)
{
    /// <summary>The text with the word delimiter <c>|</c> in place of each space, as the CTC vocabulary spells it.</summary>
    public string Delimited => Text.Replace(' ', '|');

    /// <summary>Whether nothing is left to transcribe (e.g. the transcript was only tags).</summary>
    public bool IsEmpty => Text.Length == 0;

    /// <summary>Total number of out-of-vocabulary characters removed.</summary>
    public int OutOfVocabularyCount => OutOfVocabulary.Values.Sum();
}
