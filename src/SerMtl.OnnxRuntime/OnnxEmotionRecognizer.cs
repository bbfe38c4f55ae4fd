using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SerMtl.Inference;

/// <summary>How <see cref="OnnxEmotionRecognizer"/> runs a model. The defaults suit most uses.</summary>
public sealed record OnnxRecognizerOptions
{
    /// <summary>
    /// Recordings longer than this many seconds are split into overlapping windows, predicted on their own and
    /// aggregated (as <c>EmotionRecognizer</c> does). Null runs every recording whole. Default 20.
    /// </summary>
    public double? MaxWindowSeconds { get; init; } = 20;

    /// <summary>Recordings (or windows of long recordings) per padded forward pass. Default 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Asynchronous requests admitted at once, running or waiting; one more is refused with <see cref="RecognizerOverloadedException"/>. Default 32.</summary>
    public int QueueCapacity { get; init; } = EmotionRecognizerBase.DefaultQueueCapacity;

    /// <summary>
    /// Threads of one forward pass (ONNX Runtime's intra-op threads); null lets ONNX Runtime choose (the physical cores).
    /// Unlike TorchSharp's setting it is per recognizer, not per process.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Device to run on: null (the default) or <c>"cpu"</c>, <c>"cuda"</c> or <c>"cuda:N"</c> (ONNX Runtime's CUDA
    /// execution provider; operators it lacks run on the CPU). CUDA needs the app to reference
    /// <c>Microsoft.ML.OnnxRuntime.Gpu</c> (or <c>.Gpu.Linux</c> / <c>.Gpu.Windows</c>) and <c>Microsoft.ML.OnnxRuntime</c>
    /// with <c>ExcludeAssets="native"</c>, and the CUDA libraries that ONNX Runtime release was built for (1.32: CUDA 13);
    /// <see cref="OnnxEmotionRecognizer.Load"/> fails with a clear error saying which is missing.
    /// </summary>
    public string? Device { get; init; }

    /// <summary>
    /// Whether ONNX Runtime keeps a second, prepacked copy of the weight matrices for faster products (its default).
    /// False saves that copy, for a base-size float32 model ~140 MB of a ~720 MB peak (measured: 724 → 580 MB), at
    /// ~5 % more time per forward. Default true.
    /// </summary>
    public bool PrepackWeights { get; init; } = true;
}

/// <summary>
/// The ONNX Runtime engine: runs a model written by <c>sermtl export --onnx</c> (or <c>OnnxExporter</c>) with the same
/// inputs, windows, batching and results as the TorchSharp <c>EmotionRecognizer</c>, without TorchSharp or libtorch.
/// The file is the whole model: labels, vocabulary and preprocessing come from its metadata.
/// </summary>
/// <remarks>
/// Thread safety: every method may be called from several threads at once; forward passes run concurrently (ONNX
/// Runtime's sessions are thread-safe), each on the session's intra-op threads. <see cref="EmotionRecognizerBase.Dispose()"/>
/// waits for running passes to finish.
/// </remarks>
public sealed class OnnxEmotionRecognizer : EmotionRecognizerBase
{
    private readonly InferenceSession _session;
    private readonly string _logitsName;
    private readonly bool _hasCtc;
    private readonly ReaderWriterLockSlim _running = new();

    private OnnxEmotionRecognizer(InferenceSession session, RecognizerModelInfo info, string logitsName, bool hasCtc, OnnxRecognizerOptions options)
        : base(info, options.MaxWindowSeconds, options.BatchSize, options.QueueCapacity)
    {
        _session = session;
        _logitsName = logitsName;
        _hasCtc = hasCtc;
        Options = options;
    }

    /// <summary>The options the recognizer was loaded with.</summary>
    public OnnxRecognizerOptions Options { get; }

    /// <summary>Whether the model's linear layers are int8 (as its metadata says).</summary>
    public bool IsQuantized { get; private init; }

    /// <summary>Loads an exported model.</summary>
    /// <param name="onnxPath">A <c>.onnx</c> file written by SerMtl's exporter.</param>
    /// <param name="options">Windowing, batch size and threads; the defaults when null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX model ONNX Runtime loads, not a SerMtl export (no model description, other inputs or outputs), or an export without emotion output (a speech recogniser or a bare backbone); the message names the file and the problem.</exception>
    /// <exception cref="ArgumentException">An option is out of range, or the device is misspelt.</exception>
    /// <exception cref="InvalidOperationException">CUDA was requested but ONNX Runtime's CUDA provider cannot be loaded (the CPU package, no CUDA libraries, no GPU).</exception>
    public static OnnxEmotionRecognizer Load(string onnxPath, OnnxRecognizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnxPath);
        options ??= new OnnxRecognizerOptions();
        CheckSettings(options.MaxWindowSeconds, options.BatchSize, options.QueueCapacity);
        var (session, info, quantized) = OnnxModelFile.Open(onnxPath, options);
        try
        {
            if (!info.HasEmotionOutput)
                throw new InvalidDataException(
                    $"{onnxPath}: {info.Architecture} is exported as a {RecognizerModelInfo.TaskName(info.Task)} model (outputs {string.Join(", ", session.OutputNames)}) "
                    + "with no emotion output; a recognizer runs emotion classifiers and regressors. Run it with OnnxSpeechEncoder "
                    + (info.Task == ModelTask.Features ? "(Embed)" : "(Transcribe)"));
            var logitsName = info.IsRegression ? "scores" : "logits";
            CheckSignature(session, onnxPath, logitsName, info);
            var hasCtc = session.OutputMetadata.ContainsKey("ctc_logits");
            if (hasCtc && info.Vocabulary is null)
                throw new InvalidDataException($"{onnxPath}: the model has CTC logits but its description has no vocabulary");
            return new OnnxEmotionRecognizer(session, info, logitsName, hasCtc, options) { IsQuantized = quantized };
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>One forward over the padded batch; CTC tokens by argmax over each valid frame.</summary>
    protected override BatchOutput[] RunBatch(PaddedWaveforms batch)
    {
        _running.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            using var waveforms = OrtValue.CreateTensorValueFromMemory(batch.Samples, [batch.Count, batch.Length]);
            using var lengths = OrtValue.CreateTensorValueFromMemory(batch.Lengths, [batch.Count]);
            using var runOptions = new RunOptions();
            string[] names = _hasCtc ? [_logitsName, "frame_lengths", "ctc_logits"] : [_logitsName, "frame_lengths"];
            using var outputs = _session.Run(runOptions, ["waveforms", "lengths"], [waveforms, lengths], names);
            var values = outputs[0].GetTensorDataAsSpan<float>();
            var frameLengths = outputs[1].GetTensorDataAsSpan<long>();
            var classes = Labels.Count;
            var (frames, vocabulary) = (0, 0);
            if (_hasCtc)
            {
                var shape = outputs[2].GetTensorTypeAndShape().Shape; // [B, T, V]
                (frames, vocabulary) = ((int)shape[1], (int)shape[2]);
            }
            var results = new BatchOutput[batch.Count];
            for (var b = 0; b < results.Length; b++)
            {
                long[] ids = [];
                if (_hasCtc)
                {
                    var ctc = outputs[2].GetTensorDataAsSpan<float>().Slice(b * frames * vocabulary, frames * vocabulary);
                    ids = OnnxModelFile.BestTokens(ctc, (int)frameLengths[b], vocabulary);
                }
                results[b] = new BatchOutput(values.Slice(b * classes, classes).ToArray(), ids);
            }
            return results;
        }
        finally
        {
            _running.ExitReadLock();
        }
    }

    /// <summary>Waits for running forward passes, then releases the session.</summary>
    protected override void Dispose(bool disposing)
    {
        _running.EnterWriteLock();
        try
        {
            _session.Dispose();
        }
        finally
        {
            _running.ExitWriteLock();
        }
    }

    private static void CheckSignature(InferenceSession session, string path, string logitsName, RecognizerModelInfo info)
    {
        void Require(IReadOnlyDictionary<string, NodeMetadata> declared, string name, TensorElementType type, int rank, string what)
        {
            if (!declared.TryGetValue(name, out var meta))
                throw new InvalidDataException($"{path}: no {what} '{name}' (it has {string.Join(", ", declared.Keys)}); not a SerMtl export");
            if (meta.ElementDataType != type || meta.Dimensions.Length != rank)
                throw new InvalidDataException($"{path}: {what} '{name}' is {meta.ElementDataType} of rank {meta.Dimensions.Length}, expected {type} of rank {rank}");
        }
        Require(session.InputMetadata, "waveforms", TensorElementType.Float, 2, "input");
        Require(session.InputMetadata, "lengths", TensorElementType.Int64, 1, "input");
        Require(session.OutputMetadata, logitsName, TensorElementType.Float, 2, "output");
        Require(session.OutputMetadata, "frame_lengths", TensorElementType.Int64, 1, "output");
        var labels = session.OutputMetadata[logitsName].Dimensions[1];
        if (labels != info.Labels.Count)
            throw new InvalidDataException($"{path}: output '{logitsName}' has {labels} columns for {info.Labels.Count} labels");
    }
}
