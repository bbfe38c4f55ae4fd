using System.Diagnostics;
using Xunit.Abstractions;

namespace SerMtl.Web.Tests;

/// <summary>
/// samples/LoadTest against the service on 127.0.0.1: 4 clients for 5 s. Every request is answered or refused (503),
/// none fails, and the server's memory at the end is near where it started.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task FourClientsForFiveSeconds_AllAnsweredOrRefused_MemoryFlat()
    {
        using var service = new WebServiceProcess("--EmotionRecognizer:QueueCapacity=2");
        var dll = Path.Combine(TestPaths.RepoRoot, "samples", "LoadTest", "bin",
#if DEBUG
            "Debug",
#else
            "Release",
#endif
            "net10.0", "LoadTest.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, service.BaseAddress.ToString(), Path.Combine(TestPaths.TinyGroup, "a.wav"), "4", "5", service.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await stdout + await stderr;
        output.WriteLine(text);
        Assert.True(process.ExitCode == 0, text);
        Assert.Matches(@"answered [1-9]\d*, refused \(503\) \d+, failed 0", text);
        Assert.Matches(@"latency p50 \d+ ms, p99 \d+ ms", text);
        var rss = System.Text.RegularExpressions.Regex.Match(text, @"server RSS (\d+) MB at the start, (\d+) MB at the end");
        Assert.True(rss.Success, text);
        var (before, after) = (double.Parse(rss.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), double.Parse(rss.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(after <= before * 1.5 + 100, $"server RSS grew from {before} to {after} MB");
        Assert.False(service.HasExited);
    }
}
