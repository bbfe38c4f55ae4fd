using System.Text.Json;
using SerMtl.Cli;
using SerMtl.Cli.Commands;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SerMtl.Cli.Tests;

/// <summary>The bench command on the tiny fixture config: the report's shape, never its timings.</summary>
public class BenchCommandTests(ITestOutputHelper output)
{
    private static readonly string TinyConfig = Path.Combine(TestPaths.TinyGroup, "config.json");

    private (int Exit, string Text) Run(params string[] argv)
    {
        var threads = get_num_threads();
        try
        {
            var outcome = CliTool.Run(["bench", .. argv]);
            output.WriteLine(outcome.Output + outcome.Error);
            return (outcome.Exit, outcome.Output);
        }
        finally
        {
            set_num_threads(threads); // the command sets the process-wide thread count
        }
    }

    private static string Usage(params string[] argv) => CliTool.Usage(["bench", .. argv]);

    [Theory]
    [InlineData("float32")]
    [InlineData("bfloat16")]
    public void Json_TinyModel_ReportsEveryFigure(string dtype)
    {
        var (exit, text) = Run("--config", TinyConfig, "--seconds", "0.5", "--batch", "3", "--threads", "1", "--dtype", dtype, "--json");
        Assert.Equal(ExitCodes.Success, exit);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        foreach (var key in new[]
        {
            "inference_ms", "train_step_ms", "peak_rss_mb", "inference_peak_rss_mb", "train_peak_rss_mb", "gflops",
            "train_gflops", "gemm_gflops",
            "utterances_per_second_batch1", "utterances_per_second_batchN", "real_time_factor",
            "predict_per_file_ms", "predict_real_time_factor", "predict_vs_inference", "predict_peak_rss_mb", "predict_model_load_seconds",
        })
        {
            Assert.True(root.TryGetProperty(key, out var value), $"missing {key}");
            Assert.Equal(JsonValueKind.Number, value.ValueKind);
            Assert.True(value.GetDouble() > 0, $"{key} = {value.GetDouble()}");
        }
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal(3, root.GetProperty("batch").GetInt32());
        Assert.Equal(dtype, root.GetProperty("dtype").GetString());
        Assert.Equal(0.5, root.GetProperty("seconds").GetDouble());
        Assert.Equal(8, root.GetProperty("throughput_clips").GetInt32());
        Assert.True(root.GetProperty("feature_encoder_frozen").GetBoolean()); // SerTrainer's default
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("machine").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("allocator").GetString()));
        if (OperatingSystem.IsLinux())
            foreach (var key in new[] { "inference_page_faults", "train_step_page_faults", "load_average_before" })
                Assert.Equal(JsonValueKind.Number, root.GetProperty(key).ValueKind);
        // The user's path: sermtl predict over 11 WAVs in a child process, its real-time factor that of its per-file time.
        Assert.Equal(11, root.GetProperty("predict_files").GetInt32());
        Assert.Equal(root.GetProperty("predict_per_file_ms").GetDouble() / 500, root.GetProperty("predict_real_time_factor").GetDouble(), 3);
        // The ratio is of the unrounded figures; the JSON's are rounded, so recomputing it agrees to ~1 %, not to a decimal place.
        var ratio = root.GetProperty("predict_per_file_ms").GetDouble() / root.GetProperty("inference_ms").GetDouble();
        Assert.Equal(ratio, root.GetProperty("predict_vs_inference").GetDouble(), ratio * 0.01 + 0.005);
        if (OperatingSystem.IsLinux()) Assert.Equal("BoundedReuse", root.GetProperty("predict_native_memory").GetString());
        // The peak covers every phase.
        Assert.True(root.GetProperty("peak_rss_mb").GetDouble() >= root.GetProperty("train_peak_rss_mb").GetDouble());
    }

    [Fact]
    public void Text_SkipTrain_SaysSoAndLeavesTheTrainingFiguresOut()
    {
        var (exit, text) = Run("--config", TinyConfig, "--seconds", "0.3", "--batch", "2", "--threads", "1", "--skip-predict", "--skip-train");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("training step    skipped", text);
        Assert.Contains("utterances/s at batch 1", text);
        Assert.DoesNotContain("user's path", text); // --skip-predict

        var (_, json) = Run("--config", TinyConfig, "--seconds", "0.3", "--batch", "2", "--threads", "1", "--skip-predict", "--skip-train", "--json");
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("train_step_ms").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("train_peak_rss_mb").ValueKind);
        Assert.False(doc.RootElement.TryGetProperty("predict_per_file_ms", out _));
    }

    [Fact]
    public void Text_SystemMalloc_OptsOutInTheBenchAndItsPredictChild()
    {
        var (exit, text) = Run("--config", TinyConfig, "--seconds", "0.3", "--batch", "2", "--threads", "1", "--skip-train", "--system-malloc");
        Assert.Equal(ExitCodes.Success, exit);
        // (The bench's own process here is the test host, whose policy was decided by the first model it built.)
        Assert.Contains("user's path      sermtl predict, 11 WAVs of 0.3 s", text);
        Assert.Contains("native memory System", text);
        Assert.Null(Environment.GetEnvironmentVariable("SERMTL_NATIVE_MEMORY")); // restored
    }

    [Fact]
    public void Json_TrainFeatureEncoder_TrainsItAndSaysSo()
    {
        var (exit, json) = Run("--config", TinyConfig, "--seconds", "0.3", "--batch", "2", "--threads", "1", "--skip-predict", "--train-feature-encoder", "--json");
        Assert.Equal(ExitCodes.Success, exit);
        using var doc = JsonDocument.Parse(json);
        Assert.False(doc.RootElement.GetProperty("feature_encoder_frozen").GetBoolean());
        Assert.True(doc.RootElement.GetProperty("train_step_ms").GetDouble() > 0);
    }

    [Fact]
    public void Json_MemorySavingTrainingOnly_SkipsInferenceAndSaysWhichOptionsRan()
    {
        var (exit, json) = Run("--config", TinyConfig, "--seconds", "0.3", "--threads", "1", "--skip-inference",
            "--optimizer-state", "bfloat16", "--gradient-checkpointing", "--json");
        Assert.Equal(ExitCodes.Success, exit);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("bfloat16", root.GetProperty("optimizer_state").GetString());
        Assert.True(root.GetProperty("gradient_checkpointing").GetBoolean());
        Assert.True(root.GetProperty("train_step_ms").GetDouble() > 0);
        Assert.Equal(root.GetProperty("train_peak_rss_mb").GetDouble(), root.GetProperty("peak_rss_mb").GetDouble());
        foreach (var key in new[] { "inference_ms", "gflops", "utterances_per_second_batch1", "utterances_per_second_batchN", "inference_peak_rss_mb" })
            Assert.Equal(JsonValueKind.Null, root.GetProperty(key).ValueKind);

        var (_, text) = Run("--config", TinyConfig, "--seconds", "0.3", "--threads", "1", "--skip-inference", "--optimizer-state", "bfloat16", "--gradient-checkpointing");
        Assert.Contains("bfloat16 AdamW state, gradient checkpointing", text);
        Usage("--config", TinyConfig, "--skip-inference", "--skip-train");
    }

    [Theory]
    [InlineData("--dtype", "float16", "--dtype expects one of float32|bfloat16")]
    [InlineData("--threads", "0", "--threads expects an integer in [1,")]
    [InlineData("--seconds", "0.01", "--seconds expects a number in [0.05,")]
    [InlineData("--batch", "x", "--batch expects an integer")]
    [InlineData("--optimizer-state", "int8", "--optimizer-state expects one of float32|bfloat16")]
    public void Run_BadOption_IsAUsageError(string option, string value, string message)
    {
        var e = Usage("--config", TinyConfig, option, value);
        Assert.Contains(message, e);
    }

    [Fact]
    public void Run_ClipShorterThanTheReceptiveField_IsAUsageError()
    {
        var config = Path.Combine(Path.GetTempPath(), "sermtl-bench-" + Guid.NewGuid().ToString("N") + ".json");
        // The tiny config with a first kernel of 1000 samples: 0.05 s (800 samples) is too short.
        var text = File.ReadAllText(TinyConfig).Replace("\"conv_kernel\": [\n    10,", "\"conv_kernel\": [\n    1000,");
        Assert.Contains("1000", text);
        File.WriteAllText(config, text);
        try
        {
            var e = Usage("--config", config, "--seconds", "0.05");
            Assert.Contains("gives 800 samples; the model needs at least", e);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
