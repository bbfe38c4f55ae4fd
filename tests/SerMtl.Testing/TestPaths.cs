namespace SerMtl.Testing;

/// <summary>Where test data lives: fixtures copied next to the test binaries, and the optional ../shared folder.</summary>
public static class TestPaths
{
    /// <summary>The committed fixtures (tests/fixtures), as copied to the output folder.</summary>
    public static string Fixtures { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures");

    public static string TinyGroup { get; } = Path.Combine(Fixtures, "wav2vec2", "tiny-group");

    /// <summary>The repository root (the folder holding SerMtl.sln), found by walking up from the binaries.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared beside the repository, or null when absent (tests that need it skip).</summary>
    public static string? Shared
    {
        get
        {
            var p = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
            return Directory.Exists(p) ? p : null;
        }
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SerMtl.sln"))) return d.FullName;
        throw new InvalidOperationException("SerMtl.sln not found above " + AppContext.BaseDirectory);
    }
}
