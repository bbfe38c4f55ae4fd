using System.Diagnostics;
using System.Globalization;
using System.Net;

// A bounded load test on one machine: CLIENTS concurrent clients each POST the WAV to URL/api/emotion, one request after
// another, for SECONDS seconds; then it prints latency percentiles of the answered requests, throughput, how many were
// refused (503, the recognizer's queue full) or failed, and the server's resident memory at the start and the end
// (Linux, when SERVER_PID is given). Exit code 1 when a request failed other than by refusal.
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: LoadTest URL WAV CLIENTS SECONDS [SERVER_PID]");
    return 2;
}
var url = args[0].TrimEnd('/') + "/api/emotion";
var wav = await File.ReadAllBytesAsync(args[1]);
var clients = int.Parse(args[2], CultureInfo.InvariantCulture);
var seconds = double.Parse(args[3], CultureInfo.InvariantCulture);
int? pid = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : null;

using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
var rssStart = Rss(pid);
var latencies = new List<double>();
var (ok, refused, failed) = (0, 0, 0);
var failures = new List<string>();
var clock = Stopwatch.StartNew();
var end = TimeSpan.FromSeconds(seconds);
await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
{
    while (clock.Elapsed < end)
    {
        var start = Stopwatch.GetTimestamp();
        using var content = new ByteArrayContent(wav);
        content.Headers.ContentType = new("audio/wav");
        using var response = await http.PostAsync(url, content);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        lock (latencies)
        {
            if (response.StatusCode == HttpStatusCode.OK) { ok++; latencies.Add(elapsed); }
            else if (response.StatusCode == HttpStatusCode.ServiceUnavailable) refused++;
            else { failed++; failures.Add($"{(int)response.StatusCode} {response.ReasonPhrase}"); }
        }
    }
}));
var wall = clock.Elapsed.TotalSeconds;
var rssEnd = Rss(pid);
latencies.Sort();
double Percentile(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv, $"load: {clients} clients for {wall:0.0} s on {url}"));
Console.WriteLine(string.Create(inv, $"answered {ok}, refused (503) {refused}, failed {failed}; {ok / wall:0.0} requests/s"));
Console.WriteLine(string.Create(inv, $"latency p50 {Percentile(0.5):0} ms, p99 {Percentile(0.99):0} ms, max {(latencies.Count > 0 ? latencies[^1] : double.NaN):0} ms"));
if (rssStart is { } a && rssEnd is { } b) Console.WriteLine(string.Create(inv, $"server RSS {a:0} MB at the start, {b:0} MB at the end"));
foreach (var f in failures.Distinct().Take(5)) Console.WriteLine($"failure: {f}");
return failed == 0 ? 0 : 1;

static double? Rss(int? pid)
{
    var status = $"/proc/{pid}/status";
    if (pid is null || !File.Exists(status)) return null;
    var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return line is null ? null : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
}
