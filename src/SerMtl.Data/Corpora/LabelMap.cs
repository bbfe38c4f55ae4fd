using System.Diagnostics.CodeAnalysis;

namespace SerMtl.Data.Corpora;

/// <summary>
/// Maps a corpus's raw labels (IEMOCAP's <c>neu</c>, <c>exc</c>, …) onto class labels in a fixed order.
/// Raw labels not in the map are left out of the corpus. Raw labels match case-insensitively.
/// </summary>
public sealed class LabelMap
{
    private readonly Dictionary<string, string> _map;
    private readonly List<(string Label, List<string> Raw)> _groups = [];

    /// <summary>
    /// Creates a map from (raw label, class label) pairs. The class order is <paramref name="labelOrder"/> when
    /// given (it must name exactly the mapped labels), else the order in which labels first appear.
    /// </summary>
    /// <exception cref="ArgumentException">An empty or repeated raw label, an empty class label, or an order that does not match.</exception>
    public LabelMap(IEnumerable<KeyValuePair<string, string>> rawToLabel, IEnumerable<string>? labelOrder = null)
        : this(rawToLabel, labelOrder, message => new ArgumentException("label map: " + message))
    {
    }

    private LabelMap(IEnumerable<KeyValuePair<string, string>> rawToLabel, IEnumerable<string>? labelOrder, Func<string, Exception> fail)
    {
        ArgumentNullException.ThrowIfNull(rawToLabel);
        _map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (raw, label) in rawToLabel)
        {
            if (string.IsNullOrWhiteSpace(raw)) throw fail("empty raw label");
            if (string.IsNullOrWhiteSpace(label)) throw fail($"raw label '{raw}' maps to an empty label");
            if (!_map.TryAdd(raw, label)) throw fail($"raw label '{raw}' is mapped twice");
            var group = _groups.FindIndex(g => g.Label == label);
            if (group < 0) _groups.Add((label, [raw]));
            else _groups[group].Raw.Add(raw);
        }
        if (_map.Count == 0) throw fail("no labels");

        if (labelOrder is not null)
        {
            var order = labelOrder.ToList();
            var mapped = _groups.Select(g => g.Label).ToHashSet(StringComparer.Ordinal);
            if (order.Count != mapped.Count || !mapped.SetEquals(order))
                throw fail($"order [{string.Join(", ", order)}] must list each of [{string.Join(", ", mapped)}] once");
            _groups.Sort((a, b) => order.IndexOf(a.Label).CompareTo(order.IndexOf(b.Label)));
        }
        Labels = _groups.Select(g => g.Label).ToArray();
    }

    /// <summary>
    /// The standard IEMOCAP 4-class set: <c>neu</c> → neutral, <c>hap</c> and <c>exc</c> → happy,
    /// <c>ang</c> → angry, <c>sad</c> → sad; labels in that order. Everything else (<c>fru</c>, <c>sur</c>,
    /// <c>xxx</c>, …) is left out.
    /// </summary>
    public static LabelMap IemocapFourClass { get; } = Parse("neu=neutral, hap+exc=happy, ang=angry, sad=sad");

    /// <summary>The class labels in class-id order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Maps a raw label; false when it is not in the map.</summary>
    public bool TryMap(string rawLabel, [NotNullWhen(true)] out string? label)
    {
        ArgumentNullException.ThrowIfNull(rawLabel);
        return _map.TryGetValue(rawLabel, out label);
    }

    /// <summary>
    /// Parses <c>raw[+raw...]=label</c> entries separated by commas, e.g.
    /// <c>neu=neutral, hap+exc=happy, ang=angry, sad=sad</c>; class order is the order of the entries.
    /// </summary>
    /// <exception cref="FormatException">An entry is not of the form <c>raw[+raw]=label</c>.</exception>
    public static LabelMap Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var entry in spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split('=', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[1].Length == 0)
                throw new FormatException($"label map '{spec}': entry '{entry}' is not of the form raw[+raw...]=label");
            foreach (var raw in parts[0].Split('+', StringSplitOptions.TrimEntries))
            {
                if (raw.Length == 0) throw new FormatException($"label map '{spec}': entry '{entry}' has an empty raw label");
                pairs.Add(new(raw, parts[1]));
            }
        }
        if (pairs.Count == 0) throw new FormatException($"label map '{spec}': no entries");
        return new LabelMap(pairs, null, message => new FormatException($"label map '{spec}': {message}"));
    }

    /// <summary>The map in <see cref="Parse"/> syntax.</summary>
    public override string ToString() => string.Join(", ", _groups.Select(g => $"{string.Join('+', g.Raw)}={g.Label}"));
}
