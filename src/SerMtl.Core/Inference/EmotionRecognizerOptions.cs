namespace SerMtl.Inference;

/// <summary>The number format <see cref="EmotionRecognizer"/> runs the model in.</summary>
public enum InferenceDType
{
    /// <summary>32-bit floats, as the model is saved (the default).</summary>
    Float32,

    /// <summary>
    /// bfloat16 weights and inputs: about half the memory, and faster on CPUs with BF16 instructions and on GPUs.
    /// Probabilities move by a few 1e-3; the predicted emotion can change when two classes are close.
    /// </summary>
    BFloat16,
}

/// <summary>How <see cref="EmotionRecognizer"/> runs a model. The defaults suit most uses: CPU, float32, 20 s windows.</summary>
public sealed record EmotionRecognizerOptions
{
    /// <summary>
    /// Device to run on, as configuration files write it: null (the default) or <c>"cpu"</c> for the CPU,
    /// <c>"cuda"</c> or <c>"cuda:N"</c>. CUDA needs a CUDA backend package in the app (<c>TorchSharp-cuda-linux</c> or
    /// <c>TorchSharp-cuda-windows</c>); <see cref="EmotionRecognizer.Load"/> fails with a clear error when it is not
    /// loaded, and on any other spelling.
    /// </summary>
    public string? Device { get; init; }

    /// <summary>Whether <paramref name="text"/> names a device as <see cref="Device"/> takes it: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public static bool IsDeviceName(string? text) => text is not null && EmotionRecognizerBase.TryParseDevice(text, out _);

    /// <summary>
    /// Recordings longer than this many seconds are split into windows of this length, spread evenly over the
    /// recording so that neighbours overlap by at least 1 s (or a quarter of the window when that is less); each
    /// window is predicted on its own and the results are aggregated (see <see cref="EmotionPrediction"/>). This
    /// bounds memory and time, which grow with the square of the length in the transformer. Null runs every
    /// recording whole. Default 20.
    /// </summary>
    public double? MaxWindowSeconds { get; init; } = 20;

    /// <summary>
    /// Recordings (or windows of long recordings) per padded forward pass, in
    /// <see cref="EmotionRecognizerBase.PredictBatch(IReadOnlyList{string})"/> and for the windows of one long recording.
    /// Default 8.
    /// </summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>
    /// Asynchronous requests (<see cref="EmotionRecognizerBase.PredictAsync(string, CancellationToken)"/> and its
    /// overloads) admitted at once, running or waiting; one more is refused at once with
    /// <see cref="RecognizerOverloadedException"/> instead of piling up. Default 32.
    /// </summary>
    public int QueueCapacity { get; init; } = EmotionRecognizerBase.DefaultQueueCapacity;

    /// <summary>Number format of the weights and inputs; <see cref="InferenceDType.Float32"/> by default.</summary>
    public InferenceDType DType { get; init; } = InferenceDType.Float32;

    /// <summary>
    /// When set, calls <c>torch.set_num_threads</c> with it on load. That setting is process-wide: it applies to
    /// every TorchSharp computation in the process, not only this recognizer. Null leaves libtorch's default (the cores available).
    /// </summary>
    public int? Threads { get; init; }
}
