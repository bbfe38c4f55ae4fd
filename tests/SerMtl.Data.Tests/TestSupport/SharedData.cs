using System.Diagnostics;

namespace SerMtl.Data.Tests.TestSupport;

/// <summary>
/// The optional <c>../shared</c> folder beside the repository (IEMOCAP replica generator and its tables), and
/// <c>SERMTL_IEMOCAP_ROOT</c> for a real IEMOCAP copy.
/// </summary>
internal static class SharedData
{
    public const string RealIemocapVariable = "SERMTL_IEMOCAP_ROOT";

    /// <summary>The repository root (the folder holding SerMtl.sln), found by walking up from the binaries.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary><c>&lt;repo root&gt;/../shared/iemocap</c> when it holds the replica generator, else null.</summary>
    public static string? IemocapTables
    {
        get
        {
            var p = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "iemocap"));
            return File.Exists(Path.Combine(p, "make_replica.py")) && File.Exists(Path.Combine(p, "utterances.tsv")) ? p : null;
        }
    }

    /// <summary>A real IEMOCAP copy named by <c>SERMTL_IEMOCAP_ROOT</c>, or null.</summary>
    public static string? RealIemocapRoot =>
        Environment.GetEnvironmentVariable(RealIemocapVariable) is { Length: > 0 } p ? p : null;

    /// <summary>The <c>python3</c> (or <c>python</c>) on PATH, or null. make_replica.py needs only the standard library.</summary>
    public static string? Python { get; } = FindPython();

    /// <summary>Why the replica cannot be built here, or null when it can.</summary>
    public static string? ReplicaUnavailableReason =>
        IemocapTables is null ? $"{Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "iemocap"))} (make_replica.py, utterances.tsv) is absent"
        : Python is null ? "no python3 on PATH to run make_replica.py"
        : null;

    /// <summary>Runs make_replica.py into <paramref name="outDir"/> and returns the release folder it wrote.</summary>
    public static string BuildReplica(string outDir, double seconds = 0.01)
    {
        var script = Path.Combine(IemocapTables ?? throw new InvalidOperationException(ReplicaUnavailableReason), "make_replica.py");
        var psi = new ProcessStartInfo(Python!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(outDir);
        psi.ArgumentList.Add("--seconds");
        psi.ArgumentList.Add(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("make_replica.py did not finish in 5 minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"make_replica.py failed ({process.ExitCode}): {stderr.Result}");
        return Path.Combine(outDir, "IEMOCAP_full_release");
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "SerMtl.sln"))) return d.FullName;
        }
        throw new InvalidOperationException("SerMtl.sln not found above " + AppContext.BaseDirectory);
    }

    private static string? FindPython()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var name in OperatingSystem.IsWindows() ? new[] { "python3.exe", "python.exe" } : ["python3", "python"])
        {
            foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }
}

/// <summary>
/// A fact that needs IEMOCAP data: a real copy (<c>SERMTL_IEMOCAP_ROOT</c>) or the replica built from
/// <c>../shared/iemocap</c>. Skipped, with the reason, when neither is available.
/// </summary>
internal sealed class FactRequiresIemocapAttribute : FactAttribute
{
    public FactRequiresIemocapAttribute()
    {
        if (SharedData.RealIemocapRoot is null && SharedData.ReplicaUnavailableReason is { } reason)
            Skip = $"needs IEMOCAP: set {SharedData.RealIemocapVariable} to a real copy, or provide the replica generator ({reason})";
    }
}
