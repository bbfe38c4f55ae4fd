using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SerMtl.Inference;

namespace SerMtl.Extensions.Hosting;

/// <summary>Loads the recognizer once (lazily, or at start through <see cref="EmotionRecognizerStartup"/>) and remembers how that went.</summary>
internal sealed class EmotionRecognizerHolder(IOptions<EmotionRecognizerServiceOptions> options, ILogger<EmotionRecognizerHolder> logger) : IDisposable
{
    private readonly Lazy<IEmotionRecognizer> _recognizer = new(() => Load(options.Value, logger), LazyThreadSafetyMode.ExecutionAndPublication);

    public IEmotionRecognizer Recognizer => _recognizer.Value;

    public bool IsLoaded => _recognizer.IsValueCreated;

    public bool IsWarm { get; set; }

    public Exception? LoadError { get; set; }

    public void Dispose()
    {
        if (_recognizer.IsValueCreated) _recognizer.Value.Dispose();
    }

    private static IEmotionRecognizer Load(EmotionRecognizerServiceOptions o, ILogger logger)
    {
        var clock = Stopwatch.StartNew();
        double? window = o.MaxWindowSeconds == 0 ? null : o.MaxWindowSeconds;
        IEmotionRecognizer recognizer = o.ResolvedEngine == "onnx"
            ? OnnxEmotionRecognizer.Load(o.Model, new OnnxRecognizerOptions
            {
                Device = o.Device, MaxWindowSeconds = window, BatchSize = o.BatchSize, Threads = o.Threads, QueueCapacity = o.QueueCapacity,
                PrepackWeights = o.PrepackWeights,
            })
            : EmotionRecognizer.Load(o.Model, new EmotionRecognizerOptions
            {
                Device = o.Device, MaxWindowSeconds = window, BatchSize = o.BatchSize, Threads = o.Threads, QueueCapacity = o.QueueCapacity,
                DType = o.DType == "bfloat16" ? InferenceDType.BFloat16 : InferenceDType.Float32,
            });
        logger.LogInformation("Emotion recognizer loaded from {Model} ({Engine} engine) in {Seconds:0.00} s: labels {Labels}",
            o.Model, o.ResolvedEngine, clock.Elapsed.TotalSeconds, string.Join(", ", recognizer.Labels));
        return recognizer;
    }
}

/// <summary>Loads the model when the host starts and, unless disabled, runs one prediction on a second of generated audio.</summary>
internal sealed class EmotionRecognizerStartup(EmotionRecognizerHolder holder, IOptions<EmotionRecognizerServiceOptions> options, ILogger<EmotionRecognizerStartup> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        IEmotionRecognizer recognizer;
        try
        {
            recognizer = holder.Recognizer;
        }
        catch (Exception e)
        {
            holder.LoadError = e;
            logger.LogCritical(e, "Emotion recognizer could not be loaded from {Model}: {Message}", options.Value.Model, e.Message);
            throw;
        }
        if (!options.Value.WarmUp)
        {
            holder.IsWarm = true;
            return;
        }
        var clock = Stopwatch.StartNew();
        await recognizer.PredictAsync(WarmUpSignal(recognizer.SampleRate), recognizer.SampleRate, cancellationToken).ConfigureAwait(false);
        holder.IsWarm = true;
        logger.LogInformation("Emotion recognizer warmed up in {Milliseconds:0} ms", clock.Elapsed.TotalMilliseconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>One second of a quiet, deterministic tone with noise (not silence, which would only warn).</summary>
    private static float[] WarmUpSignal(int sampleRate)
    {
        var random = new Random(0);
        var samples = new float[sampleRate];
        for (var i = 0; i < samples.Length; i++)
            samples[i] = (float)(0.1 * Math.Sin(2 * Math.PI * 220 * i / sampleRate) + 0.01 * (random.NextDouble() - 0.5));
        return samples;
    }
}

/// <summary>Healthy once loaded and warm, degraded while the queue is full, unhealthy when loading failed or has not happened.</summary>
internal sealed class EmotionRecognizerHealthCheck(EmotionRecognizerHolder holder) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (holder.LoadError is { } error)
            return Task.FromResult(HealthCheckResult.Unhealthy($"the model could not be loaded: {error.Message}", error));
        if (!holder.IsLoaded || !holder.IsWarm)
            return Task.FromResult(HealthCheckResult.Unhealthy("the model is not loaded yet"));
        var recognizer = holder.Recognizer;
        var data = new Dictionary<string, object> { ["queue_depth"] = recognizer.QueueDepth, ["queue_capacity"] = recognizer.QueueCapacity };
        return Task.FromResult(recognizer.QueueDepth >= recognizer.QueueCapacity
            ? HealthCheckResult.Degraded($"the queue is full ({recognizer.QueueDepth} of {recognizer.QueueCapacity}): new requests are refused", data: data)
            : HealthCheckResult.Healthy($"{recognizer.QueueDepth} of {recognizer.QueueCapacity} queued", data));
    }
}
