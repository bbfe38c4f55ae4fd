using System.Globalization;
using SerMtl.Data.Audio;
using SerMtl.Data.Text;
using SerMtl.Modeling;
using SerMtl.Runtime;
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
/// recording in a batch the same result as alone (up to float rounding), so
/// <see cref="EmotionRecognizerBase.PredictBatch(IReadOnlyList{string})"/> agrees with <see cref="EmotionRecognizerBase.Predict(string)"/>.
/// The engine-neutral part (reading, windows, batches, decoding, the asynchronous queue) is <see cref="EmotionRecognizerBase"/>;
/// <c>OnnxEmotionRecognizer</c> (SerMtl.OnnxRuntime) runs an exported model the same way without libtorch.
/// </para>
/// <para>
/// Thread safety: every method may be called from several threads at once. Reading and resampling audio run in
/// parallel; the forward passes are serialised by a lock (one forward already uses all of libtorch's threads).
/// Each forward runs in inference mode inside its own dispose scope, so native memory stays flat over any number
/// of calls.
/// </para>
/// </remarks>
public sealed class EmotionRecognizer : EmotionRecognizerBase
{
    private readonly RecognizerModel _model;
    private readonly object _forwardLock = new();
    private readonly RetainedMemoryGuard _retained = new();
    private readonly ScalarType _dtype;
    private readonly Device _device;

    private EmotionRecognizer(RecognizerModel model, EmotionRecognizerOptions options)
        : base(ModelInfoOf(model), options.MaxWindowSeconds, options.BatchSize, options.QueueCapacity)
    {
        _model = model;
        Options = options;
        _dtype = options.DType == InferenceDType.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        _device = model.Device;
    }

    /// <summary>The options the recognizer was loaded with.</summary>
    public EmotionRecognizerOptions Options { get; }

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
        CheckSettings(options.MaxWindowSeconds, options.BatchSize, options.QueueCapacity);
        var device = CheckEngineSettings(options.Threads, options.Device) is null ? CPU : new Device(options.Device!);
        if (!Enum.IsDefined(options.DType))
            throw new ArgumentException($"unknown DType {options.DType}", nameof(options));
        CheckDevice(device);
        if (options.Threads is int threads) torch.set_num_threads(threads);

        // The loaders' errors already name the directory and what is wrong with it.
        var model = RecognizerModel.Load(modelDirectory, device);
        try
        {
            if (options.DType == InferenceDType.BFloat16) _ = model.Module.to(ScalarType.BFloat16);
            model.Module.eval();
            return new EmotionRecognizer(model, options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>What the recognizer base needs of the model: labels, vocabulary, preprocessing, geometry.</summary>
    internal static RecognizerModelInfo ModelInfoOf(RecognizerModel model) =>
        ModelInfoOf(model.Backbone, model.Architecture, model.IsRegression ? ModelTask.Regression : ModelTask.Classification, model.Labels, model.Vocabulary);

    /// <summary>The description of a model on <paramref name="backbone"/> (also of a transcriber or a bare backbone, for an exporter).</summary>
    internal static RecognizerModelInfo ModelInfoOf(Wav2Vec2Model backbone, string architecture, ModelTask task, IReadOnlyList<string> labels,
        CharacterVocabulary? vocabulary) => new()
    {
        Architecture = architecture,
        Labels = labels,
        Task = task,
        Vocabulary = vocabulary,
        SampleRate = backbone.Preprocessing.SamplingRate,
        Normalize = backbone.Preprocessing.DoNormalize,
        PaddingValue = backbone.Preprocessing.PaddingValue,
        ReceptiveField = backbone.Config.ReceptiveField,
        SamplesPerFrame = backbone.Config.SamplesPerFrame,
    };

    /// <summary>
    /// One forward over a padded batch (<see cref="Forward"/>); then, after a batch much larger than usual, the
    /// allocator gives the memory it freed back (<see cref="RetainedMemoryGuard"/>).
    /// </summary>
    protected override BatchOutput[] RunBatch(PaddedWaveforms batch)
    {
        var results = Forward(batch);
        _retained.After((long)batch.Count * batch.Length);
        return results;
    }

    /// <summary>One forward over a padded batch, serialised by a lock (one forward already uses all of libtorch's threads), in inference mode inside its own dispose scope.</summary>
    private BatchOutput[] Forward(PaddedWaveforms batch)
    {
        using var scope = NewDisposeScope();
        using var waveforms = tensor(batch.Samples, [batch.Count, batch.Length], ScalarType.Float32, _device);
        using var lengths = tensor(batch.Lengths, ScalarType.Int64, _device);
        var input = _dtype == ScalarType.Float32 ? waveforms : waveforms.to(_dtype);
        lock (_forwardLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            using var mode = torch.inference_mode();
            using var output = _model.Forward(input, lengths);
            var values = output.Logits.to(ScalarType.Float32).cpu().data<float>().ToArray();   // [B * C]: logits or scores
            var best = output.CtcLogits?.argmax(-1).cpu().data<long>().ToArray() ?? [];       // [B * T]
            var frameLengths = output.FrameLengths.cpu().data<long>().ToArray();              // [B]
            var (classes, frames) = ((int)output.Logits.shape[1], (int)(output.CtcLogits?.shape[1] ?? 0));
            var results = new BatchOutput[batch.Count];
            for (var j = 0; j < results.Length; j++)
                results[j] = new BatchOutput(
                    values.AsSpan(j * classes, classes).ToArray(),
                    output.CtcLogits is null ? [] : best.AsSpan(j * frames, (int)frameLengths[j]).ToArray());
            return results;
        }
    }

    /// <summary>Releases the model's native memory once the forward running now (if any) has finished.</summary>
    protected override void Dispose(bool disposing)
    {
        lock (_forwardLock) _model.Dispose();
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
}
