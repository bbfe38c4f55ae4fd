using System.Globalization;

namespace SerMtl.Cli;

/// <summary>A usage error: wrong or missing arguments. Exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Arguments of one command, consumed as the command asks for them: <c>--name value</c> options, <c>--flag</c>
/// switches, and the positionals that remain. <see cref="Positionals"/> fails on any option nobody asked for.
/// </summary>
internal sealed class CliArgs
{
    private readonly List<string?> _tokens;

    public CliArgs(IEnumerable<string> tokens) => _tokens = tokens.Select(t => (string?)t).ToList();

    /// <summary>True when <c>--name</c> is present (consumes it).</summary>
    public bool Flag(string name)
    {
        var found = false;
        for (var i = 0; i < _tokens.Count; i++)
        {
            if (_tokens[i] == "--" + name)
            {
                _tokens[i] = null;
                found = true;
            }
        }
        return found;
    }

    /// <summary>The value after <c>--name</c> (or <c>--name=value</c>), or null when absent (consumes both).</summary>
    public string? Option(string name)
    {
        string? value = null;
        for (var i = 0; i < _tokens.Count; i++)
        {
            var t = _tokens[i];
            if (t is null) continue;
            if (t == "--" + name)
            {
                if (i + 1 >= _tokens.Count || _tokens[i + 1] is null || (_tokens[i + 1]!.StartsWith("--", StringComparison.Ordinal) && _tokens[i + 1]!.Length > 2))
                    throw new UsageException($"option --{name} needs a value");
                value = _tokens[i + 1];
                _tokens[i] = null;
                _tokens[i + 1] = null;
            }
            else if (t.StartsWith("--" + name + "=", StringComparison.Ordinal))
            {
                value = t[(name.Length + 3)..];
                _tokens[i] = null;
            }
        }
        return value;
    }

    public string Required(string name) => Option(name) ?? throw new UsageException($"missing required option --{name}");

    public int Int(string name, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var s = Option(name);
        if (s is null) return defaultValue;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new UsageException($"--{name} expects an integer in [{min}, {max}], got '{s}'");
        return v;
    }

    public double Double(string name, double defaultValue, double min = double.MinValue, double max = double.MaxValue)
    {
        var s = Option(name);
        if (s is null) return defaultValue;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v >= min && v <= max))
            throw new UsageException($"--{name} expects a number in [{min}, {max}], got '{s}'");
        return v;
    }

    /// <summary>The value of <c>--name</c> which must be one of <paramref name="choices"/>.</summary>
    public string Choice(string name, string defaultValue, params string[] choices)
    {
        var s = Option(name) ?? defaultValue;
        if (!choices.Contains(s, StringComparer.Ordinal))
            throw new UsageException($"--{name} expects one of {string.Join("|", choices)}, got '{s}'");
        return s;
    }

    /// <summary>Remaining tokens; any leftover <c>--option</c> is an error naming it.</summary>
    public IReadOnlyList<string> Positionals()
    {
        var rest = _tokens.Where(t => t is not null).Select(t => t!).ToList();
        var unknown = rest.FirstOrDefault(t => t.StartsWith("--", StringComparison.Ordinal) && t.Length > 2);
        if (unknown is not null) throw new UsageException($"unknown option {unknown}");
        return rest.Where(t => t != "--").ToList();
    }
}
