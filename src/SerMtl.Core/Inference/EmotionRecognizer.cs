using System.Globalization;
using SerMtl.Data.Audio;
using SerMtl.Modeling;
using SerMtl.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Inference;

/// <summary>
/// One-call inference with a saved SerMtl model: the emotion (with the probability of every label) and the greedy
/// CTC transcript of a recording.
/// </summary>
/// <remarks>
/// <para>
/// Input of any sample rate is mixed to mono and resampled to the model's rate. Recordings longer than
/// <see cref="EmotionRecognizerOptions.MaxWindowSeconds"/> are split into overlapping windows whose results are
/// listed in <see cref="EmotionPrediction.Windows"/> and aggregated. Batches are padded, and the model gives every
/// recording in a batch the same result as alone, so <see cref="PredictBatch(IReadOnlyList{string})"/> agrees
/// with <see cref="Predict(string)"/>.
/// </para>
/// <para>
/// Thread safety: every method may be called from several threads at once. Reading and resampling audio run in
/// parallel; the forward passes are serialised by a lock (one forward already uses all of libtorch's threads).
/// Each forward runs in inference mode inside its own dispose scope, so native memory stays flat over any number
/// of calls.
/// </para>
/// </remarks>
public sealed class EmotionRecognizer : IDisposable
{
    private const double MaxOverlapSeconds = 1.0;
    private const float SilencePeak = 1e-6f; // -120 dBFS

    private readonly RecognizerModel _model;
    private readonly object _forwardLock = new();
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private readonly FeatureExtractorConfig _preprocessing;
    private readonly int _sampleRate;
    private readonly int _receptiveField;
    private readonly int _samplesPerFrame;
    private readonly int _windowSamples;   // 0: never split
    private readonly int _overlapSamples;
    private bool _disposed;

    private EmotionRecognizer(RecognizerModel model, EmotionRecognizerOptions options)
    {
        _model = model;
        Options = options;
        _dtype = options.DType == InferenceDType.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        _device = model.Device;
        _preprocessing = model.Backbone.Preprocessing;
        _sampleRate = _preprocessing.SamplingRate;
        _receptiveField = model.Backbone.Config.ReceptiveField;
        _samplesPerFrame = model.Backbone.Config.SamplesPerFrame;
        if (options.MaxWindowSeconds is double seconds)
        {
            _windowSamples = (int)Math.Min(Math.Round(seconds * _sampleRate), int.MaxValue); // no array is longer
            _overlapSamples = (int)Math.Round(Math.Min(MaxOverlapSeconds * _sampleRate, _windowSamples / 4.0));
        }
    }

    /// <summary>The options the recognizer was loaded with.</summary>
    public EmotionRecognizerOptions Options { get; }

    /// <summary>
    /// The emotion labels, in the model's order (the order of <see cref="EmotionPrediction.Probabilities"/>); for a
    /// regression model the names of its scores (<see cref="EmotionPrediction.Scores"/>).
    /// </summary>
    public IReadOnlyList<string> Labels => _model.Labels;

    /// <summary>True when the model gives named scores (e.g. arousal, dominance, valence) rather than class probabilities.</summary>
    public bool IsRegression => _model.IsRegression;

    /// <summary>The sample rate the model runs at (input at other rates is resampled to it).</summary>
    public int SampleRate => _sampleRate;

    /// <summary>The fewest samples (at <see cref="SampleRate"/>) a recording must have: the feature encoder's receptive field.</summary>
    public int MinimumSamples => _receptiveField;

    /// <summary>The device the model runs on.</summary>
    public Device Device => _device;

    /// <summary>
    /// Loads a model for inference: a directory (or Hub id) written by <see cref="SerMtlModel.Save"/> (the trainer's
    /// output: label, probabilities and transcript), or a HuggingFace <c>Wav2Vec2ForSequenceClassification</c>
    /// checkpoint such as <c>superb/wav2vec2-base-superb-er</c> (label and probabilities over its <c>id2label</c>;
    /// no transcript).
    /// </summary>
    /// <param name="modelDirectory">The model: a directory or a Hub id (<c>org/name[@revision]</c>).</param>
    /// <param name="options">Device, windowing, batch size, number format and threads; the defaults when null.</param>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">The directory is not a SerMtl model, or a file in it is malformed; the message says which.</exception>
    /// <exception cref="ArgumentException">An option is out of range (e.g. a window shorter than the model's receptive field).</exception>
    /// <exception cref="InvalidOperationException">CUDA was requested but no CUDA backend is loaded, or the device index does not exist.</exception>
    public static EmotionRecognizer Load(string modelDirectory, EmotionRecognizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        options ??= new EmotionRecognizerOptions();
        if (options.BatchSize < 1)
            throw new ArgumentException($"BatchSize must be at least 1, got {options.BatchSize}", nameof(options));
        if (options.Threads is < 1)
            throw new ArgumentException($"Threads must be at least 1 when set, got {options.Threads}", nameof(options));
        if (options.MaxWindowSeconds is double w && !(double.IsFinite(w) && w > 0))
            throw new ArgumentException($"MaxWindowSeconds must be a positive number of seconds or null, got {w}", nameof(options));
        if (!Enum.IsDefined(options.DType))
            throw new ArgumentException($"unknown DType {options.DType}", nameof(options));
        var device = ParseDevice(options.Device);
        CheckDevice(device);
        if (options.Threads is int threads) torch.set_num_threads(threads);

        // The loaders' errors already name the directory and what is wrong with it.
        var model = RecognizerModel.Load(modelDirectory, device);
        try
        {
            if (options.DType == InferenceDType.BFloat16) _ = model.Module.to(ScalarType.BFloat16);
            model.Module.eval();
            var recognizer = new EmotionRecognizer(model, options);
            if (options.MaxWindowSeconds is double seconds && recognizer._windowSamples < recognizer._receptiveField)
                throw new ArgumentException(
                    $"MaxWindowSeconds {seconds.ToString(CultureInfo.InvariantCulture)} is {recognizer._windowSamples} samples, shorter than the model's receptive field of {Describe(recognizer._receptiveField, recognizer._sampleRate)}",
                    nameof(options));
            return recognizer;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Predicts the emotion and transcript of a WAV file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not readable WAV audio, is empty, or is shorter than the model's receptive field; the message names it.</exception>
    public EmotionPrediction Predict(string wavPath)
    {
        ArgumentNullException.ThrowIfNull(wavPath);
        return Run([FromFile(wavPath)])[0];
    }

    /// <summary>Predicts the emotion and transcript of WAV data read from <paramref name="wav"/>'s current position.</summary>
    /// <param name="wav">A readable stream holding a WAV file.</param>
    /// <param name="name">Names the stream in error messages; "stream" when null.</param>
    /// <exception cref="InvalidDataException">The data is not readable WAV audio, is empty, or is shorter than the model's receptive field.</exception>
    public EmotionPrediction Predict(Stream wav, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(wav);
        name ??= "stream";
        var clip = WavReader.Read(wav, name);
        return Run([Prepare(name, clip.Samples, clip.SampleRate, isFile: true, clip.Warnings)])[0];
    }

    /// <summary>Predicts the emotion and transcript of mono samples in [-1, 1] at <paramref name="sampleRate"/> Hz (resampled when it is not <see cref="SampleRate"/>).</summary>
    /// <exception cref="ArgumentException">No samples, too few (shorter than the receptive field), NaN or infinite samples, or a rate that is not positive.</exception>
    public EmotionPrediction Predict(ReadOnlySpan<float> samples, int sampleRate)
    {
        if (sampleRate <= 0) throw new ArgumentException($"sample rate must be positive, got {sampleRate}", nameof(sampleRate));
        var atModelRate = Resampler.Resample(samples, sampleRate, _sampleRate);
        return Run([Check(new Input("audio", atModelRate, atModelRate.Length, Seconds(samples.Length, sampleRate)), isFile: false)])[0];
    }

    /// <summary>Predicts the emotion and transcript of an audio clip (e.g. from <see cref="WavReader"/>).</summary>
    /// <exception cref="ArgumentException">The clip is empty, shorter than the receptive field, or holds NaN or infinite samples.</exception>
    public EmotionPrediction Predict(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        return Run([Prepare("clip", clip.Samples, clip.SampleRate, isFile: false, clip.Warnings)])[0];
    }

    /// <summary>
    /// Predicts several WAV files in padded batches of <see cref="EmotionRecognizerOptions.BatchSize"/>; the
    /// results, in input order, are those <see cref="Predict(string)"/> gives each file. Every file is read (and
    /// checked) before the first forward pass, so pass very many files in chunks.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is not readable WAV audio, is empty or too short; the message names it. Nothing is predicted then.</exception>
    public IReadOnlyList<EmotionPrediction> PredictBatch(IReadOnlyList<string> wavPaths)
    {
        ArgumentNullException.ThrowIfNull(wavPaths);
        var inputs = new Input[wavPaths.Count];
        for (var i = 0; i < inputs.Length; i++)
            inputs[i] = FromFile(wavPaths[i] ?? throw new ArgumentException($"path {i} is null", nameof(wavPaths)));
        return Run(inputs);
    }

    /// <summary>
    /// Predicts several clips in padded batches of <see cref="EmotionRecognizerOptions.BatchSize"/>; the results, in
    /// input order, are those <see cref="Predict(AudioClip)"/> gives each clip.
    /// </summary>
    /// <exception cref="ArgumentException">A clip is null, empty, too short or holds NaN or infinite samples (the message gives its index).</exception>
    public IReadOnlyList<EmotionPrediction> PredictBatch(IReadOnlyList<AudioClip> clips)
    {
        ArgumentNullException.ThrowIfNull(clips);
        var inputs = new Input[clips.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            var clip = clips[i] ?? throw new ArgumentException($"clip {i} is null", nameof(clips));
            inputs[i] = Prepare($"clip {i}", clip.Samples, clip.SampleRate, isFile: false, clip.Warnings);
        }
        return Run(inputs);
    }

    /// <summary>Releases the model's native memory. Calls already running finish first.</summary>
    public void Dispose()
    {
        lock (_forwardLock)
        {
            if (_disposed) return;
            _disposed = true;
            _model.Dispose();
        }
    }

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

    /// <summary>What a forward gives for one segment: label probabilities [C] and the best CTC token of each valid frame.</summary>
    private readonly record struct SegmentResult(float[] Probabilities, long[] FrameIds);

    /// <summary>
    /// A WAV file checked as a whole (format, length, finite samples, silence) in one pass over its frames in pieces,
    /// then read window by window as batches run. The silence test looks at the mono mix at the file's own rate (at the
    /// model's rate, when they are the same, as for in-memory audio).
    /// </summary>
    private Input FromFile(string path)
    {
        var file = WavFile.Open(path);
        var length = file.LengthAt(_sampleRate);
        if (length > int.MaxValue)
            throw new InvalidDataException($"{path}: {file.Duration.TotalHours:0.#} hours is more than a recording of {int.MaxValue / (double)_sampleRate / 3600:0.#} hours this recognizer reads; split it");
        var input = new Input(path, null, (int)length, file.Duration) { Warnings = file.Warnings, File = file };
        if (length == 0) throw new InvalidDataException($"{path}: the audio is empty (0 samples)");
        if (length < _receptiveField)
            throw new InvalidDataException($"{path}: {Describe(length, _sampleRate)} is shorter than the model's receptive field of {Describe(_receptiveField, _sampleRate)}");
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
        var atModelRate = AudioLoader.Resample(new AudioClip(samples, sampleRate), _sampleRate);
        return Check(new Input(name, atModelRate, atModelRate.Length, Seconds(samples.Length, sampleRate)) { Warnings = readerWarnings ?? [] }, isFile);
    }

    /// <summary>Rejects what the model cannot run: files get <see cref="InvalidDataException"/>, in-memory samples <see cref="ArgumentException"/>.</summary>
    private Input Check(Input input, bool isFile)
    {
        string? problem = null;
        var samples = input.Samples!;
        var n = samples.Length;
        if (n == 0) problem = $"{input.Name}: the audio is empty (0 samples)";
        else if (n < _receptiveField)
            problem = $"{input.Name}: {Describe(n, _sampleRate)} is shorter than the model's receptive field of {Describe(_receptiveField, _sampleRate)}";
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

    private IReadOnlyList<EmotionPrediction> Run(IReadOnlyList<Input> inputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (inputs.Count == 0) return [];

        var segments = new List<Segment>();
        var segmentsOf = new List<Segment>[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            segmentsOf[i] = Split(i, inputs[i].Length);
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

    private List<Segment> Split(int input, int length) =>
        Windowing.Split(length, _windowSamples, _overlapSamples).Select(w => new Segment(input, w.Start, w.Length)).ToList();

    /// <summary>Runs every segment, longest first in padded batches, and returns the results in segment order.</summary>
    private SegmentResult[] Forward(IReadOnlyList<Input> inputs, List<Segment> segments)
    {
        var results = new SegmentResult[segments.Count];
        // Similar lengths in a batch waste little compute on padding; the order does not change any result.
        var order = Enumerable.Range(0, segments.Count).OrderByDescending(i => segments[i].Length).ToArray();
        var buffers = new List<float[]>();
        foreach (var chunk in order.Chunk(Options.BatchSize))
        {
            // Windows of a file are read here, a batch at a time, into the previous batch's buffers.
            var waves = new List<float[]>(chunk.Length);
            for (var j = 0; j < chunk.Length; j++)
            {
                var s = segments[chunk[j]];
                var input = inputs[s.Input];
                var window = input.Read(s.Start, s.Length, _sampleRate, input.File is null ? null : buffers.ElementAtOrDefault(j));
                if (input.File is not null)
                {
                    if (j < buffers.Count) buffers[j] = window;
                    else buffers.Add(window);
                }
                waves.Add(window);
            }

            // One dispose scope per forward: every tensor of this batch is freed when it ends.
            using var scope = NewDisposeScope();
            // Normalising and padding run outside the lock, in parallel with other callers' forwards.
            using var batch = WaveformBatch.Create(waves, _preprocessing, _device);
            var waveforms = _dtype == ScalarType.Float32 ? batch.Waveforms : batch.Waveforms.to(_dtype);
            lock (_forwardLock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                using var mode = torch.inference_mode();
                using var output = _model.Forward(waveforms, batch.Lengths);
                var logits = output.Logits.to(ScalarType.Float32);
                var probabilities = (_model.IsRegression ? logits : logits.softmax(-1)).cpu().data<float>().ToArray(); // [B * C]: scores or probabilities
                var best = output.CtcLogits?.argmax(-1).cpu().data<long>().ToArray() ?? [];                         // [B * T]
                var frameLengths = output.FrameLengths.cpu().data<long>().ToArray();                                // [B]
                var (classes, frames) = ((int)output.Logits.shape[1], (int)(output.CtcLogits?.shape[1] ?? 0));
                for (var j = 0; j < chunk.Length; j++)
                    results[chunk[j]] = new SegmentResult(
                        probabilities.AsSpan(j * classes, classes).ToArray(),
                        output.CtcLogits is null ? [] : best.AsSpan(j * frames, (int)frameLengths[j]).ToArray());
            }
        }
        return results;
    }

    private EmotionPrediction Assemble(Input input, List<Segment> segments, ReadOnlySpan<SegmentResult> results)
    {
        var vocabulary = _model.Vocabulary;
        string Decode(long[] ids) => vocabulary is null ? "" : CtcGreedyDecoder.Decode(ids, vocabulary);
        // A classifier's values are probabilities (label = the largest); a regression model's are named scores.
        (string Label, IReadOnlyDictionary<string, float> Probabilities, IReadOnlyDictionary<string, float> Scores) Read(float[] values)
        {
            var map = new LabelProbabilities(Labels, values);
            return _model.IsRegression
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
            windows[w] = new EmotionWindow(Seconds(segment.Start, _sampleRate), Seconds(segment.Length, _sampleRate),
                label, probabilities, Decode(result.FrameIds)) { Scores = scores };
            for (var c = 0; c < mean.Length; c++) mean[c] += (double)segment.Length * result.Probabilities[c];
            totalWeight += segment.Length;
        }

        var (aggregateLabel, aggregate, aggregateScores) = Read(mean.Select(m => (float)(m / totalWeight)).ToArray());
        var frameIds = new long[segments.Count][];
        for (var w = 0; w < segments.Count; w++) frameIds[w] = results[w].FrameIds;
        var stitched = vocabulary is null ? [] : Windowing.Stitch(segments.Select(s => (s.Start, s.Length)).ToList(), frameIds, _samplesPerFrame, _receptiveField);
        return new EmotionPrediction(aggregateLabel, aggregate, Decode(stitched), input.Duration, windows) { Scores = aggregateScores, Warnings = input.Warnings };
    }

    /// <summary>cpu (or null), cuda or cuda:N as a torch device.</summary>
    /// <exception cref="ArgumentException">Any other spelling.</exception>
    private static Device ParseDevice(string? text)
    {
        if (text is null || text == "cpu") return CPU;
        if (text == "cuda" || (text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            return new Device(text);
        throw new ArgumentException($"Device must be \"cpu\", \"cuda\" or \"cuda:N\" (or null for the CPU), got \"{text}\"", "options");
    }

    private static void CheckDevice(Device device)
    {
        if (device.type != DeviceType.CUDA) return;
        if (!torch.cuda.is_available())
            throw new InvalidOperationException(
                $"device '{device}' was requested but CUDA is not available (torch.cuda.is_available() is false): the app needs a CUDA backend package " +
                "(TorchSharp-cuda-linux on Linux, TorchSharp-cuda-windows on Windows) instead of libtorch-cpu-*, an NVIDIA GPU and driver; or use the CPU");
        var count = torch.cuda.device_count();
        if (device.index >= count)
            throw new InvalidOperationException($"device '{device}' was requested but there {(count == 1 ? "is 1 CUDA device" : $"are {count} CUDA devices")} (indices from 0)");
    }

    private static bool AllFinite(float[] samples)
    {
        foreach (var v in samples)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    private static TimeSpan Seconds(long samples, int sampleRate) => TimeSpan.FromSeconds((double)samples / sampleRate);

    private static string Describe(long samples, int sampleRate) =>
        string.Create(CultureInfo.InvariantCulture, $"{samples} samples ({samples * 1000.0 / sampleRate:0.##} ms)");
}
