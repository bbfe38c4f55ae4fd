using System.Diagnostics;

namespace SerMtl.Cli.Tests;

/// <summary>The <c>sermtl</c> tool as a child process, run from this test's output folder (sermtl.dll beside the tests).</summary>
public static class SermtlProcess
{
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sermtl.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>
    /// Runs the process until it exits, or until <paramref name="kill"/> says so (polled every 10 ms), then kills it with
    /// SIGKILL: no handler runs, nothing is flushed. Gives up (kills) after 5 minutes.
    /// </summary>
    public static (bool Finished, int Exit, string Output, string Error) RunUntil(ProcessStartInfo start, Func<bool> kill)
    {
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        var finished = false;
        while (!(finished = process.WaitForExit(10)) && !kill() && deadline.Elapsed < TimeSpan.FromMinutes(5))
        {
        }
        if (!finished) process.Kill();
        process.WaitForExit();
        return (finished, process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>Starts all <paramref name="runs"/> at once (an array job on one machine) and waits for each.</summary>
    public static IReadOnlyList<(int Exit, string Output, string Error)> RunTogether(IEnumerable<string[]> runs)
    {
        var processes = runs.Select(args => Process.Start(StartInfo(args))!).ToList();
        var outputs = processes.Select(p => (Out: p.StandardOutput.ReadToEndAsync(), Err: p.StandardError.ReadToEndAsync())).ToList();
        var results = new List<(int, string, string)>();
        for (var i = 0; i < processes.Count; i++)
        {
            using var p = processes[i];
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) p.Kill();
            p.WaitForExit();
            results.Add((p.ExitCode, outputs[i].Out.GetAwaiter().GetResult(), outputs[i].Err.GetAwaiter().GetResult()));
        }
        return results;
    }
}
