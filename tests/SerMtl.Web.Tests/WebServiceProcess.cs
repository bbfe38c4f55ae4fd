using System.Diagnostics;
using System.Text.RegularExpressions;
using SerMtl.Onnx;

namespace SerMtl.Web.Tests;

/// <summary>
/// samples/WebService running as a child process on 127.0.0.1 (a free port), serving the saved test model exported to
/// ONNX, with extra settings as command-line configuration (<c>--Section:Key=value</c>).
/// </summary>
public sealed partial class WebServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly SavedModelFixture _saved = new();
    private readonly List<string> _log = [];

    public WebServiceProcess(params string[] settings)
    {
        Model = _saved.Directory + ".onnx";
        OnnxExporter.Export(_saved.Directory, Model);
        var dll = Path.Combine(TestPaths.RepoRoot, "samples", "WebService", "bin", Configuration, "net10.0", "WebService.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(TestPaths.RepoRoot, "samples", "WebService") }; // the content root: wwwroot, appsettings.json
        foreach (var a in new[] { dll, "--urls", "http://127.0.0.1:0", $"--EmotionRecognizer:Model={Model}" }.Concat(settings)) start.ArgumentList.Add(a);
        start.Environment["DOTNET_NOLOGO"] = "1";
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start the web service");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Read(string? line)
        {
            if (line is null) return;
            lock (_log) _log.Add(line);
            if (Listening().Match(line) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        }
        _process.OutputDataReceived += (_, e) => Read(e.Data);
        _process.ErrorDataReceived += (_, e) => Read(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!listening.Task.Wait(TimeSpan.FromSeconds(60)))
            throw new InvalidOperationException("the web service did not start:\n" + Log);
        BaseAddress = listening.Task.Result;
    }

    public Uri BaseAddress { get; }

    public string Model { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log) return string.Join('\n', _log);
        }
    }

    public HttpClient Client() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        finally
        {
            _process.Dispose();
            File.Delete(Model);
            _saved.Dispose();
        }
    }

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex Listening();
}
