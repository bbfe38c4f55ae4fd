using SerMtl.Data.Audio;
using SerMtl.Inference;
using SerMtl.Modeling;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SerMtl.Tests.Inference;

public sealed class EmotionRecognizerTests(SavedModelFixture model, ITestOutputHelper output) : IClassFixture<SavedModelFixture>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("sermtl-infer-").FullName;

    private static string Wav(string stem) => Path.Combine(TestPaths.TinyGroup, stem + ".wav");

    private static readonly string[] Stems = ["a", "b", "c"];

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private EmotionRecognizer Load(EmotionRecognizerOptions? options = null) => EmotionRecognizer.Load(model.Directory, options);

    private static void AssertClose(EmotionPrediction expected, EmotionPrediction actual, double tolerance, string what)
    {
        Assert.Equal(expected.Probabilities.Keys, actual.Probabilities.Keys);
        var diff = expected.Probabilities.Values.Zip(actual.Probabilities.Values).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(diff <= tolerance, $"{what}: probabilities differ by {diff:G3} > {tolerance:G3}");
    }

    private static void AssertSame(EmotionPrediction expected, EmotionPrediction actual, double tolerance, string what)
    {
        AssertClose(expected, actual, tolerance, what);
        Assert.Equal(expected.Label, actual.Label);
        Assert.Equal(expected.Transcript, actual.Transcript);
        Assert.Equal(expected.Duration, actual.Duration);
        Assert.Equal(expected.Windows.Count, actual.Windows.Count);
    }

    [Theory]
    [InlineData(16000, 1)]
    [InlineData(44100, 2)]
    public void Predict_LongFileReadWindowByWindow_EqualsTheRecordingInMemory(int rate, int channels)
    {
        // Issue 17: a file is read a batch of windows at a time (bounded memory); every window must be what the whole
        // recording, read and resampled at once, holds there, so the results are identical.
        var mono = TestAudio.Speechlike(9.3, rate, seed: 11);
        var path = Path.Combine(_scratch, $"long-{rate}.wav");
        var interleaved = new float[mono.Length * channels];
        for (var i = 0; i < mono.Length; i++)
            for (var c = 0; c < channels; c++) interleaved[i * channels + c] = mono[i] * (c == 0 ? 1f : 0.5f);
        using (var stream = File.Create(path)) WriteInterleaved(stream, interleaved, rate, channels);

        using var recognizer = Load(new EmotionRecognizerOptions { MaxWindowSeconds = 2, BatchSize = 2 });
        var fromFile = recognizer.Predict(path);
        var inMemory = recognizer.Predict(SerMtl.Data.Audio.WavReader.Read(path));
        Assert.True(fromFile.Windows.Count >= 5, $"{fromFile.Windows.Count} windows");
        Assert.Equal(inMemory.Probabilities.Values, fromFile.Probabilities.Values);
        Assert.Equal(inMemory.Windows.Select(w => w.Probabilities.Values.ToArray()), fromFile.Windows.Select(w => w.Probabilities.Values.ToArray()));
        Assert.Equal(inMemory.Transcript, fromFile.Transcript);
        Assert.Equal(inMemory.Duration, fromFile.Duration);
    }

    /// <summary>16-bit PCM with <paramref name="channels"/> interleaved channels.</summary>
    private static void WriteInterleaved(Stream stream, float[] interleaved, int rate, int channels)
    {
        using var writer = new BinaryWriter(stream);
        writer.Write("RIFF"u8);
        writer.Write(36 + interleaved.Length * 2);
        writer.Write("WAVEfmt "u8);
        writer.Write(16);
        writer.Write((short)1);
        writer.Write((short)channels);
        writer.Write(rate);
        writer.Write(rate * channels * 2);
        writer.Write((short)(channels * 2));
        writer.Write((short)16);
        writer.Write("data"u8);
        writer.Write(interleaved.Length * 2);
        foreach (var v in interleaved) writer.Write((short)Math.Round(Math.Clamp(v, -1f, 1f) * 32767));
    }

    [Fact]
    public void Predict_FixtureWav_GivesALabelProbabilitiesOverAllLabelsAndATranscript()
    {
        using var recognizer = Load();
        Assert.Equal(SavedModelFixture.Labels, recognizer.Labels);
        Assert.Equal(16000, recognizer.SampleRate);
        Assert.Equal(400, recognizer.MinimumSamples);

        var prediction = recognizer.Predict(Wav("a"));
        output.WriteLine($"{prediction.Label} {string.Join(" ", prediction.Probabilities.Select(p => $"{p.Key}={p.Value:F4}"))} '{prediction.Transcript}'");

        Assert.Contains(prediction.Label, SavedModelFixture.Labels);
        Assert.Equal(SavedModelFixture.Labels, prediction.Probabilities.Keys);
        Assert.All(prediction.Probabilities.Values, p => Assert.InRange(p, 0f, 1f));
        Assert.Equal(1.0, prediction.Probabilities.Values.Sum(p => (double)p), 5);
        Assert.Equal(prediction.Probabilities.Values.Max(), prediction.Confidence);
        Assert.Equal(prediction.Probabilities.MaxBy(p => p.Value).Key, prediction.Label);
        Assert.NotNull(prediction.Transcript);
        Assert.DoesNotContain(prediction.Transcript, c => c is not (' ' or '\'' or (>= 'A' and <= 'Z')));
        Assert.Equal(TimeSpan.FromSeconds(1), prediction.Duration); // a.wav: 16000 samples at 16 kHz
        Assert.Empty(prediction.Windows);
    }

    [Fact]
    public void Predict_MatchesTheModelRunDirectly()
    {
        using var recognizer = Load();
        var prediction = recognizer.Predict(Wav("b"));

        using var direct = SerMtlModel.Load(model.Directory);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var batch = WaveformBatch.Create([AudioLoader.LoadMono(Wav("b"))], direct.Backbone.Preprocessing);
        using var result = direct.Forward(batch);
        var expected = result.EmotionLogits.softmax(-1)[0].data<float>().ToArray();
        var transcript = SerMtl.Text.CtcGreedyDecoder.Decode(result.CtcLogits, result.FrameLengths, direct.Vocabulary)[0];

        Assert.True(expected.Zip(prediction.Probabilities.Values).All(p => Math.Abs(p.First - p.Second) <= 1e-6), "probabilities differ from the model's softmax");
        Assert.Equal(transcript, prediction.Transcript);
    }

    [Fact]
    public void Predict_PathStreamSpanAndClip_Agree()
    {
        using var recognizer = Load();
        foreach (var stem in Stems)
        {
            var fromPath = recognizer.Predict(Wav(stem));
            using var stream = File.OpenRead(Wav(stem));
            var fromStream = recognizer.Predict(stream);
            var clip = WavReader.Read(Wav(stem));
            var fromSpan = recognizer.Predict(clip.Samples.AsSpan(), clip.SampleRate);
            var fromClip = recognizer.Predict(clip);
            AssertSame(fromPath, fromStream, 0, $"{stem}: stream");
            AssertSame(fromPath, fromSpan, 0, $"{stem}: span");
            AssertSame(fromPath, fromClip, 0, $"{stem}: clip");
        }
    }

    [Fact]
    public void Predict_8kHzInput_IsResampledTo16kHz()
    {
        using var recognizer = Load();
        // Band-limited below 3 kHz, so 16 kHz → 8 kHz loses nothing and the resampled input is the original.
        var original = TestAudio.Speechlike(1.5, 16000, seed: 3, maxHz: 3000, noise: 0);
        var at8k = Resampler.Resample(original, 16000, 8000);

        var from8k = recognizer.Predict(at8k.AsSpan(), 8000);
        var upsampled = recognizer.Predict(Resampler.Resample(at8k, 8000, 16000).AsSpan(), 16000);
        var from16k = recognizer.Predict(original.AsSpan(), 16000);

        AssertSame(upsampled, from8k, 1e-6, "8 kHz input vs the same input resampled by hand");
        Assert.Equal(TimeSpan.FromSeconds(1.5), from8k.Duration);
        AssertClose(from16k, from8k, 1e-3, "8 kHz input vs the 16 kHz original");

        var wav8k = Path.Combine(_scratch, "8k.wav");
        TestAudio.WriteWav(wav8k, at8k, 8000);
        AssertClose(from16k, recognizer.Predict(wav8k), 1e-3, "8 kHz WAV vs the 16 kHz original");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void PredictBatch_PaddedBatches_EqualOneAtATime(int batchSize)
    {
        using var recognizer = Load(new EmotionRecognizerOptions { BatchSize = batchSize });
        var extra = Path.Combine(_scratch, "long.wav");
        TestAudio.WriteWav(extra, TestAudio.Speechlike(2.3, seed: 1));
        string[] paths = [Wav("a"), Wav("b"), extra, Wav("c"), Wav("a")];

        var batch = recognizer.PredictBatch(paths);
        var clips = recognizer.PredictBatch(paths.Select(WavReader.Read).ToList());

        Assert.Equal(paths.Length, batch.Count);
        for (var i = 0; i < paths.Length; i++)
        {
            var single = recognizer.Predict(paths[i]);
            AssertSame(single, batch[i], 1e-5, $"{paths[i]} in a batch of {batchSize}");
            AssertSame(single, clips[i], 1e-5, $"{paths[i]} as a clip in a batch of {batchSize}");
        }
    }

    [Fact]
    public void PredictBatch_Empty_ReturnsNothing()
    {
        using var recognizer = Load();
        Assert.Empty(recognizer.PredictBatch(Array.Empty<string>()));
    }

    [Fact]
    public void Predict_LongAudio_IsSplitIntoWindowsAndAggregated()
    {
        using var recognizer = Load(new EmotionRecognizerOptions { MaxWindowSeconds = 5, BatchSize = 4 });
        var audio = TestAudio.Speechlike(45, seed: 7);
        var prediction = recognizer.Predict(audio.AsSpan(), 16000);

        // 45 s in 5 s windows overlapping by at least 1 s: 11 windows, 4 s apart.
        Assert.Equal(TimeSpan.FromSeconds(45), prediction.Duration);
        Assert.Equal(11, prediction.Windows.Count);
        Assert.Equal(TimeSpan.Zero, prediction.Windows[0].Start);
        Assert.Equal(TimeSpan.FromSeconds(45), prediction.Windows[^1].Start + prediction.Windows[^1].Duration);
        for (var w = 0; w < prediction.Windows.Count; w++)
        {
            var window = prediction.Windows[w];
            Assert.Equal(TimeSpan.FromSeconds(5), window.Duration);
            Assert.Equal(TimeSpan.FromSeconds(4 * w), window.Start);
            // Each window is what the same stretch gives alone.
            var alone = recognizer.Predict(audio.AsSpan((int)(window.Start.TotalSeconds * 16000), 5 * 16000), 16000);
            Assert.Empty(alone.Windows);
            Assert.Equal(alone.Label, window.Label);
            Assert.Equal(alone.Transcript, window.Transcript);
            Assert.True(alone.Probabilities.Values.Zip(window.Probabilities.Values).All(p => Math.Abs(p.First - p.Second) <= 1e-5), $"window {w} differs from its stretch alone");
        }

        // Equal-length windows: the duration-weighted mean is the plain mean.
        foreach (var label in SavedModelFixture.Labels)
            Assert.Equal(prediction.Windows.Average(w => (double)w.Probabilities[label]), prediction.Probabilities[label], 5);
        Assert.Equal(prediction.Probabilities.MaxBy(p => p.Value).Key, prediction.Label);
        Assert.Equal(1.0, prediction.Probabilities.Values.Sum(p => (double)p), 5);
        // The transcript is the windows' own stretches joined: never longer than all windows' text together.
        Assert.True(prediction.Transcript.Length <= prediction.Windows.Sum(w => w.Transcript.Length + 1),
            $"transcript '{prediction.Transcript}' is longer than the windows' transcripts together");
        output.WriteLine($"windows: {string.Join(" | ", prediction.Windows.Select(w => w.Transcript))}");
        output.WriteLine($"joined:  {prediction.Transcript}");
    }

    [Fact]
    public void Predict_AudioNotLongerThanTheWindow_IsNotSplit()
    {
        using var recognizer = Load(new EmotionRecognizerOptions { MaxWindowSeconds = 1.3 });
        var exact = recognizer.Predict(TestAudio.Speechlike(1.3).AsSpan(), 16000);
        Assert.Empty(exact.Windows);
        var longer = recognizer.Predict(TestAudio.Speechlike(1.4).AsSpan(), 16000);
        Assert.Equal(2, longer.Windows.Count);

        using var whole = Load(new EmotionRecognizerOptions { MaxWindowSeconds = null });
        Assert.Empty(whole.Predict(TestAudio.Speechlike(30).AsSpan(), 16000).Windows);
    }

    [Fact]
    public void Predict_ShorterThanTheReceptiveField_SaysSo()
    {
        using var recognizer = Load();
        var e = Assert.Throws<ArgumentException>(() => recognizer.Predict(new float[300], 16000));
        Assert.Contains("300 samples (18.75 ms) is shorter than the model's receptive field of 400 samples (25 ms)", e.Message);

        var path = Path.Combine(_scratch, "short.wav");
        TestAudio.WriteWav(path, TestAudio.Speechlike(0.02)); // 320 samples
        var fromFile = Assert.Throws<InvalidDataException>(() => recognizer.Predict(path));
        Assert.Contains(path, fromFile.Message);
        Assert.Contains("320 samples (20 ms) is shorter than the model's receptive field of 400 samples (25 ms)", fromFile.Message);

        // Exactly the receptive field is enough for one frame.
        Assert.Contains(recognizer.Predict(TestAudio.Speechlike(0.025).AsSpan(), 16000).Label, SavedModelFixture.Labels);
    }

    [Fact]
    public void Predict_EmptyAudio_SaysItIsEmpty()
    {
        using var recognizer = Load();
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => recognizer.Predict(ReadOnlySpan<float>.Empty, 16000)).Message);

        var path = Path.Combine(_scratch, "empty.wav");
        TestAudio.WriteWav(path, ReadOnlySpan<float>.Empty);
        var e = Assert.Throws<InvalidDataException>(() => recognizer.Predict(path));
        Assert.Contains(path, e.Message);

        var bytes = Path.Combine(_scratch, "zero-bytes.wav");
        File.WriteAllBytes(bytes, []);
        Assert.Contains(bytes, Assert.Throws<InvalidDataException>(() => recognizer.Predict(bytes)).Message);
    }

    [Fact]
    public void Predict_UnreadableAudio_GivesTheWavReadersMessage()
    {
        using var recognizer = Load();
        var path = Path.Combine(_scratch, "not-audio.wav");
        File.WriteAllText(path, "this is not a RIFF file at all, just text");
        var e = Assert.Throws<InvalidDataException>(() => recognizer.Predict(path));
        Assert.Contains(path, e.Message);
        var expected = Assert.Throws<InvalidDataException>(() => WavReader.Read(path));
        Assert.Equal(expected.Message, e.Message);

        using var stream = new MemoryStream("garbage"u8.ToArray());
        Assert.Contains("upload.wav", Assert.Throws<InvalidDataException>(() => recognizer.Predict(stream, "upload.wav")).Message);
        Assert.Throws<FileNotFoundException>(() => recognizer.Predict(Path.Combine(_scratch, "missing.wav")));
    }

    [Fact]
    public void Predict_NonFiniteSamples_AreRejected()
    {
        using var recognizer = Load();
        var samples = TestAudio.Speechlike(0.5);
        samples[100] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => recognizer.Predict(samples.AsSpan(), 16000)).Message);
    }

    [Fact]
    public void Load_NotASerMtlModel_SaysSo()
    {
        // A plain wav2vec2 checkpoint is a backbone, not a SerMtl model.
        var e = Assert.Throws<InvalidDataException>(() => EmotionRecognizer.Load(TestPaths.TinyGroup));
        Assert.Contains("not a SerMtl model", e.Message);

        var empty = Directory.CreateDirectory(Path.Combine(_scratch, "empty-dir")).FullName;
        Assert.Contains("not a SerMtl model directory", Assert.Throws<InvalidDataException>(() => EmotionRecognizer.Load(empty)).Message);

        var missing = Path.Combine(_scratch, "missing");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => EmotionRecognizer.Load(missing)).Message);
    }

    [Fact]
    public void Load_BadOptions_AreRejectedWithTheReason()
    {
        Assert.Contains("receptive field", Assert.Throws<ArgumentException>(() => Load(new EmotionRecognizerOptions { MaxWindowSeconds = 0.01 })).Message);
        Assert.Contains("MaxWindowSeconds", Assert.Throws<ArgumentException>(() => Load(new EmotionRecognizerOptions { MaxWindowSeconds = -1 })).Message);
        Assert.Contains("BatchSize", Assert.Throws<ArgumentException>(() => Load(new EmotionRecognizerOptions { BatchSize = 0 })).Message);
        Assert.Contains("Threads", Assert.Throws<ArgumentException>(() => Load(new EmotionRecognizerOptions { Threads = 0 })).Message);
    }

    [Fact]
    public void Load_CudaWithoutACudaBackend_ExplainsWhatToInstall()
    {
        if (cuda.is_available())
        {
            output.WriteLine("CUDA is available here; this test checks the error on machines without it.");
            return;
        }
        var e = Assert.Throws<InvalidOperationException>(() => Load(new EmotionRecognizerOptions { Device = "cuda" }));
        Assert.Contains("torch.cuda.is_available()", e.Message);
        Assert.Contains("TorchSharp-cuda-linux", e.Message);
        Assert.Contains("TorchSharp-cuda-windows", e.Message);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("CUDA")]
    [InlineData("cuda:x")]
    [InlineData("")]
    public void Load_DeviceNotCpuOrCuda_IsRefusedNamingTheSpellings(string device)
    {
        var e = Assert.Throws<ArgumentException>(() => Load(new EmotionRecognizerOptions { Device = device }));
        Assert.Contains("\"cpu\", \"cuda\" or \"cuda:N\"", e.Message);
        Assert.Contains($"got \"{device}\"", e.Message);
    }

    [Fact]
    public void Load_DeviceCpu_RunsOnTheCpu()
    {
        using var recognizer = Load(new EmotionRecognizerOptions { Device = "cpu" });
        Assert.Equal(DeviceType.CPU, recognizer.Device.type);
    }

    [Fact]
    public void Dispose_WhileManyThreadsPredict_EachCallAnswersOrSaysDisposed()
    {
        // Issue 17: disposing under load must neither crash the process nor give a wrong or half answer: every call
        // either completes with the answer one thread gets alone, or throws ObjectDisposedException.
        var recognizer = Load();
        var expected = recognizer.Predict(Wav("b")).Probabilities.Values.ToArray();
        var (answers, refused) = (0, 0);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var started = new CountdownEvent(6);
        var threads = Enumerable.Range(0, 6).Select(_ => new Thread(() =>
        {
            started.Signal();
            for (var n = 0; n < 200; n++)
            {
                try
                {
                    var got = recognizer.Predict(Wav("b")).Probabilities.Values.ToArray();
                    if (!got.SequenceEqual(expected)) failures.Enqueue(new InvalidOperationException($"another answer: {string.Join(", ", got)}"));
                    Interlocked.Increment(ref answers);
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref refused);
                    return;
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                    return;
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        started.Wait();
        Thread.Sleep(300);
        recognizer.Dispose();
        threads.ForEach(t => t.Join());
        output.WriteLine($"{answers} answers, {refused} threads refused after the dispose");
        Assert.Empty(failures);
        Assert.True(answers > 0 && refused > 0, $"{answers} answers, {refused} refusals: the dispose did not land during the load");
        Assert.Throws<ObjectDisposedException>(() => recognizer.Predict(Wav("a")));
    }

    [Fact]
    public void Predict_ManyThreadsAtOnce_GiveTheSameAnswersAsOneThread()
    {
        using var recognizer = Load(new EmotionRecognizerOptions { MaxWindowSeconds = 1 });
        var long1 = TestAudio.Speechlike(2.5, seed: 11);
        var expected = Stems.Select(s => recognizer.Predict(Wav(s))).Append(recognizer.Predict(long1.AsSpan(), 16000)).ToArray();

        var results = new EmotionPrediction[24];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i =>
            results[i] = i % 4 == 3 ? recognizer.Predict(long1.AsSpan(), 16000) : recognizer.Predict(Wav(Stems[i % 4])));

        for (var i = 0; i < results.Length; i++)
            AssertSame(expected[i % 4], results[i], 1e-6, $"call {i}");
    }

    [Fact]
    public void Predict_ManyCalls_LeaveNoLiveTensors()
    {
        using var recognizer = Load(new EmotionRecognizerOptions { MaxWindowSeconds = 1, BatchSize = 2 });
        var audio = TestAudio.Speechlike(3.2);
        _ = recognizer.Predict(audio.AsSpan(), 16000); // warm-up (lazy initialisation inside libtorch)
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 10; i++)
        {
            _ = recognizer.Predict(audio.AsSpan(), 16000);
            _ = recognizer.PredictBatch([Wav("a"), Wav("b")]);
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Predict_BFloat16_IsCloseToFloat32()
    {
        using var fp32 = Load();
        using var bf16 = Load(new EmotionRecognizerOptions { DType = InferenceDType.BFloat16 });
        foreach (var stem in Stems)
        {
            var a = fp32.Predict(Wav(stem));
            var b = bf16.Predict(Wav(stem));
            var diff = a.Probabilities.Values.Zip(b.Probabilities.Values).Max(p => Math.Abs(p.First - p.Second));
            output.WriteLine($"{stem}: fp32 {a.Label} bf16 {b.Label}, largest probability difference {diff:G3}");
            Assert.Equal(1.0, b.Probabilities.Values.Sum(p => (double)p), 3);
            AssertClose(a, b, 0.05, $"{stem} in bfloat16");
        }
    }

    [Fact]
    public void Predict_AfterDispose_Throws()
    {
        var recognizer = Load();
        recognizer.Dispose();
        recognizer.Dispose(); // twice is fine
        Assert.Throws<ObjectDisposedException>(() => recognizer.Predict(Wav("a")));
    }
}
