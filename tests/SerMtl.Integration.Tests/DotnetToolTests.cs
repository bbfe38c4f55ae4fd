using System.Globalization;
using System.Text.Json;
using SerMtl.Inference;
using Xunit.Abstractions;

namespace SerMtl.Integration.Tests;

/// <summary>
/// Packs the CLI as a dotnet tool (with its bundled Linux x64 CPU backend, ~150 MB), installs it into a temporary
/// tool path from a folder feed and runs the installed <c>sermtl</c>. Takes a few minutes and ~1 GB of temporary
/// disk, so it runs only when <c>SERMTL_TEST_DOTNET_TOOL=1</c>.
/// </summary>
[Trait("Category", "Packaging")]
public sealed class DotnetToolTests(SavedModelFixture model, ITestOutputHelper output) : IClassFixture<SavedModelFixture>, IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);
    private readonly string _root = Directory.CreateTempSubdirectory("sermtl-tool-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException e)
        {
            output.WriteLine($"could not delete {_root}: {e.Message}");
        }
    }

    [FactRequiresEnvironment("SERMTL_TEST_DOTNET_TOOL")]
    public void InstalledTool_RunsHelpAndPredict()
    {
        var version = "0.0.0-tooltest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var feed = Path.Combine(_root, "feed");
        var tools = Path.Combine(_root, "tools");
        DotnetProcess.RunChecked(TestPaths.RepoRoot, StepTimeout, "pack", "tools/SerMtl.Cli/SerMtl.Cli.csproj", "-c", "Release", "-o", feed, $"-p:Version={version}", "-nodeReuse:false");
        // nuget.org takes packages up to 250 MB: libtorch, ONNX Runtime and SkiaSharp for every platform would not fit.
        var package = new FileInfo(Path.Combine(feed, $"sermtl.{version}.nupkg"));
        output.WriteLine($"tool package: {package.Length / 1e6:0} MB");
        Assert.True(package.Length < 250_000_000, $"the tool package is {package.Length / 1e6:0} MB, over nuget.org's 250 MB");
        DotnetProcess.RunChecked(_root, StepTimeout, "tool", "install", "--tool-path", tools, "--add-source", feed, "--version", version, "sermtl");
        var sermtl = Path.Combine(tools, OperatingSystem.IsWindows() ? "sermtl.exe" : "sermtl");

        var help = Run(sermtl, "--help");
        Assert.Equal(0, help.Exit);
        Assert.Contains("predict", help.Output);

        var wav = Path.Combine(TestPaths.TinyGroup, "a.wav");
        using var recognizer = EmotionRecognizer.Load(model.Directory);
        var expected = recognizer.Predict(wav);
        var predict = Run(sermtl, "predict", "--model", model.Directory, "--json", wav);
        Assert.True(predict.Exit == 0, $"sermtl predict exited with {predict.Exit}:\n{predict.Output}{predict.Errors}");
        using var json = JsonDocument.Parse(predict.Output);
        Assert.Equal(expected.Label, json.RootElement[0].GetProperty("label").GetString());
        Assert.Equal(expected.Transcript, json.RootElement[0].GetProperty("transcript").GetString());
    }

    private static (int Exit, string Output, string Errors) Run(string exe, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish in 3 min");
        }
        return (process.ExitCode, stdout, errors.Result);
    }
}
