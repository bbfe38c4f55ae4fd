using System.Collections.Concurrent;
using SerMtl.Inference;

namespace SerMtl.Onnx.Tests;

/// <summary>
/// Asynchronous requests run on the recognizer's own thread (one C allocator arena for the engine's native memory),
/// whatever threads the callers are on; synchronous calls run on the caller's thread.
/// </summary>
public sealed class RequestThreadTests
{
    [Fact]
    public async Task PredictAsync_FromManyThreads_RunsEveryForwardOnOneThreadThatIsNotTheCallers()
    {
        using var engine = new ThreadRecordingEngine();
        var samples = new float[16000];
        var requests = Enumerable.Range(0, 12).Select(_ => Task.Run(() => engine.PredictAsync(samples.AsMemory(), 16000))).ToArray();
        await Task.WhenAll(requests);
        var threads = engine.Threads.Distinct().ToArray();
        Assert.Equal(12, engine.Threads.Count);
        var thread = Assert.Single(threads);
        Assert.NotEqual(Environment.CurrentManagedThreadId, thread);

        engine.Predict(samples, 16000);
        Assert.Equal(Environment.CurrentManagedThreadId, engine.Threads.Last());
    }

    [Fact]
    public async Task PredictAsync_AFailingForward_FailsThatRequestOnly_AndAfterDisposeIsRefused()
    {
        var engine = new ThreadRecordingEngine { FailNext = true };
        var samples = new float[16000];
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => engine.PredictAsync(samples.AsMemory(), 16000));
        Assert.Equal("forward failed", e.Message);
        Assert.Equal("a", (await engine.PredictAsync(samples.AsMemory(), 16000)).Label);
        engine.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => engine.PredictAsync(samples.AsMemory(), 16000));
    }

    /// <summary>An engine whose forward records the thread it runs on and answers label "a".</summary>
    private sealed class ThreadRecordingEngine() : EmotionRecognizerBase(new RecognizerModelInfo
    {
        Labels = ["a", "b"],
        SampleRate = 16000,
        ReceptiveField = 400,
        SamplesPerFrame = 320,
    }, maxWindowSeconds: null, batchSize: 1)
    {
        public ConcurrentQueue<int> Threads { get; } = new();
        public bool FailNext { get; set; }

        protected override BatchOutput[] RunBatch(PaddedWaveforms batch)
        {
            Threads.Enqueue(Environment.CurrentManagedThreadId);
            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("forward failed");
            }
            return Enumerable.Range(0, batch.Count).Select(_ => new BatchOutput([2f, 1f], [])).ToArray();
        }
    }
}
