using Microsoft.Extensions.Options;
using SerMtl.Inference;

namespace SerMtl.Extensions.Hosting;

/// <summary>
/// The recognizer a host runs, as a configuration section writes it, e.g. in appsettings.json:
/// <code>"EmotionRecognizer": { "Model": "models/emotion.onnx", "QueueCapacity": 16 }</code>
/// Checked when the host starts (<see cref="Validate"/>): a bad value stops the start with a message naming the setting.
/// </summary>
public sealed class EmotionRecognizerServiceOptions
{
    /// <summary>The model: a directory saved by SerMtl, a HuggingFace Hub id (<c>org/name[@revision]</c>), or an exported <c>.onnx</c> file.</summary>
    public string Model { get; set; } = "";

    /// <summary><c>auto</c> (the default: ONNX Runtime for a <c>.onnx</c> file, TorchSharp otherwise), <c>torch</c> or <c>onnx</c>.</summary>
    public string Engine { get; set; } = "auto";

    /// <summary>
    /// <c>cpu</c> (the default), <c>cuda</c> or <c>cuda:N</c>. CUDA needs a CUDA backend in the app: TorchSharp-cuda-* for
    /// the TorchSharp engine, Microsoft.ML.OnnxRuntime.Gpu in place of Microsoft.ML.OnnxRuntime for the ONNX engine.
    /// </summary>
    public string Device { get; set; } = "cpu";

    /// <summary>TorchSharp only: <c>float32</c> (the default) or <c>bfloat16</c>.</summary>
    public string DType { get; set; } = "float32";

    /// <summary>Recordings longer than this many seconds are windowed; 0 runs every recording whole. Default 20.</summary>
    public double MaxWindowSeconds { get; set; } = 20;

    /// <summary>Recordings (or windows) per padded forward pass. Default 8.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>Threads of a forward pass; unset lets the engine choose (for TorchSharp the setting is process-wide).</summary>
    public int? Threads { get; set; }

    /// <summary>Asynchronous requests admitted at once; one more is refused with <see cref="RecognizerOverloadedException"/>. Default 32.</summary>
    public int QueueCapacity { get; set; } = EmotionRecognizerBase.DefaultQueueCapacity;

    /// <summary>ONNX only: false drops ONNX Runtime's prepacked copy of the weights (~20 % less peak memory for a float32 model, ~5 % more time). Default true.</summary>
    public bool PrepackWeights { get; set; } = true;

    /// <summary>Load the model and run one prediction when the host starts, so the first request does not pay for it. Default true.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>The engine <see cref="Engine"/> resolves to for <see cref="Model"/>: <c>torch</c> or <c>onnx</c>.</summary>
    public string ResolvedEngine => Engine == "auto"
        ? Model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? "onnx" : "torch"
        : Engine;

    /// <summary>Every problem with the settings, each naming the setting (<paramref name="section"/>:Name); empty when they are usable.</summary>
    public IReadOnlyList<string> Validate(string section = "EmotionRecognizer")
    {
        var problems = new List<string>();
        void Problem(string name, string text) => problems.Add($"{section}:{name} {text}");
        if (string.IsNullOrWhiteSpace(Model)) Problem(nameof(Model), "is required: a model directory, a Hub id (org/name) or an exported .onnx file");
        if (Engine is not ("auto" or "torch" or "onnx")) Problem(nameof(Engine), $"must be auto, torch or onnx, got '{Engine}'");
        if (!EmotionRecognizerOptions.IsDeviceName(Device))
            Problem(nameof(Device), $"must be cpu, cuda or cuda:N, got '{Device}'");
        if (DType is not ("float32" or "bfloat16")) Problem(nameof(DType), $"must be float32 or bfloat16, got '{DType}'");
        if (ResolvedEngine == "torch" && !PrepackWeights) Problem(nameof(PrepackWeights), "applies to the ONNX engine (ONNX Runtime's prepacked weights)");
        if (ResolvedEngine == "onnx" && DType != "float32") Problem(nameof(DType), "applies to the TorchSharp engine; an ONNX file keeps the precision it was exported with");
        if (!(double.IsFinite(MaxWindowSeconds) && MaxWindowSeconds >= 0)) Problem(nameof(MaxWindowSeconds), $"must be 0 (never split) or a positive number of seconds, got {MaxWindowSeconds}");
        if (BatchSize < 1) Problem(nameof(BatchSize), $"must be at least 1, got {BatchSize}");
        if (Threads is < 1) Problem(nameof(Threads), $"must be at least 1 when set, got {Threads}");
        if (QueueCapacity < 1) Problem(nameof(QueueCapacity), $"must be at least 1, got {QueueCapacity}");
        return problems;
    }
}

/// <summary>Runs <see cref="EmotionRecognizerServiceOptions.Validate"/> for the options system (and so for ValidateOnStart).</summary>
internal sealed class EmotionRecognizerOptionsValidator(string section) : IValidateOptions<EmotionRecognizerServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, EmotionRecognizerServiceOptions options)
    {
        var problems = options.Validate(section);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
