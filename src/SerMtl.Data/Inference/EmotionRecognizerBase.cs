using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using SerMtl.Data.Audio;
using SerMtl.Data.Text;

namespace SerMtl.Inference;

/// <summary>
/// What every recognizer engine shares: reading and checking audio (files window by window, so a long recording takes
/// the memory of a batch of windows), resampling to the model's rate, splitting long recordings into overlapping
/// windows, padded batches longest first, softmax, greedy CTC decoding and the aggregation of windows. An engine
/// supplies one forward pass over a padded batch (<see cref="RunBatch"/>).
/// </summary>
/// <remarks>
/// Recordings longer than the maximum window are cut into equal windows spread evenly over them, neighbours overlapping
/// by at least 1 s (a quarter of the window if that is less); the recording's probabilities are the duration-weighted
/// mean of the windows', its transcript joins the windows' text, each window transcribing the frames nearer its own
/// centre. Engines must give every utterance of a padded batch what it gets alone, so batching never changes a result.
/// </remarks>
public abstract class EmotionRecognizerBase : IEmotionRecognizer
{
    private const double MaxOverlapSeconds = 1.0;
    private const float SilencePeak = 1e-6f; // -120 dBFS

    private readonly RecognizerModelInfo _info;
    private readonly int _windowSamples;   // 0: never split
    private readonly int _overlapSamples;
    private readonly int _batchSize;
    private readonly int _queueCapacity;
    private readonly SemaphoreSlim _forwardGate = new(1, 1);
    private readonly KeyValuePair<string, object?> _engineTag;
    private RequestThread? _requestThread;
    private int _queued;
    private int _disposed;

    /// <summary>Checks the settings against the model.</summary>
    /// <param name="info">The model's labels, vocabulary, preprocessing and geometry.</param>
    /// <param name="maxWindowSeconds">Longest stretch run at once; longer recordings are windowed. Null runs every recording whole.</param>
    /// <param name="batchSize">Recordings (or windows) per padded forward pass.</param>
    /// <param name="queueCapacity">Asynchronous requests admitted at once (running or waiting); one more is refused with <see cref="RecognizerOverloadedException"/>.</param>
    /// <exception cref="ArgumentException">A setting is out of range, or the window is shorter than the model's receptive field (parameter name <c>options</c>); or <paramref name="info"/> describes a model without emotion output (a speech recogniser or a bare backbone).</exception>
    protected EmotionRecognizerBase(RecognizerModelInfo info, double? maxWindowSeconds, int batchSize, int queueCapacity = DefaultQueueCapacity)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.Validate();
        if (!info.HasEmotionOutput)
            throw new ArgumentException($"a {info.Task} model ({info.Architecture}) has no emotion output; a recognizer runs classification and regression models", nameof(info));
        CheckSettings(maxWindowSeconds, batchSize, queueCapacity);
        _queueCapacity = queueCapacity;
        _engineTag = new("sermtl.engine", GetType().Name);
        _info = info;
        _batchSize = batchSize;
        if (maxWindowSeconds is double seconds)
        {
            _windowSamples = (int)Math.Min(Math.Round(seconds * info.SampleRate), int.MaxValue); // no array is longer
            _overlapSamples = (int)Math.Round(Math.Min(MaxOverlapSeconds * info.SampleRate, _windowSamples / 4.0));
            if (_windowSamples < info.ReceptiveField)
                throw new ArgumentException(
                    $"MaxWindowSeconds {seconds.ToString(CultureInfo.InvariantCulture)} is {_windowSamples} samples, shorter than the model's receptive field of {Describe(info.ReceptiveField, info.SampleRate)}",
                    "options");
        }
    }

    /// <summary>The default of <see cref="QueueCapacity"/>.</summary>
    public const int DefaultQueueCapacity = 32;

    /// <summary>The most bytes <see cref="PredictAsync(Stream, string?, CancellationToken)"/> reads from a stream (1 GiB: over an hour of 16-bit stereo at 48 kHz).</summary>
    public const long MaxStreamBytes = 1L << 30;

    /// <summary>
    /// The name of the <see cref="System.Diagnostics.Metrics.Meter"/> every recognizer reports to: counters
    /// <c>sermtl.recognizer.predictions</c> (tag <c>outcome</c>: ok or error) and <c>sermtl.recognizer.rejections</c>, the histogram
    /// <c>sermtl.recognizer.duration</c> (seconds per request, waiting included for asynchronous ones) and the up-down counter
    /// <c>sermtl.recognizer.queue_depth</c> (asynchronous requests admitted and not finished); all tagged <c>sermtl.engine</c>.
    /// </summary>
    public const string MeterName = "SerMtl.Inference";

    private static readonly Meter Meter = new(MeterName, typeof(EmotionRecognizerBase).Assembly.GetName().Version?.ToString());
    private static readonly Counter<long> Predictions = Meter.CreateCounter<long>("sermtl.recognizer.predictions", "{request}", "Prediction requests finished");
    private static readonly Counter<long> Rejections = Meter.CreateCounter<long>("sermtl.recognizer.rejections", "{request}", "Asynchronous requests refused because the queue was full");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("sermtl.recognizer.duration", "s", "Time per prediction request");
    private static readonly UpDownCounter<long> QueueDepthCounter = Meter.CreateUpDownCounter<long>("sermtl.recognizer.queue_depth", "{request}", "Asynchronous requests admitted and not yet finished");

    /// <summary>Asynchronous requests admitted at once (running or waiting their turn); one more gets <see cref="RecognizerOverloadedException"/>.</summary>
    public int QueueCapacity => _queueCapacity;

    /// <summary>Asynchronous requests admitted and not yet finished.</summary>
    public int QueueDepth => Volatile.Read(ref _queued);

    /// <summary>
    /// Reads a device as every engine's options spell it: null or <c>cpu</c> (the CPU; <paramref name="cudaIndex"/>
    /// null), <c>cuda</c> (device 0) or <c>cuda:N</c>. False for any other spelling.
    /// </summary>
    public static bool TryParseDevice(string? text, out int? cudaIndex)
    {
        cudaIndex = null;
        if (text is null or "cpu") return true;
        if (text == "cuda")
        {
            cudaIndex = 0;
            return true;
        }
        if (text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            cudaIndex = index;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Checks the settings every engine's options have beside the base's (<see cref="CheckSettings"/>): threads at least
    /// 1 when set, a device spelt as <see cref="TryParseDevice"/> reads it. Returns the CUDA device index, or null for
    /// the CPU.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is out of range or misspelt (parameter name <c>options</c>).</exception>
    internal static int? CheckEngineSettings(int? threads, string? device)
    {
        if (threads is < 1)
            throw new ArgumentException($"Threads must be at least 1 when set, got {threads}", "options");
        if (!TryParseDevice(device, out var cuda))
            throw new ArgumentException($"Device must be \"cpu\", \"cuda\" or \"cuda:N\" (or null for the CPU), got \"{device}\"", "options");
        return cuda;
    }

    /// <summary>
    /// Checks the settings every engine takes, as the constructor does; an engine calls it before loading its model so
    /// that a bad setting fails before the expensive part.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is out of range (parameter name <c>options</c>).</exception>
    protected static void CheckSettings(double? maxWindowSeconds, int batchSize, int queueCapacity)
    {
        if (batchSize < 1)
            throw new ArgumentException($"BatchSize must be at least 1, got {batchSize}", "options");
        if (queueCapacity < 1)
            throw new ArgumentException($"QueueCapacity must be at least 1, got {queueCapacity}", "options");
        if (maxWindowSeconds is double w && !(double.IsFinite(w) && w > 0))
            throw new ArgumentException($"MaxWindowSeconds must be a positive number of seconds or null, got {w}", "options");
    }

    /// <summary>What the recognizer knows of its model.</summary>
    public RecognizerModelInfo ModelInfo => _info;

    /// <inheritdoc/>
    public IReadOnlyList<string> Labels => _info.Labels;

    /// <inheritdoc/>
    public bool IsRegression => _info.IsRegression;

    /// <inheritdoc/>
    public int SampleRate => _info.SampleRate;

    /// <inheritdoc/>
    public int MinimumSamples => _info.ReceptiveField;

    /// <summary>Whether <see cref="Dispose()"/> has been called.</summary>
    protected bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Predicts the emotion and transcript of a WAV file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not readable WAV audio, is empty, or is shorter than the model's receptive field; the message names it.</exception>
    public EmotionPrediction Predict(string wavPath)
    {
        ArgumentNullException.ThrowIfNull(wavPath);
        return Measured(() => PredictFile(wavPath), Stopwatch.GetTimestamp());
    }

    private EmotionPrediction PredictFile(string wavPath) => Run([FromFile(wavPath)])[0];

    /// <summary>Predicts the emotion and transcript of WAV data read from <paramref name="wav"/>'s current position.</summary>
    /// <param name="wav">A readable stream holding a WAV file.</param>
    /// <param name="name">Names the stream in error messages; "stream" when null.</param>
    /// <exception cref="InvalidDataException">The data is not readable WAV audio, is empty, or is shorter than the model's receptive field.</exception>
    public EmotionPrediction Predict(Stream wav, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(wav);
        return Measured(() => PredictStream(wav, name ?? "stream"), Stopwatch.GetTimestamp());
    }

    private EmotionPrediction PredictStream(Stream wav, string name)
    {
        var clip = WavReader.Read(wav, name);
        return Run([Prepare(name, clip.Samples, clip.SampleRate, isFile: true, clip.Warnings)])[0];
    }

    /// <summary>Predicts the emotion and transcript of mono samples in [-1, 1] at <paramref name="sampleRate"/> Hz (resampled when it is not <see cref="SampleRate"/>).</summary>
    /// <exception cref="ArgumentException">No samples, too few (shorter than the receptive field), NaN or infinite samples, or a rate that is not positive.</exception>
    public EmotionPrediction Predict(ReadOnlySpan<float> samples, int sampleRate)
    {
        var start = Stopwatch.GetTimestamp();
        Input input;
        try
        {
            input = FromSamples(samples, sampleRate);
        }
        catch
        {
            Record(start, ok: false);
            throw;
        }
        return Measured(() => Run([input])[0], start);
    }

    private Input FromSamples(ReadOnlySpan<float> samples, int sampleRate)
    {
        if (sampleRate <= 0) throw new ArgumentException($"sample rate must be positive, got {sampleRate}", nameof(sampleRate));
        var atModelRate = Resampler.Resample(samples, sampleRate, SampleRate);
        return Check(new Input("audio", atModelRate, atModelRate.Length, Seconds(samples.Length, sampleRate)), isFile: false);
    }

    /// <summary>Predicts the emotion and transcript of an audio clip (e.g. from <see cref="WavReader"/>).</summary>
    /// <exception cref="ArgumentException">The clip is empty, shorter than the receptive field, or holds NaN or infinite samples.</exception>
    public EmotionPrediction Predict(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        return Measured(() => Run([Prepare("clip", clip.Samples, clip.SampleRate, isFile: false, clip.Warnings)])[0], Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Predicts several WAV files in padded batches; the results, in input order, are those <see cref="Predict(string)"/>
    /// gives each file. Every file is checked before the first forward pass (its audio is read when its batch runs).
    /// </summary>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is not readable WAV audio, is empty or too short; the message names it. Nothing is predicted then.</exception>
    public IReadOnlyList<EmotionPrediction> PredictBatch(IReadOnlyList<string> wavPaths)
    {
        ArgumentNullException.ThrowIfNull(wavPaths);
        return Measured(() =>
        {
            var inputs = new Input[wavPaths.Count];
            for (var i = 0; i < inputs.Length; i++)
                inputs[i] = FromFile(wavPaths[i] ?? throw new ArgumentException($"path {i} is null", nameof(wavPaths)));
            return Run(inputs);
        }, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Predicts several clips in padded batches; the results, in input order, are those <see cref="Predict(AudioClip)"/>
    /// gives each clip.
    /// </summary>
    /// <exception cref="ArgumentException">A clip is null, empty, too short or holds NaN or infinite samples (the message gives its index).</exception>
    public IReadOnlyList<EmotionPrediction> PredictBatch(IReadOnlyList<AudioClip> clips)
    {
        ArgumentNullException.ThrowIfNull(clips);
        return Measured(() =>
        {
            var inputs = new Input[clips.Count];
            for (var i = 0; i < inputs.Length; i++)
            {
                var clip = clips[i] ?? throw new ArgumentException($"clip {i} is null", nameof(clips));
                inputs[i] = Prepare($"clip {i}", clip.Samples, clip.SampleRate, isFile: false, clip.Warnings);
            }
            return Run(inputs);
        }, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Predicts a WAV file without blocking the caller: admitted into the queue (or refused at once with
    /// <see cref="RecognizerOverloadedException"/> when <see cref="QueueCapacity"/> requests are already in it), then run in
    /// its turn on the recognizer's own request thread. Asynchronous requests run one at a time (each forward already uses
    /// every core), all on that one thread, so the engine's native memory stays in one allocator arena.
    /// </summary>
    /// <exception cref="RecognizerOverloadedException">The queue is full.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before its turn came (a running forward pass is not interrupted).</exception>
    public Task<EmotionPrediction> PredictAsync(string wavPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(wavPath);
        return Enqueue(_ => Task.CompletedTask, () => PredictFile(wavPath), cancellationToken);
    }

    /// <summary>
    /// Predicts WAV data from a stream, read asynchronously (at most <see cref="MaxStreamBytes"/>) once the request is
    /// admitted, so an overloaded recognizer refuses it before reading; then as <see cref="PredictAsync(string, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="RecognizerOverloadedException">The queue is full (nothing has been read).</exception>
    /// <exception cref="InvalidDataException">The data is not readable WAV audio, is too short, or longer than <see cref="MaxStreamBytes"/>.</exception>
    public Task<EmotionPrediction> PredictAsync(Stream wav, string? name = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(wav);
        name ??= "stream";
        MemoryStream? buffer = null;
        return Enqueue(async token => buffer = await ReadAllAsync(wav, name, token).ConfigureAwait(false), () =>
        {
            using (buffer) return PredictStream(buffer!, name);
        }, cancellationToken);
    }

    /// <summary>The stream's bytes from its position, read asynchronously, at most <see cref="MaxStreamBytes"/>.</summary>
    private static async Task<MemoryStream> ReadAllAsync(Stream wav, string name, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await wav.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxStreamBytes)
                throw new InvalidDataException($"{name}: more than {MaxStreamBytes} bytes; split the recording or predict it from a file");
            buffer.Write(chunk, 0, read);
        }
        buffer.Position = 0;
        return buffer;
    }

    /// <summary>
    /// Cuts a WAV file into utterances at its pauses (<see cref="TimelineOptions"/>) and predicts each alone: the
    /// emotion, probabilities and transcript of every utterance with its start and end. The file is read whole at the
    /// model's rate (4 bytes per sample); utterances longer than the window are windowed as any recording.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not readable WAV audio or is empty; the message names it.</exception>
    public EmotionTimeline PredictTimeline(string wavPath, TimelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(wavPath);
        return Measured(() => TimelineOfFile(wavPath, options ?? new TimelineOptions()), Stopwatch.GetTimestamp());
    }

    /// <summary>As <see cref="PredictTimeline(string, TimelineOptions?)"/> for a clip (any rate; resampled).</summary>
    public EmotionTimeline PredictTimeline(AudioClip clip, TimelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(clip);
        return Measured(() => Timeline("clip", AudioLoader.Resample(clip, SampleRate), clip.Duration, clip.Warnings, options ?? new TimelineOptions()),
            Stopwatch.GetTimestamp());
    }

    /// <summary>As <see cref="PredictTimeline(string, TimelineOptions?)"/> for WAV data read asynchronously from a stream, through the bounded queue.</summary>
    /// <exception cref="RecognizerOverloadedException">The queue is full (nothing has been read).</exception>
    public Task<EmotionTimeline> PredictTimelineAsync(Stream wav, string? name = null, TimelineOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(wav);
        name ??= "stream";
        MemoryStream? buffer = null;
        return Enqueue(async token => buffer = await ReadAllAsync(wav, name, token).ConfigureAwait(false), () =>
        {
            using (buffer)
            {
                var clip = WavReader.Read(buffer!, name);
                return Timeline(name, AudioLoader.Resample(clip, SampleRate), clip.Duration, clip.Warnings, options ?? new TimelineOptions());
            }
        }, cancellationToken);
    }

    private EmotionTimeline TimelineOfFile(string path, TimelineOptions options)
    {
        var file = WavFile.Open(path);
        var length = file.LengthAt(SampleRate);
        if (length > int.MaxValue)
            throw new InvalidDataException($"{path}: {file.Duration.TotalHours:0.#} hours is more than a timeline reads at once; split it");
        var samples = new float[length];
        file.ReadMono(SampleRate, 0, samples); // refuses NaN and infinity, naming the frame
        return Timeline(path, samples, file.Duration, file.Warnings, options);
    }

    /// <summary>The utterances of <paramref name="samples"/> (at the model's rate), predicted in padded batches.</summary>
    private EmotionTimeline Timeline(string name, float[] samples, TimeSpan duration, IReadOnlyList<string> warnings, TimelineOptions options)
    {
        options.Validate();
        if (samples.Length == 0) throw new InvalidDataException($"{name}: the audio is empty (0 samples)");
        if (!AllFinite(samples)) throw new InvalidDataException($"{name}: the audio holds NaN or infinite samples");
        var pieces = SpeechSegmenter.Split(samples, SampleRate, options).Where(p => p.Length >= MinimumSamples).ToList();
        var inputs = pieces.Select(p => new Input($"{name} at {Seconds(p.Start, SampleRate).TotalSeconds:0.00} s", samples.AsSpan(p.Start, p.Length).ToArray(),
            p.Length, Seconds(p.Length, SampleRate))).ToList();
        var predictions = inputs.Count == 0 ? [] : Run(inputs);
        var segments = pieces.Select((p, i) => new EmotionSegment(Seconds(p.Start, SampleRate), Seconds(p.Start + (long)p.Length, SampleRate), predictions[i])).ToList();
        return new EmotionTimeline(duration, segments)
        {
            Warnings = segments.Count > 0 ? warnings : [.. warnings, $"{name}: no speech found (no stretch within {options.RangeDb} dB of the loudest and above {options.FloorDbfs} dBFS)"],
        };
    }

    /// <summary>Predicts mono samples in [-1, 1] at <paramref name="sampleRate"/> Hz without blocking the caller; as <see cref="PredictAsync(string, CancellationToken)"/>.</summary>
    /// <exception cref="RecognizerOverloadedException">The queue is full.</exception>
    public Task<EmotionPrediction> PredictAsync(ReadOnlyMemory<float> samples, int sampleRate, CancellationToken cancellationToken = default) =>
        Enqueue(_ => Task.CompletedTask, () => Run([FromSamples(samples.Span, sampleRate)])[0], cancellationToken);

    /// <summary>
    /// Admits a request (or refuses it when the queue is full), runs <paramref name="prepare"/> (reading input), waits for
    /// the forward gate and runs <paramref name="work"/> on the recognizer's request thread.
    /// </summary>
    private async Task<T> Enqueue<T>(Func<CancellationToken, Task> prepare, Func<T> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Interlocked.Increment(ref _queued) > _queueCapacity)
        {
            Interlocked.Decrement(ref _queued);
            Rejections.Add(1, _engineTag);
            throw new RecognizerOverloadedException(_queueCapacity);
        }
        QueueDepthCounter.Add(1, _engineTag);
        var start = Stopwatch.GetTimestamp();
        try
        {
            try
            {
                await prepare(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Record(start, ok: false);
                throw;
            }
            await _forwardGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                return await RequestThread.Run(() => Measured(work, start)).ConfigureAwait(false);
            }
            finally
            {
                _forwardGate.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
            QueueDepthCounter.Add(-1, _engineTag);
        }
    }

    /// <summary>The thread that runs asynchronous requests (<see cref="Inference.RequestThread"/>), started by the first.</summary>
    private RequestThread RequestThread
    {
        get
        {
            if (Volatile.Read(ref _requestThread) is { } thread) return thread;
            var created = new RequestThread($"SerMtl {GetType().Name} requests");
            if (Interlocked.CompareExchange(ref _requestThread, created, null) is { } other)
            {
                created.Dispose();
                return other;
            }
            if (IsDisposed) created.Dispose(); // Dispose ran while it was being created: its Run now refuses
            return created;
        }
    }

    /// <summary>Runs a request and records it in the meter (outcome, and time since <paramref name="start"/>).</summary>
    private T Measured<T>(Func<T> work, long start)
    {
        T result;
        try
        {
            result = work();
        }
        catch
        {
            Record(start, ok: false);
            throw;
        }
        Record(start, ok: true);
        return result;
    }

    private void Record(long start, bool ok)
    {
        Predictions.Add(1, _engineTag, new KeyValuePair<string, object?>("outcome", ok ? "ok" : "error"));
        Duration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, _engineTag);
    }

    /// <summary>Releases the engine's model. Calls already running finish first (as far as the engine guarantees it).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Volatile.Read(ref _requestThread)?.Dispose();
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the engine's resources; called once, by <see cref="Dispose()"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>
    /// One forward pass over a padded batch (preprocessed as <see cref="ModelInfo"/> says). Returns, per utterance in
    /// batch order, the raw outputs (class logits, or a regression model's scores) and, for a model with a CTC head, the
    /// most likely token of each of its valid frames (empty otherwise). Each utterance's results must not depend on
    /// the rest of the batch. Called from several threads at once unless the engine serialises.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The recognizer was disposed.</exception>
    protected abstract BatchOutput[] RunBatch(PaddedWaveforms batch);

    /// <summary>What <see cref="RunBatch"/> gives for one utterance.</summary>
    /// <param name="Outputs">Class logits (or regression scores), one per label.</param>
    /// <param name="FrameIds">The most likely CTC token of each valid frame; empty for a model without a CTC head.</param>
    protected readonly record struct BatchOutput(float[] Outputs, long[] FrameIds);

    /// <summary>
    /// A recording at the model's rate, named for errors, with its original duration: in memory (<see cref="Samples"/>),
    /// or a WAV file (<see cref="File"/>) whose windows are read when their batch runs, so that a long recording takes
    /// the memory of a batch of windows, not of the whole recording.
    /// </summary>
    private sealed record Input(string Name, float[]? Samples, int Length, TimeSpan Duration)
    {
        /// <summary>What the WAV reader accepted but reported (a truncated file, ...).</summary>
        public IReadOnlyList<string> Warnings { get; init; } = [];

        public WavFile? File { get; init; }

        /// <summary>
        /// Samples [start, start + length) at the model's rate; a file's are read into <paramref name="reuse"/> when it has
        /// that length (windows are all one length, so a batch's buffers serve the next batch too).
        /// </summary>
        public float[] Read(int start, int length, int sampleRate, float[]? reuse)
        {
            if (Samples is not null)
                return start == 0 && length == Samples.Length ? Samples : Samples.AsSpan(start, length).ToArray();
            var window = reuse?.Length == length ? reuse : new float[length];
            File!.ReadMono(sampleRate, start, window);
            return window;
        }
    }

    /// <summary>A stretch of one input the model runs on: the whole recording or one window of it.</summary>
    private readonly record struct Segment(int Input, int Start, int Length);

    /// <summary>What a forward gives for one segment: label probabilities (or scores) and the best CTC token of each valid frame.</summary>
    private readonly record struct SegmentResult(float[] Probabilities, long[] FrameIds);

    /// <summary>
    /// A WAV file checked as a whole (format, length, finite samples, silence) in one pass over its frames in pieces,
    /// then read window by window as batches run. The silence test looks at the mono mix at the file's own rate (at the
    /// model's rate, when they are the same, as for in-memory audio).
    /// </summary>
    private Input FromFile(string path)
    {
        var file = WavFile.Open(path);
        var length = file.LengthAt(SampleRate);
        if (length > int.MaxValue)
            throw new InvalidDataException($"{path}: {file.Duration.TotalHours:0.#} hours is more than a recording of {int.MaxValue / (double)SampleRate / 3600:0.#} hours this recognizer reads; split it");
        var input = new Input(path, null, (int)length, file.Duration) { Warnings = file.Warnings, File = file };
        if (length == 0) throw new InvalidDataException($"{path}: the audio is empty (0 samples)");
        if (length < MinimumSamples)
            throw new InvalidDataException($"{path}: {Describe(length, SampleRate)} is shorter than the model's receptive field of {Describe(MinimumSamples, SampleRate)}");
        var peak = 0f;
        var piece = new float[(int)Math.Min(file.Frames, 1 << 16)];
        for (long start = 0; start < file.Frames; start += piece.Length)
        {
            var span = piece.AsSpan(0, (int)Math.Min(piece.Length, file.Frames - start));
            file.ReadMono(start, span); // refuses NaN and infinity, naming the frame
            foreach (var v in span) peak = Math.Max(peak, Math.Abs(v));
        }
        return WithSilenceWarning(input, peak);
    }

    private Input Prepare(string name, float[] samples, int sampleRate, bool isFile, IReadOnlyList<string>? readerWarnings = null)
    {
        if (sampleRate <= 0) throw new ArgumentException($"{name}: sample rate must be positive, got {sampleRate}");
        var atModelRate = AudioLoader.Resample(new AudioClip(samples, sampleRate), SampleRate);
        return Check(new Input(name, atModelRate, atModelRate.Length, Seconds(samples.Length, sampleRate)) { Warnings = readerWarnings ?? [] }, isFile);
    }

    /// <summary>Rejects what the model cannot run: files get <see cref="InvalidDataException"/>, in-memory samples <see cref="ArgumentException"/>.</summary>
    private Input Check(Input input, bool isFile)
    {
        string? problem = null;
        var samples = input.Samples!;
        var n = samples.Length;
        if (n == 0) problem = $"{input.Name}: the audio is empty (0 samples)";
        else if (n < MinimumSamples)
            problem = $"{input.Name}: {Describe(n, SampleRate)} is shorter than the model's receptive field of {Describe(MinimumSamples, SampleRate)}";
        else if (!AllFinite(samples)) problem = $"{input.Name}: the audio holds NaN or infinite samples";
        if (problem is null)
        {
            var peak = 0f;
            foreach (var v in samples) peak = Math.Max(peak, Math.Abs(v));
            return WithSilenceWarning(input, peak);
        }
        throw isFile ? new InvalidDataException(problem) : new ArgumentException(problem);
    }

    /// <summary>Silence (or channels that cancel when mixed to mono) still gets a label; the warning says that it means nothing.</summary>
    private static Input WithSilenceWarning(Input input, float peak) =>
        peak >= SilencePeak ? input : input with
        {
            Warnings = [.. input.Warnings, $"{input.Name}: the audio is silent after mixing to mono (peak {peak:G2}, below {SilencePeak:G1}); the prediction says nothing about it"],
        };

    private EmotionPrediction[] Run(IReadOnlyList<Input> inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (inputs.Count == 0) return [];

        var segments = new List<Segment>();
        var segmentsOf = new List<Segment>[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            segmentsOf[i] = Windowing.Split(inputs[i].Length, _windowSamples, _overlapSamples).Select(w => new Segment(i, w.Start, w.Length)).ToList();
            segments.AddRange(segmentsOf[i]);
        }
        var results = Forward(inputs, segments);

        var predictions = new EmotionPrediction[inputs.Count];
        var k = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var own = segmentsOf[i];
            predictions[i] = Assemble(inputs[i], own, results.AsSpan(k, own.Count));
            k += own.Count;
        }
        return predictions;
    }

    /// <summary>Runs every segment, longest first in padded batches, and returns the results in segment order.</summary>
    private SegmentResult[] Forward(IReadOnlyList<Input> inputs, List<Segment> segments)
    {
        var results = new SegmentResult[segments.Count];
        // Similar lengths in a batch waste little compute on padding; the order does not change any result.
        var order = Enumerable.Range(0, segments.Count).OrderByDescending(i => segments[i].Length).ToArray();
        var buffers = new List<float[]>();
        foreach (var chunk in order.Chunk(_batchSize))
        {
            // Windows of a file are read here, a batch at a time, into the previous batch's buffers.
            var waves = new List<float[]>(chunk.Length);
            for (var j = 0; j < chunk.Length; j++)
            {
                var s = segments[chunk[j]];
                var input = inputs[s.Input];
                var window = input.Read(s.Start, s.Length, SampleRate, input.File is null ? null : buffers.ElementAtOrDefault(j));
                if (input.File is not null)
                {
                    if (j < buffers.Count) buffers[j] = window;
                    else buffers.Add(window);
                }
                waves.Add(window);
            }

            // Normalising and padding run before the engine's forward (outside any lock it takes).
            var batch = PaddedWaveforms.Create(waves, _info.Normalize, PaddedWaveforms.NormalizeEpsilon, _info.PaddingValue);
            var outputs = RunBatch(batch);
            if (outputs.Length != chunk.Length)
                throw new InvalidOperationException($"the engine gave {outputs.Length} results for a batch of {chunk.Length}");
            for (var j = 0; j < chunk.Length; j++)
            {
                var values = outputs[j].Outputs;
                if (values.Length != Labels.Count)
                    throw new InvalidOperationException($"the model gave {values.Length} outputs for {Labels.Count} labels");
                results[chunk[j]] = new SegmentResult(IsRegression ? values : Softmax(values), outputs[j].FrameIds);
            }
        }
        return results;
    }

    private static float[] Softmax(float[] logits)
    {
        var max = logits.Max();
        var exp = new double[logits.Length];
        var sum = 0.0;
        for (var i = 0; i < logits.Length; i++) sum += exp[i] = Math.Exp(logits[i] - (double)max);
        var result = new float[logits.Length];
        for (var i = 0; i < logits.Length; i++) result[i] = (float)(exp[i] / sum);
        return result;
    }

    private EmotionPrediction Assemble(Input input, List<Segment> segments, ReadOnlySpan<SegmentResult> results)
    {
        var vocabulary = _info.Vocabulary;
        string Decode(long[] ids) => vocabulary is null ? "" : CtcDecoding.Greedy(ids, vocabulary);
        // A classifier's values are probabilities (label = the largest); a regression model's are named scores.
        (string Label, IReadOnlyDictionary<string, float> Probabilities, IReadOnlyDictionary<string, float> Scores) Read(float[] values)
        {
            var map = new LabelProbabilities(Labels, values);
            return IsRegression
                ? ("", EmptyScores.Instance, map)
                : (Labels[map.ArgMax], map, EmptyScores.Instance);
        }

        if (segments.Count == 1)
        {
            var (label, probabilities, scores) = Read(results[0].Probabilities);
            return new EmotionPrediction(label, probabilities, Decode(results[0].FrameIds), input.Duration, []) { Scores = scores, Warnings = input.Warnings };
        }

        var windows = new EmotionWindow[segments.Count];
        var mean = new double[Labels.Count];
        var totalWeight = 0.0;
        for (var w = 0; w < segments.Count; w++)
        {
            var (segment, result) = (segments[w], results[w]);
            var (label, probabilities, scores) = Read(result.Probabilities);
            windows[w] = new EmotionWindow(Seconds(segment.Start, SampleRate), Seconds(segment.Length, SampleRate),
                label, probabilities, Decode(result.FrameIds)) { Scores = scores };
            for (var c = 0; c < mean.Length; c++) mean[c] += (double)segment.Length * result.Probabilities[c];
            totalWeight += segment.Length;
        }

        var (aggregateLabel, aggregate, aggregateScores) = Read(mean.Select(m => (float)(m / totalWeight)).ToArray());
        var frameIds = new long[segments.Count][];
        for (var w = 0; w < segments.Count; w++) frameIds[w] = results[w].FrameIds;
        var stitched = vocabulary is null ? [] : Windowing.Stitch(segments.Select(s => (s.Start, s.Length)).ToList(), frameIds, _info.SamplesPerFrame, _info.ReceptiveField);
        return new EmotionPrediction(aggregateLabel, aggregate, Decode(stitched), input.Duration, windows) { Scores = aggregateScores, Warnings = input.Warnings };
    }

    private static bool AllFinite(float[] samples)
    {
        foreach (var v in samples)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    private static TimeSpan Seconds(long samples, int sampleRate) => TimeSpan.FromSeconds((double)samples / sampleRate);

    /// <summary>A sample count with its duration, for messages.</summary>
    protected static string Describe(long samples, int sampleRate) =>
        string.Create(CultureInfo.InvariantCulture, $"{samples} samples ({samples * 1000.0 / sampleRate:0.##} ms)");
}
