using Microsoft.ML.OnnxRuntime;

namespace SerMtl.Inference;

/// <summary>
/// Runs the exports that have no emotion output with ONNX Runtime, without TorchSharp or libtorch: a bare backbone's
/// frame features (<see cref="Embed"/>, as <c>Wav2Vec2Model.Embed</c> and <c>sermtl embed</c>) and a speech
/// recogniser's greedy transcripts (<see cref="Transcribe"/>, as <c>Wav2Vec2ForCtc.Transcribe</c>). Waveforms are
/// preprocessed as the file's metadata says and run in padded batches of <see cref="OnnxRecognizerOptions.BatchSize"/>;
/// the results do not depend on the batching. Recordings are run whole (no windows).
/// </summary>
/// <remarks>Thread safety: every method may be called from several threads at once (ONNX Runtime's sessions are thread-safe).</remarks>
public sealed class OnnxSpeechEncoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _batchSize;
    private readonly ReaderWriterLockSlim _running = new();
    private bool _disposed;

    private OnnxSpeechEncoder(InferenceSession session, RecognizerModelInfo info, int batchSize)
    {
        _session = session;
        ModelInfo = info;
        _batchSize = batchSize;
    }

    /// <summary>The model description from the file: task, vocabulary, preprocessing, geometry.</summary>
    public RecognizerModelInfo ModelInfo { get; }

    /// <summary>Sample rate the model expects, in Hz.</summary>
    public int SampleRate => ModelInfo.SampleRate;

    /// <summary>Loads a <see cref="ModelTask.Features"/> or <see cref="ModelTask.Transcription"/> export.</summary>
    /// <param name="onnxPath">A <c>.onnx</c> file written by SerMtl's exporter from a backbone or a <c>*ForCTC</c> model.</param>
    /// <param name="options">Batch size, threads, device and prepacking (the windowing and queue settings do not apply).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Not an ONNX model, not a SerMtl export, or an emotion model (run those with <see cref="OnnxEmotionRecognizer"/>).</exception>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="InvalidOperationException">CUDA was requested but ONNX Runtime's CUDA provider cannot be loaded.</exception>
    public static OnnxSpeechEncoder Load(string onnxPath, OnnxRecognizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnxPath);
        options ??= new OnnxRecognizerOptions();
        if (options.BatchSize < 1) throw new ArgumentException($"BatchSize must be at least 1, got {options.BatchSize}", nameof(options));
        var (session, info, _) = OnnxModelFile.Open(onnxPath, options);
        try
        {
            if (info.HasEmotionOutput)
                throw new InvalidDataException($"{onnxPath}: {info.Architecture} is an emotion model; run it with OnnxEmotionRecognizer (which also transcribes where it has a CTC head)");
            var output = info.Task == ModelTask.Features ? "last_hidden_state" : "ctc_logits";
            if (!session.OutputMetadata.TryGetValue(output, out var meta) || meta.Dimensions.Length != 3 || !session.OutputMetadata.ContainsKey("frame_lengths"))
                throw new InvalidDataException($"{onnxPath}: a {RecognizerModelInfo.TaskName(info.Task)} export needs outputs {output} [batch, frames, size] and frame_lengths; it has {string.Join(", ", session.OutputNames)}");
            return new OnnxSpeechEncoder(session, info, options.BatchSize);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The last hidden state of each waveform (mono samples at <see cref="SampleRate"/>), in input order, as
    /// [frames, hidden] arrays.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is a speech recogniser, not a backbone.</exception>
    /// <exception cref="ArgumentException">A waveform is null, empty, not finite, or shorter than the model's receptive field.</exception>
    public IReadOnlyList<float[,]> Embed(IReadOnlyList<float[]> waveforms)
    {
        if (ModelInfo.Task != ModelTask.Features)
            throw new InvalidOperationException($"{ModelInfo.Architecture} is a speech recogniser; Embed needs a backbone export (use Transcribe)");
        return Run(waveforms, "last_hidden_state", (values, frames, size) =>
        {
            var result = new float[frames, size];
            values[..(frames * size)].CopyTo(System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref result[0, 0], result.Length));
            return result;
        });
    }

    /// <summary>The greedy CTC transcript of each waveform (mono samples at <see cref="SampleRate"/>), in input order.</summary>
    /// <exception cref="InvalidOperationException">The model is a backbone, not a speech recogniser.</exception>
    /// <exception cref="ArgumentException">A waveform is null, empty, not finite, or shorter than the model's receptive field.</exception>
    public IReadOnlyList<string> Transcribe(IReadOnlyList<float[]> waveforms)
    {
        if (ModelInfo.Task != ModelTask.Transcription)
            throw new InvalidOperationException($"{ModelInfo.Architecture} is a backbone; Transcribe needs a speech recogniser's export (use Embed)");
        var vocabulary = ModelInfo.Vocabulary!;
        return Run(waveforms, "ctc_logits", (values, frames, size) => CtcDecoding.Greedy(OnnxModelFile.BestTokens(values, frames, size), vocabulary));
    }

    private delegate T FrameReader<T>(ReadOnlySpan<float> values, int frames, int size);

    /// <summary>Padded batches of the waveforms through the session; each utterance's valid frames of <paramref name="output"/> read by <paramref name="read"/>.</summary>
    private T[] Run<T>(IReadOnlyList<float[]> waveforms, string output, FrameReader<T> read)
    {
        ArgumentNullException.ThrowIfNull(waveforms);
        for (var i = 0; i < waveforms.Count; i++)
            if (waveforms[i] is { } w && w.Length < ModelInfo.ReceptiveField)
                throw new ArgumentException($"waveform {i} has {w.Length} samples, fewer than the model's receptive field of {ModelInfo.ReceptiveField}", nameof(waveforms));
        var results = new T[waveforms.Count];
        _running.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (var start = 0; start < waveforms.Count; start += _batchSize)
            {
                var count = Math.Min(_batchSize, waveforms.Count - start);
                var batch = PaddedWaveforms.Create(Enumerable.Range(start, count).Select(i => waveforms[i]).ToList(),
                    ModelInfo.Normalize, PaddedWaveforms.NormalizeEpsilon, ModelInfo.PaddingValue);
                using var samples = OrtValue.CreateTensorValueFromMemory(batch.Samples, [batch.Count, batch.Length]);
                using var lengths = OrtValue.CreateTensorValueFromMemory(batch.Lengths, [batch.Count]);
                using var runOptions = new RunOptions();
                using var outputs = _session.Run(runOptions, ["waveforms", "lengths"], [samples, lengths], [output, "frame_lengths"]);
                var shape = outputs[0].GetTensorTypeAndShape().Shape;                 // [B, T, size]
                var (frames, size) = ((int)shape[1], (int)shape[2]);
                var values = outputs[0].GetTensorDataAsSpan<float>();
                var frameLengths = outputs[1].GetTensorDataAsSpan<long>();
                for (var b = 0; b < count; b++)
                    results[start + b] = read(values.Slice(b * frames * size, frames * size), (int)frameLengths[b], size);
            }
        }
        finally
        {
            _running.ExitReadLock();
        }
        return results;
    }

    /// <summary>Waits for running passes, then releases the session.</summary>
    public void Dispose()
    {
        _running.EnterWriteLock();
        try
        {
            if (_disposed) return;
            _disposed = true;
            _session.Dispose();
        }
        finally
        {
            _running.ExitWriteLock();
        }
    }
}
