using System.Diagnostics;
using System.Globalization;

namespace SerMtl.Cli.Tests;

/// <summary>
/// IEMOCAP for CLI tests: a real copy when <c>SERMTL_IEMOCAP_ROOT</c> is set, else the full replica built once
/// (per test class) by <c>../shared/iemocap/make_replica.py</c> into a temp folder; <see cref="Root"/> is null
/// when neither is available.
/// </summary>
public class IemocapReplicaFixture : IDisposable
{
    private readonly string? _temp;

    public IemocapReplicaFixture()
        : this(0.01, null)
    {
    }

    /// <summary>A replica whose WAVs last <paramref name="seconds"/>, of the given sessions (e.g. <c>1</c>; all when null).</summary>
    protected IemocapReplicaFixture(double seconds, string? sessions)
    {
        if (Environment.GetEnvironmentVariable("SERMTL_IEMOCAP_ROOT") is { Length: > 0 } real)
        {
            Root = real;
            return;
        }
        if (UnavailableReason is not null) return;
        _temp = Path.Combine(Path.GetTempPath(), "sermtl-cli-tests-" + Guid.NewGuid().ToString("N")[..12]);
        var psi = new ProcessStartInfo(Python!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(Tables!, "make_replica.py"), _temp, "--seconds", seconds.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (sessions is not null)
        {
            psi.ArgumentList.Add("--sessions");
            psi.ArgumentList.Add(sessions);
        }
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("make_replica.py did not finish in 5 minutes");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"make_replica.py failed ({process.ExitCode}): {stderr.Result}");
        Root = Path.Combine(_temp, "IEMOCAP_full_release");
    }

    public string? Root { get; }

    /// <summary><c>../shared/iemocap</c> when it holds the generator and its tables, else null.</summary>
    public static string? Tables =>
        TestPaths.Shared is { } shared && File.Exists(Path.Combine(shared, "iemocap", "make_replica.py"))
            ? Path.Combine(shared, "iemocap")
            : null;

    public static string? Python { get; } = FindPython();

    /// <summary>Why there is no IEMOCAP to test on, or null when there is.</summary>
    public static string? UnavailableReason =>
        Environment.GetEnvironmentVariable("SERMTL_IEMOCAP_ROOT") is { Length: > 0 } ? null
        : Tables is null ? "needs IEMOCAP: ../shared/iemocap/make_replica.py is absent and SERMTL_IEMOCAP_ROOT is not set"
        : Python is null ? "needs IEMOCAP: no python3 on PATH to run ../shared/iemocap/make_replica.py"
        : null;

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || _temp is null) return;
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static string? FindPython()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in new[] { "python3", "python" })
            {
                var candidate = Path.Combine(dir, OperatingSystem.IsWindows() ? name + ".exe" : name);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }
}

/// <summary>A fact that needs <see cref="IemocapReplicaFixture"/> to have data; skipped with the reason otherwise.</summary>
internal sealed class FactRequiresIemocapReplicaAttribute : FactAttribute
{
    public FactRequiresIemocapReplicaAttribute()
    {
        if (IemocapReplicaFixture.UnavailableReason is { } reason) Skip = reason;
    }
}
