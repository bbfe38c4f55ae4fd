namespace SerMtl.Data.Corpora;

/// <summary>
/// A labelled corpus in corpus-independent form: the class labels in a fixed order (a label's index is its
/// class id) and the samples. Built by <see cref="Iemocap.IemocapDataset.ToCorpus"/> and
/// <see cref="ManifestDataset.ToCorpus"/>; split into folds by <see cref="Protocols.Folds"/>.
/// </summary>
public sealed class SpeechCorpus
{
    private readonly Dictionary<string, int> _labelIndex;

    /// <summary>Creates a corpus; every sample's label must be one of <paramref name="labels"/> and ids must be unique.</summary>
    /// <exception cref="ArgumentException">Duplicate or empty labels, a sample with an unknown label, or a duplicate id.</exception>
    public SpeechCorpus(string name, IEnumerable<string> labels, IEnumerable<SpeechSample> samples)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(samples);
        Name = name;
        Labels = labels.ToArray();
        if (Labels.Count == 0) throw new ArgumentException($"corpus '{name}': no labels", nameof(labels));
        _labelIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Labels.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(Labels[i])) throw new ArgumentException($"corpus '{name}': label {i} is empty", nameof(labels));
            if (!_labelIndex.TryAdd(Labels[i], i)) throw new ArgumentException($"corpus '{name}': label '{Labels[i]}' appears twice", nameof(labels));
        }
        Samples = samples.ToArray();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in Samples)
        {
            ArgumentNullException.ThrowIfNull(s, nameof(samples));
            if (!_labelIndex.ContainsKey(s.Label))
                throw new ArgumentException($"corpus '{name}': sample '{s.Id}' has label '{s.Label}', expected one of {string.Join(", ", Labels)}", nameof(samples));
            if (!ids.Add(s.Id)) throw new ArgumentException($"corpus '{name}': sample id '{s.Id}' appears twice", nameof(samples));
        }
    }

    /// <summary>A name for messages and reports (e.g. <c>IEMOCAP</c> or the manifest's file name).</summary>
    public string Name { get; }

    /// <summary>The class labels in class-id order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Every sample, in the reader's order.</summary>
    public IReadOnlyList<SpeechSample> Samples { get; }

    /// <summary>The class id of <paramref name="label"/>.</summary>
    /// <exception cref="KeyNotFoundException">The label is not one of <see cref="Labels"/>.</exception>
    public int LabelIndex(string label) =>
        _labelIndex.TryGetValue(label, out var i)
            ? i
            : throw new KeyNotFoundException($"corpus '{Name}': unknown label '{label}', expected one of {string.Join(", ", Labels)}");

    /// <summary>Sample count per label, in <see cref="Labels"/> order.</summary>
    public IReadOnlyList<int> CountByLabel()
    {
        var counts = new int[Labels.Count];
        foreach (var s in Samples) counts[_labelIndex[s.Label]]++;
        return counts;
    }
}
