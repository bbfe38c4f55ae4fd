using System.Diagnostics;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Onnx.Tests;

/// <summary>
/// The exported files are valid ONNX by the reference checker (Python's <c>onnx.checker</c> with full shape inference,
/// Debian's python3-onnx) and load and run in ONNX Runtime without a warning.
/// </summary>
public sealed class ModelCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sermtl-onnx-check-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, bool> Models => new()
    {
        { "wav2vec2/tiny-seqcls-group", false },
        { "wav2vec2/tiny-seqcls-group", true },
        { "wav2vec2/tiny-speechcls-max", false },
        { "wavlm/tiny-wavlm-seqcls", false },
        { "wavlm/tiny-wavlm-seqcls", true },
        { "sermtl:wav2vec2/tiny-layer", false },
        { "sermtl:wav2vec2/tiny-layer", true },
        { "wav2vec2/tiny-hubert-ctc", false },        // a speech recogniser: CTC logits only
        { "wavlm/tiny-wavlm-ctc", true },
        { "wav2vec2/tiny-odd-layer", false },         // a bare backbone: the last hidden state
        { "wav2vec2/tiny-group", true },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void ExportedFile_LoadsAndRunsInOnnxRuntimeWithoutWarnings(string fixture, bool int8)
    {
        var path = Export(fixture, int8);
        using var session = OrtLog.Open(path, out var logged);
        var samples = new float[4000];
        for (var i = 0; i < samples.Length; i++) samples[i] = MathF.Sin(i * 0.05f);
        using var run = OnnxRun.Run(session, [.. samples, .. samples], [4000, 3000], 2);
        Assert.All(run.Float(session.OutputNames[0]), v => Assert.True(float.IsFinite(v)));
        Assert.Empty(logged);
    }

    [TheoryRequiresOnnxChecker]
    [MemberData(nameof(Models))]
    public void ExportedFile_PassesTheOnnxCheckerWithFullShapeInference(string fixture, bool int8)
    {
        var path = Export(fixture, int8);
        var (code, output) = OnnxChecker.Check(path);
        Assert.True(code == 0, $"onnx.checker rejected {fixture}: {output}");
    }

    private string Export(string fixture, bool int8)
    {
        var path = Path.Combine(_dir, $"{fixture.Replace('/', '_').Replace(':', '_')}{(int8 ? "-int8" : "")}.onnx");
        var options = new OnnxExportOptions { Int8 = int8 };
        if (!fixture.StartsWith("sermtl:", StringComparison.Ordinal))
        {
            OnnxExporter.Export(Path.Combine(TestPaths.Fixtures, fixture), path, options);
            return path;
        }
        manual_seed(3);
        using var model = SerMtlModel.FromPretrained(Path.Combine(TestPaths.Fixtures, fixture["sermtl:".Length..]),
            new SerMtlModelOptions { Labels = ["neu", "hap", "ang", "sad"] });
        OnnxExporter.Export(model, path, options);
        return path;
    }
}

/// <summary>A theory skipped (with the reason) where the reference checker cannot run.</summary>
internal sealed class TheoryRequiresOnnxCheckerAttribute : TheoryAttribute
{
    public TheoryRequiresOnnxCheckerAttribute()
    {
        if (OnnxChecker.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>Debian's python3-onnx (<c>.ci/run</c> installs it), run as the reference checker.</summary>
internal static class OnnxChecker
{
    private const string Python = "/usr/bin/python3";

    /// <summary>Null when the checker can run; else why not.</summary>
    public static string? Unavailable { get; } = Probe();

    public static (int Code, string Output) Check(string path) =>
        Run("import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print('ok')", path);

    private static string? Probe()
    {
        if (!File.Exists(Python)) return $"{Python} is missing";
        var (code, output) = Run("import onnx");
        return code == 0 ? null : $"python3-onnx is not installed ({output.Trim()})";
    }

    private static (int, string) Run(string script, params string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.GetAwaiter().GetResult());
    }
}
