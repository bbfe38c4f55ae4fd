using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace SerMtl.Inference;

/// <summary>A read-only label → probability map that enumerates in the model's label order.</summary>
internal sealed class LabelProbabilities : IReadOnlyDictionary<string, float>
{
    private readonly IReadOnlyList<string> _labels;
    private readonly float[] _values;

    /// <param name="labels">Labels in logit order.</param>
    /// <param name="values">One probability per label (the map keeps the array; do not change it afterwards).</param>
    public LabelProbabilities(IReadOnlyList<string> labels, float[] values)
    {
        if (labels.Count != values.Length) throw new ArgumentException($"{values.Length} probabilities for {labels.Count} labels", nameof(values));
        _labels = labels;
        _values = values;
    }

    /// <summary>Index of the largest probability (the first on ties).</summary>
    public int ArgMax
    {
        get
        {
            var best = 0;
            for (var i = 1; i < _values.Length; i++)
                if (_values[i] > _values[best]) best = i;
            return best;
        }
    }

    public float this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"'{key}' is not one of the model's labels ({string.Join(", ", _labels)})");

    public IEnumerable<string> Keys => _labels;

    public IEnumerable<float> Values => _values;

    public int Count => _values.Length;

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out float value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? _values[i] : 0;
        return i >= 0;
    }

    public IEnumerator<KeyValuePair<string, float>> GetEnumerator()
    {
        for (var i = 0; i < _values.Length; i++) yield return new(_labels[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // A handful of labels: a linear scan beats hashing.
    private int IndexOf(string key)
    {
        for (var i = 0; i < _labels.Count; i++)
            if (string.Equals(_labels[i], key, StringComparison.Ordinal)) return i;
        return -1;
    }
}
