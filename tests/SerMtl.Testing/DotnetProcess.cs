using System.Diagnostics;
using System.Text;

namespace SerMtl.Testing;

/// <summary>Runs the <c>dotnet</c> CLI as a child process for the packaging tests, with a time limit and the output kept for failure messages.</summary>
public static class DotnetProcess
{
    /// <summary>Runs <c>dotnet args</c> in <paramref name="workingDirectory"/>; returns the exit code and stdout + stderr interleaved.</summary>
    public static (int ExitCode, string Output) Run(string workingDirectory, TimeSpan timeout, params string[] args) =>
        Run(workingDirectory, timeout, [], args);

    /// <summary>As <see cref="Run(string, TimeSpan, string[])"/>, with <paramref name="environment"/> set in the child's environment.</summary>
    public static (int ExitCode, string Output) Run(string workingDirectory, TimeSpan timeout, IReadOnlyList<(string Name, string Value)> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        // The test host runs under 'dotnet test': its MSBuild variables would steer the child build to the
        // parent's SDK resolution and project; a consumer starts clean.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No build servers or nodes left running after the test.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        foreach (var (name, value) in environment) start.Environment[name] = value;

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"'dotnet {string.Join(' ', args)}' in {workingDirectory} did not finish in {timeout.TotalMinutes:0} min.\n{Tail(output)}");
        }
        process.WaitForExit(); // drains the redirected streams
        lock (output) return (process.ExitCode, output.ToString());
    }

    /// <summary>As <see cref="Run"/>, failing with the command and the end of its output unless it exits with 0.</summary>
    public static string RunChecked(string workingDirectory, TimeSpan timeout, params string[] args) =>
        RunChecked(workingDirectory, timeout, [], args);

    /// <summary>As <see cref="Run(string, TimeSpan, IReadOnlyList{ValueTuple{string, string}}, string[])"/>, failing unless it exits with 0.</summary>
    public static string RunChecked(string workingDirectory, TimeSpan timeout, IReadOnlyList<(string Name, string Value)> environment, params string[] args)
    {
        var (exit, output) = Run(workingDirectory, timeout, environment, args);
        if (exit != 0)
            throw new Xunit.Sdk.XunitException($"'dotnet {string.Join(' ', args)}' in {workingDirectory} exited with {exit}:\n{Tail(output)}");
        return output;
    }

    public static string Tail(object output, int chars = 6000)
    {
        var text = output.ToString() ?? "";
        return text.Length <= chars ? text : "…" + text[^chars..];
    }
}
