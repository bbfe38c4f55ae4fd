using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SerMtl.Inference;
using SerMtl.Onnx;

namespace SerMtl.Extensions.Hosting.Tests;

/// <summary><c>AddEmotionRecognizer</c> in a real host: configuration binding, validation at start, loading and warm-up, the health check.</summary>
public sealed class HostingTests : IDisposable
{
    private static readonly string Wav = Path.Combine(TestPaths.TinyGroup, "a.wav");
    private readonly SavedModelFixture _saved = new();
    private readonly string _onnx;

    public HostingTests()
    {
        _onnx = _saved.Directory + ".onnx";
        OnnxExporter.Export(_saved.Directory, _onnx);
    }

    public void Dispose()
    {
        _saved.Dispose();
        File.Delete(_onnx);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings.ToDictionary(kv => "EmotionRecognizer:" + kv.Key, kv => kv.Value));
        builder.Services.AddLogging();
        builder.Services.AddEmotionRecognizer(builder.Configuration.GetSection("EmotionRecognizer"));
        builder.Services.AddHealthChecks().AddEmotionRecognizerCheck();
        return builder.Build();
    }

    [Theory]
    [InlineData("onnx", typeof(OnnxEmotionRecognizer))]
    [InlineData("torch", typeof(EmotionRecognizer))]
    public async Task Start_LoadsAndWarmsTheEngineTheModelNames_ThenPredictsAndReportsHealthy(string engine, Type expected)
    {
        using var host = Build(new() { ["Model"] = engine == "onnx" ? _onnx : _saved.Directory, ["QueueCapacity"] = "4" });
        var health = host.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status); // not started: not loaded
        await host.StartAsync();
        var recognizer = host.Services.GetRequiredService<IEmotionRecognizer>();
        Assert.IsType(expected, recognizer);
        Assert.Equal(4, recognizer.QueueCapacity);
        Assert.Equal(SavedModelFixture.Labels, recognizer.Labels);
        var prediction = await recognizer.PredictAsync(Wav);
        Assert.Contains(prediction.Label, SavedModelFixture.Labels);
        var report = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task Start_BadSettings_FailsNamingEverySetting()
    {
        using var host = Build(new()
        {
            ["Model"] = "", ["Engine"] = "tensorflow", ["Device"] = "gpu", ["BatchSize"] = "0", ["QueueCapacity"] = "0", ["MaxWindowSeconds"] = "-1",
        });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        foreach (var setting in new[] { "EmotionRecognizer:Model", "EmotionRecognizer:Engine", "EmotionRecognizer:Device", "EmotionRecognizer:BatchSize",
            "EmotionRecognizer:QueueCapacity", "EmotionRecognizer:MaxWindowSeconds" })
            Assert.Contains(e.Failures, f => f.StartsWith(setting, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_OnnxModelWithTorchSettings_IsRefused()
    {
        using var host = Build(new() { ["Model"] = _onnx, ["DType"] = "bfloat16" });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(e.Failures, f => f.StartsWith("EmotionRecognizer:DType", StringComparison.Ordinal));
        using var torchHost = Build(new() { ["Model"] = _onnx, ["Engine"] = "torch", ["PrepackWeights"] = "false" });
        e = await Assert.ThrowsAsync<OptionsValidationException>(() => torchHost.StartAsync());
        Assert.Contains(e.Failures, f => f.StartsWith("EmotionRecognizer:PrepackWeights applies to the ONNX engine", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_OnnxModelOnCudaWithTheCpuPackage_FailsAndTheHealthCheckNamesThePackageCudaNeeds()
    {
        using var host = Build(new() { ["Model"] = _onnx, ["Device"] = "cuda:0" });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", e.Message, StringComparison.Ordinal);
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("cuda:0", report.Entries["emotion_recognizer"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_MissingModel_FailsAndTheHealthCheckSaysWhy()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sermtl-missing-" + Guid.NewGuid().ToString("N") + ".onnx");
        using var host = Build(new() { ["Model"] = missing });
        await Assert.ThrowsAsync<FileNotFoundException>(() => host.StartAsync());
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains(missing, report.Entries["emotion_recognizer"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_QueueFull_IsDegraded()
    {
        using var host = Build(new() { ["Model"] = _onnx, ["QueueCapacity"] = "1", ["WarmUp"] = "false" });
        await host.StartAsync();
        var recognizer = host.Services.GetRequiredService<IEmotionRecognizer>();
        var held = new HeldStream(await File.ReadAllBytesAsync(Wav));
        var running = recognizer.PredictAsync(held, "held");
        await held.Reading;
        var health = host.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Degraded, (await health.CheckHealthAsync()).Status);
        held.Release();
        await running;
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        await host.StopAsync();
    }
}
