using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace SerMtl.Hub;

/// <summary>A model repository on the Hub and a revision of it: <c>org/name</c> or <c>org/name@revision</c>.</summary>
/// <param name="Repository">The repository id, <c>org/name</c>.</param>
/// <param name="Revision">A branch, tag or 40-character commit hash; <c>main</c> by default.</param>
public readonly partial record struct HubModelId(string Repository, string Revision = HubModelId.DefaultRevision)
{
    /// <summary>The revision used when none is given.</summary>
    public const string DefaultRevision = "main";

    /// <summary>The repository's folder name in the cache: <c>models--org--name</c>.</summary>
    public string CacheFolderName => "models--" + Repository.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>True when <see cref="Revision"/> is a full commit hash (no ref to resolve).</summary>
    public bool IsCommit => CommitHash().IsMatch(Revision);

    /// <summary>
    /// Parses <c>org/name</c> or <c>org/name@revision</c>. Names are letters, digits, <c>.</c>, <c>_</c> and
    /// <c>-</c> (not starting with <c>.</c> or <c>-</c>, no <c>..</c>); a revision may also hold <c>/</c>
    /// (<c>refs/pr/1</c>).
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out HubModelId? id)
    {
        id = null;
        if (string.IsNullOrEmpty(text) || text.Length > 300) return false;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var repository = at < 0 ? text : text[..at];
        var revision = at < 0 ? DefaultRevision : text[(at + 1)..];
        if (!RepositoryPattern().IsMatch(repository) || repository.Contains("..", StringComparison.Ordinal)) return false;
        if (!RevisionPattern().IsMatch(revision) || revision.Contains("..", StringComparison.Ordinal) || revision.EndsWith('/')) return false;
        id = new HubModelId(repository, revision);
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/>.</summary>
    /// <exception cref="FormatException">Not a Hub model id; the message says what one looks like.</exception>
    public static HubModelId Parse(string text) =>
        TryParse(text, out var id) ? id.Value
            : throw new FormatException($"'{text}' is not a Hub model id: expected org/name or org/name@revision (letters, digits, '.', '_', '-')");

    /// <inheritdoc/>
    public override string ToString() => Revision == DefaultRevision ? Repository : $"{Repository}@{Revision}";

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}/[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$")]
    private static partial Regex RevisionPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHash();
}
