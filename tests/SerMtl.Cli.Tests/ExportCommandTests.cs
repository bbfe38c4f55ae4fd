using System.Text.Json;
using SerMtl.Cli;
using static TorchSharp.torch;

namespace SerMtl.Cli.Tests;

/// <summary><c>sermtl export</c>, <c>predict --model FILE.onnx</c> and <c>bench --engine onnx</c>.</summary>
public sealed class ExportCommandTests(SavedModelFixture model) : IClassFixture<SavedModelFixture>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("sermtl-export-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string[] Wavs => new[] { "a", "b", "c" }.Select(s => Path.Combine(TestPaths.TinyGroup, s + ".wav")).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Export_ThenPredictTheOnnxFile_GivesTheTorchSharpPredictions(bool int8)
    {
        var onnx = Path.Combine(_scratch, "model.onnx");
        var export = CliTool.Run(["export", "--model", model.Directory, "--onnx", onnx, .. int8 ? new[] { "--int8" } : []]);
        Assert.True(export.Exit == ExitCodes.Success, export.Error);
        Assert.Contains($"wrote {onnx}", export.Output, StringComparison.Ordinal);
        Assert.Contains("outputs logits, ctc_logits, frame_lengths", export.Output, StringComparison.Ordinal);

        var torch = Predictions(CliTool.Run(["predict", "--model", model.Directory, "--json", .. Wavs]));
        var ort = Predictions(CliTool.Run(["predict", "--model", onnx, "--json", .. Wavs]));
        Assert.Equal(torch.Count, ort.Count);
        for (var i = 0; i < torch.Count; i++)
        {
            var (want, got) = (torch[i], ort[i]);
            var tolerance = int8 ? 0.05 : 1e-4;
            foreach (var (label, p) in want.Probabilities) Assert.Equal(p, got.Probabilities[label], tolerance);
            if (!int8)
            {
                Assert.Equal(want.Label, got.Label);
                Assert.Equal(want.Transcript, got.Transcript);
            }
        }
    }

    [Fact]
    public void PredictOnnx_WithTorchOnlyOptions_IsAUsageError_AndCudaWithoutItsProviderSaysWhatIsMissing()
    {
        var onnx = Path.Combine(_scratch, "model.onnx");
        Assert.Equal(ExitCodes.Success, CliTool.Run("export", "--model", model.Directory, "--onnx", onnx).Exit);
        // The tool ships ONNX Runtime's CPU package: the engine's error names the package CUDA needs.
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", CliTool.Failure("predict", "--model", onnx, "--device", "cuda", Wavs[0]), StringComparison.Ordinal);
        Assert.Contains("--device expects cpu, cuda or cuda:N", CliTool.Usage("predict", "--model", onnx, "--device", "gpu", Wavs[0]), StringComparison.Ordinal);
        Assert.Contains("--dtype applies to TorchSharp models", CliTool.Usage("predict", "--model", onnx, "--dtype", "bfloat16", Wavs[0]), StringComparison.Ordinal);
    }

    [Fact]
    public void Export_SpeechRecogniserAndBackbone_SayWhatTheyAre_AndPredictRefusesThem()
    {
        var ctc = Path.Combine(_scratch, "ctc.onnx");
        var (exit, output, _) = CliTool.Run("export", "--model", Path.Combine(TestPaths.Fixtures, "wav2vec2/tiny-hubert-ctc"), "--onnx", ctc);
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("HubertForCTC, outputs ctc_logits, frame_lengths; a speech recogniser over", output, StringComparison.Ordinal);
        var backbone = Path.Combine(_scratch, "backbone.onnx");
        (exit, output, _) = CliTool.Run("export", "--model", Path.Combine(TestPaths.Fixtures, "wav2vec2/tiny-group"), "--onnx", backbone);
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("Wav2Vec2Model, outputs last_hidden_state, frame_lengths; a backbone's frame features", output, StringComparison.Ordinal);
        Assert.Contains("no emotion output", CliTool.Failure("predict", "--model", ctc, Wavs[0]), StringComparison.Ordinal);
    }

    [Fact]
    public void Export_BadArguments_SayWhatIsWrong()
    {
        Assert.Contains("is a directory", CliTool.Usage("export", "--model", model.Directory, "--onnx", _scratch), StringComparison.Ordinal);
        var notAModel = Directory.CreateDirectory(Path.Combine(_scratch, "empty")).FullName;
        var error = CliTool.Failure("export", "--model", notAModel, "--onnx", Path.Combine(_scratch, "x.onnx"));
        Assert.Contains(notAModel, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_scratch, "x.onnx")));
        var notOnnx = Path.Combine(_scratch, "bad.onnx");
        File.WriteAllText(notOnnx, "not a model");
        Assert.Contains("ONNX Runtime cannot load it", CliTool.Failure("predict", "--model", notOnnx, Wavs[0]), StringComparison.Ordinal);
    }

    [Fact]
    public void BenchOnnx_TinyModel_ReportsBothEnginesFromAChildWithoutLibtorch()
    {
        var threads = get_num_threads();
        CliOutcome outcome;
        try
        {
            outcome = CliTool.Run("bench", "--engine", "onnx", "--int8", "--config", Path.Combine(TestPaths.TinyGroup, "config.json"),
                "--seconds", "0.5", "--batch", "3", "--threads", "1", "--skip-predict", "--json");
        }
        finally
        {
            set_num_threads(threads);
        }
        Assert.True(outcome.Exit == ExitCodes.Success, outcome.Error);
        using var json = JsonDocument.Parse(outcome.Output);
        var root = json.RootElement;
        foreach (var key in new[] { "inference_ms", "onnx_inference_ms", "onnx_int8_inference_ms", "onnx_inference_peak_rss_mb", "onnx_peak_rss_mb",
            "onnx_utterances_per_second_batch1", "onnx_utterances_per_second_batchN", "onnx_vs_torch_inference", "int8_vs_onnx_inference",
            "onnx_vs_torch_peak_rss", "real_time_factor", "onnx_real_time_factor", "onnx_file_mb", "onnx_int8_file_mb" })
            Assert.True(root.GetProperty(key).GetDouble() > 0, $"{key}: {root.GetProperty(key)}");
        Assert.True(root.GetProperty("onnx_int8_file_mb").GetDouble() < root.GetProperty("onnx_file_mb").GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("train_step_ms").ValueKind);
        if (OperatingSystem.IsLinux()) Assert.False(root.GetProperty("libtorch_loaded").GetBoolean());
        Assert.Contains("--reference and --keep-onnx need --engine onnx", CliTool.Usage("bench", "--int8"), StringComparison.Ordinal);
    }

    [Fact]
    public void PredictTimeline_ThreeUtterances_GivesOneRowEach_InEveryFormat()
    {
        var pause = new float[16000];
        var wav = Path.Combine(_scratch, "three.wav");
        TestAudio.WriteWav(wav, pause.Concat(TestAudio.Speechlike(1.2, seed: 1)).Concat(pause).Concat(TestAudio.Speechlike(0.8, seed: 2))
            .Concat(pause).Concat(TestAudio.Speechlike(1.5, seed: 3)).Concat(pause).ToArray());
        var json = CliTool.Run("predict", "--model", model.Directory, "--timeline", "--json", wav);
        Assert.True(json.Exit == ExitCodes.Success, json.Error);
        using var doc = JsonDocument.Parse(json.Output);
        var segments = doc.RootElement[0].GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(3, segments.Count);
        Assert.All(segments, s => Assert.Contains(s.GetProperty("label").GetString(), SavedModelFixture.Labels));
        Assert.True(segments[0].GetProperty("end_seconds").GetDouble() <= segments[1].GetProperty("start_seconds").GetDouble());
        var csv = CliTool.Run("predict", "--model", model.Directory, "--timeline", "--csv", wav);
        var lines = csv.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("file,start_seconds,end_seconds,label,confidence,p_neutral", lines[0], StringComparison.Ordinal);
        Assert.Equal(4, lines.Length);
        var table = CliTool.Run("predict", "--model", model.Directory, "--timeline", wav);
        Assert.Equal(4, table.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    private sealed record Row(string Label, Dictionary<string, double> Probabilities, string Transcript);

    private static List<Row> Predictions(CliOutcome outcome)
    {
        Assert.True(outcome.Exit == ExitCodes.Success, outcome.Error);
        using var json = JsonDocument.Parse(outcome.Output);
        return json.RootElement.EnumerateArray().Select(e => new Row(
            e.GetProperty("label").GetString()!,
            e.GetProperty("probabilities").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble()),
            e.GetProperty("transcript").GetString()!)).ToList();
    }
}
