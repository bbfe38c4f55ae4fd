using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SerMtl.Cli;

/// <summary>
/// Typed System.CommandLine options whose parse errors say what the option expects and what it got (e.g.
/// "--epochs expects an integer in [1, 100000], got 'x'"), and whose defaults show in the help.
/// </summary>
internal static class CliOption
{
    /// <summary>A string option, null when absent.</summary>
    public static Option<string?> Text(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description };

    /// <summary>A string option that must be given.</summary>
    public static Option<string> Required(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description, Required = true };

    /// <summary>A switch: true when present.</summary>
    public static Option<bool> Flag(string name, string description) =>
        new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min = int.MinValue, int max = int.MaxValue, string helpName = "N") =>
        new(name)
        {
            HelpName = helpName,
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => ParseInt(r, name, min, max) ?? defaultValue,
        };

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], null when absent.</summary>
    public static Option<int?> OptionalInt(string name, string description, int min, int max, string helpName = "N") =>
        new(name) { HelpName = helpName, Description = description, CustomParser = r => ParseInt(r, name, min, max) };

    /// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<double> Number(string name, string helpName, string description, double defaultValue, double min, double max) =>
        new(name)
        {
            HelpName = helpName,
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                var text = r.Tokens.Single().Value;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
                r.AddError($"{name} expects a number in [{Show(min)}, {Show(max)}], got '{text}'");
                return defaultValue;
            },
        };

    /// <summary>A number of seconds &gt; 0 (and &lt; 10^6), null when absent.</summary>
    public static Option<double?> Seconds(string name, string description) =>
        new(name)
        {
            HelpName = "S",
            Description = description,
            CustomParser = r =>
            {
                var text = r.Tokens.Single().Value;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v < 1e6) return v;
                r.AddError($"{name} expects a number of seconds > 0, got '{text}'");
                return null;
            },
        };

    /// <summary>One of <paramref name="choices"/>.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices) =>
        new(name)
        {
            HelpName = string.Join('|', choices),
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                var text = r.Tokens.Single().Value;
                if (choices.Contains(text, StringComparer.Ordinal)) return text;
                r.AddError($"{name} expects one of {string.Join('|', choices)}, got '{text}'");
                return defaultValue;
            },
        };

    /// <summary>The files (or other operands) after the options.</summary>
    public static Argument<string[]> Operands(string name, string description) =>
        new(name) { Description = description, Arity = ArgumentArity.ZeroOrMore };

    private static int? ParseInt(ArgumentResult r, string name, int min, int max)
    {
        var text = r.Tokens.Single().Value;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
        r.AddError($"{name} expects an integer in [{min}, {max}], got '{text}'");
        return null;
    }

    private static string Show(double v) => v.ToString(CultureInfo.InvariantCulture);
}
