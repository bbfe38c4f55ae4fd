using System.Globalization;
using SerMtl.Data.Corpora;
using SerMtl.Data.Text;
using SerMtl.Modeling;

namespace SerMtl.Batching;

/// <summary>One utterance made ready for the model.</summary>
/// <param name="Sample">The corpus sample.</param>
/// <param name="LabelId">Index of its label in the model's labels.</param>
/// <param name="SampleCount">Waveform length at the model's sample rate.</param>
/// <param name="Target">CTC target ids (empty when there is no transcript, or nothing of it is in the vocabulary).</param>
/// <param name="Reference">The normalised transcript to score decoded text against, or null when there is none.</param>
internal sealed record EncodedUtterance(SpeechSample Sample, int LabelId, int SampleCount, int[] Target, string? Reference);

/// <summary>
/// Samples checked against a model and encoded once: label ids, waveform lengths (decoding every file through the
/// <see cref="WaveformStore"/>), CTC targets from <see cref="TranscriptNormalizer"/> and the model's vocabulary, and
/// what the normaliser removed, summed over the set.
/// </summary>
internal sealed class UtteranceSet
{
    private UtteranceSet(string name, IReadOnlyList<EncodedUtterance> items, int withoutTranscript, int emptyTranscript,
        IReadOnlyDictionary<string, int> outOfVocabulary, int transcriptsWithOutOfVocabulary)
    {
        Name = name;
        Items = items;
        WithoutTranscript = withoutTranscript;
        EmptyTranscript = emptyTranscript;
        OutOfVocabulary = outOfVocabulary;
        TranscriptsWithOutOfVocabulary = transcriptsWithOutOfVocabulary;
    }

    /// <summary>What the set is (train, validation, test), for messages.</summary>
    public string Name { get; }

    public IReadOnlyList<EncodedUtterance> Items { get; }

    public int Count => Items.Count;

    /// <summary>Utterances with no transcript at all (left out of CTC and WER).</summary>
    public int WithoutTranscript { get; }

    /// <summary>Utterances whose transcript normalised to nothing (e.g. only <c>[LAUGHTER]</c>).</summary>
    public int EmptyTranscript { get; }

    /// <summary>Out-of-vocabulary characters removed from transcripts, with counts.</summary>
    public IReadOnlyDictionary<string, int> OutOfVocabulary { get; }

    /// <summary>Number of transcripts that lost at least one out-of-vocabulary character.</summary>
    public int TranscriptsWithOutOfVocabulary { get; }

    /// <summary>Total seconds of audio.</summary>
    public double Seconds(int sampleRate) => Items.Sum(u => (double)u.SampleCount) / sampleRate;

    /// <summary>The out-of-vocabulary characters, most frequent first, as <c>'1' x5, 'é' x2</c>.</summary>
    public string DescribeOutOfVocabulary(int max = 12) => string.Join(", ",
        OutOfVocabulary.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(max)
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"'{kv.Key}' x{kv.Value}")))
        + (OutOfVocabulary.Count > max ? ", ..." : "");

    /// <summary>Encodes <paramref name="samples"/> for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">A sample's label is not one of the model's, or its audio is shorter than the model's receptive field.</exception>
    /// <exception cref="InvalidDataException">An audio file cannot be read.</exception>
    public static UtteranceSet Prepare(string name, IReadOnlyList<SpeechSample> samples, SerMtlModel model, WaveformStore store,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var labelIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < model.Labels.Count; i++) labelIds[model.Labels[i]] = i;
        foreach (var s in samples)
        {
            ArgumentNullException.ThrowIfNull(s, nameof(samples));
            if (!labelIds.ContainsKey(s.Label))
                throw new ArgumentException(
                    $"{name} sample '{s.Id}' has label '{s.Label}', which is not one of the model's labels [{string.Join(", ", model.Labels)}]", nameof(samples));
        }

        store.Prefetch(samples.Select(s => s.AudioPath), cancellationToken);
        var minimum = model.Backbone.Config.ReceptiveField;
        var normalizer = new TranscriptNormalizer(model.Vocabulary);
        var items = new List<EncodedUtterance>(samples.Count);
        var outOfVocabulary = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int withoutTranscript = 0, empty = 0, lossy = 0;
        foreach (var s in samples)
        {
            var length = store.Length(s.AudioPath);
            if (length < minimum)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{name} sample '{s.Id}' ({s.AudioPath}) has {length} samples ({(double)length / store.SampleRate:0.###} s) at {store.SampleRate} Hz; the model needs at least {minimum}"),
                    nameof(samples));
            int[] target = [];
            string? reference = null;
            if (s.Transcript is null)
            {
                withoutTranscript++;
            }
            else
            {
                var normalized = normalizer.Normalize(s.Transcript);
                if (normalized.OutOfVocabularyCount > 0)
                {
                    lossy++;
                    foreach (var (c, n) in normalized.OutOfVocabulary) outOfVocabulary[c] = outOfVocabulary.GetValueOrDefault(c) + n;
                }
                if (normalized.IsEmpty) empty++;
                else
                {
                    target = model.Vocabulary.Encode(normalized.Text);
                    reference = normalized.Text;
                }
            }
            items.Add(new EncodedUtterance(s, labelIds[s.Label], length, target, reference));
        }
        return new UtteranceSet(name, items, withoutTranscript, empty, outOfVocabulary.AsReadOnly(), lossy);
    }
}
