using System.Reflection;
using Google.Protobuf;
using SerMtl.Inference;
using SerMtl.Modeling;
using SerMtl.Onnx.Format;
using TorchSharp;
using DataType = SerMtl.Onnx.Format.Tensor.Types.DataType;

namespace SerMtl.Onnx;

/// <summary>How <see cref="OnnxExporter"/> writes a model.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Write the transformer's linear layers (attention and feed-forward) with int8 weights, per output channel, and
    /// quantize their inputs at run time (dynamic quantization: DynamicQuantizeLinear + MatMulInteger). About a quarter
    /// of the file size and faster on CPUs; probabilities move by about 1e-2. Convolutions, norms and heads stay float32.
    /// </summary>
    public bool Int8 { get; init; }
}

/// <summary>What <see cref="OnnxExporter"/> wrote.</summary>
/// <param name="Path">The ONNX file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Model">The model description in its metadata.</param>
/// <param name="Outputs">The graph's output names, in order.</param>
public sealed record OnnxExportResult(string Path, long Bytes, RecognizerModelInfo Model, IReadOnlyList<string> Outputs);

/// <summary>
/// Writes a speech-emotion model as one self-contained ONNX file (IR 8, opset 17): inputs <c>waveforms</c>
/// [batch, samples] float32 (preprocessed: normalised per utterance when the model's preprocessing says so, padded
/// on the right) and <c>lengths</c> [batch] int64 (valid samples); outputs <c>logits</c> [batch, labels] (or
/// <c>scores</c> for a regression model), <c>ctc_logits</c> [batch, frames, vocabulary] for a model with a CTC head,
/// and <c>frame_lengths</c> [batch] int64. Batch and length are dynamic. The graph keeps SerMtl's masking, so an
/// utterance in a padded batch gets what it gets alone (group-norm models too). Labels, vocabulary, preprocessing and
/// the feature encoder's geometry are in the metadata (<see cref="RecognizerModelInfo.MetadataKey"/>).
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ONNX IR version written.</summary>
    public const long IrVersion = 8;

    /// <summary>The default-domain opset written.</summary>
    public const long Opset = 17;

    /// <summary>
    /// Exports what <paramref name="modelDirectoryOrHubId"/> holds: what <c>EmotionRecognizer.Load</c> loads (a SerMtl
    /// model with emotion and CTC heads, or a HuggingFace <c>*ForSequenceClassification</c> /
    /// <c>*ForSpeechClassification</c> checkpoint), a speech recogniser (<c>*ForCTC</c>: CTC logits only) or a bare
    /// backbone (<c>Wav2Vec2Model</c>, <c>HubertModel</c>, <c>WavLMModel</c>, <c>Wav2Vec2ForPreTraining</c>: the last
    /// hidden state), on a wav2vec 2.0, HuBERT or WavLM backbone; the config's <c>architectures</c> decide.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist (and it is not a Hub id).</exception>
    /// <exception cref="InvalidDataException">The directory holds no model SerMtl loads, or a malformed file; the message says which.</exception>
    public static OnnxExportResult Export(string modelDirectoryOrHubId, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelDirectoryOrHubId);
        ArgumentNullException.ThrowIfNull(outputPath);
        options ??= new OnnxExportOptions();
        var directory = Checkpoints.ModelLocator.Resolve(modelDirectoryOrHubId);
        var architectures = RecognizerModel.ForeignArchitectures(directory);
        if (architectures.Any(Wav2Vec2ForCtc.Architectures.Contains))
        {
            using var recogniser = Wav2Vec2ForCtc.FromPretrained(directory);
            return Export(recogniser, outputPath, options);
        }
        if (architectures.Any(BackboneArchitectures.Contains))
        {
            using var backbone = Wav2Vec2Model.FromPretrained(directory);
            return Export(backbone, outputPath, options);
        }
        using var model = RecognizerModel.Load(directory, torch.CPU);
        return Write(model.Backbone, model.Module, model.Head, EmotionRecognizer.ModelInfoOf(model), modelDirectoryOrHubId, outputPath, options);
    }

    /// <summary>The <c>architectures</c> of a checkpoint <see cref="Export(string, string, OnnxExportOptions?)"/> exports as a bare backbone.</summary>
    public static IReadOnlyList<string> BackboneArchitectures { get; } = ["Wav2Vec2Model", "HubertModel", "WavLMModel", "Wav2Vec2ForPreTraining"];

    /// <summary>Exports a SerMtl model (emotion head and CTC head).</summary>
    public static OnnxExportResult Export(SerMtlModel model, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return WriteEmotionModel(RecognizerModel.Wrap(model), nameof(SerMtlModel), outputPath, options);
    }

    /// <summary>Exports an HF sequence-classification model (wav2vec 2.0, HuBERT or WavLM backbone).</summary>
    public static OnnxExportResult Export(Wav2Vec2ForSequenceClassification model, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return WriteEmotionModel(RecognizerModel.Wrap(model), model.GetName(), outputPath, options);
    }

    /// <summary>Exports a speech-classification model (classifier or regression).</summary>
    public static OnnxExportResult Export(Wav2Vec2ForSpeechClassification model, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return WriteEmotionModel(RecognizerModel.Wrap(model), model.GetName(), outputPath, options);
    }

    /// <summary>
    /// Exports a speech recogniser (<see cref="ModelTask.Transcription"/>): outputs <c>ctc_logits</c> [batch, frames,
    /// vocabulary] and <c>frame_lengths</c>; the vocabulary is in the metadata. It has no emotion output, so
    /// <c>OnnxEmotionRecognizer</c> refuses it; <c>OnnxSpeechEncoder.Transcribe</c> runs it.
    /// </summary>
    public static OnnxExportResult Export(Wav2Vec2ForCtc model, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var info = EmotionRecognizer.ModelInfoOf(model.Backbone, ArchitectureName(model.Backbone.Config, "ForCTC"), ModelTask.Transcription, [], model.Vocabulary);
        return Write(model.Backbone, model, head: null, info, model.GetName(), outputPath, options ?? new OnnxExportOptions());
    }

    /// <summary>
    /// Exports a bare backbone (<see cref="ModelTask.Features"/>): outputs <c>last_hidden_state</c> [batch, frames,
    /// hidden] (frames past an utterance's <c>frame_lengths</c> are padding) and <c>frame_lengths</c>;
    /// <c>OnnxSpeechEncoder.Embed</c> runs it.
    /// </summary>
    public static OnnxExportResult Export(Wav2Vec2Model model, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var info = EmotionRecognizer.ModelInfoOf(model, ArchitectureName(model.Config, "Model"), ModelTask.Features, [], null);
        return Write(model, model, head: null, info, model.GetName(), outputPath, options ?? new OnnxExportOptions());
    }

    /// <summary>HF's class name for the backbone's kind with <paramref name="suffix"/> (Wav2Vec2ForCTC, HubertModel, WavLMForCTC, ...).</summary>
    private static string ArchitectureName(Wav2Vec2Config config, string suffix) => config.ModelType switch
    {
        "hubert" => "Hubert",
        "wavlm" => "WavLM",
        _ => "Wav2Vec2",
    } + suffix;

    private static OnnxExportResult WriteEmotionModel(RecognizerModel model, string source, string outputPath, OnnxExportOptions? options) =>
        Write(model.Backbone, model.Module, model.Head, EmotionRecognizer.ModelInfoOf(model), source, outputPath, options ?? new OnnxExportOptions());

    /// <summary>
    /// Writes the backbone and the head: <paramref name="head"/> for an emotion model; null for a transcriber (the
    /// module's <c>lm_head</c>) or a bare backbone, as <paramref name="info"/>'s task says.
    /// </summary>
    private static OnnxExportResult Write(Wav2Vec2Model backboneModel, torch.nn.Module module, RecognizerHead? head, RecognizerModelInfo info,
        string source, string outputPath, OnnxExportOptions options)
    {
        var graph = new OnnxGraph("sermtl");
        var waveforms = graph.Input("waveforms", DataType.Float, "batch", "samples");
        var lengths = graph.Input("lengths", DataType.Int64, "batch");
        var backbone = new Wav2Vec2Graph(graph, new Weights(backboneModel, source), backboneModel.Config, options.Int8);
        var heads = new Weights(module, source);
        var outputs = new List<string>();
        void Output(string name, string value, DataType type, params object[] dims)
        {
            graph.Output(name, value, type, dims);
            outputs.Add(name);
        }

        var states = head is RecognizerHead.Sequence { WeightedLayerSum: true };
        var x = backbone.Write(waveforms, lengths, states);
        var frameCount = graph.Cast(x.FrameLengths, DataType.Float);                        // [B]
        string Pool(string hidden, string mode) => mode switch                             // [B, T, D] -> [B, D]
        {
            "max" => graph.Op("ReduceMax", [graph.Op("Where", [x.ValidFrames, hidden, graph.FloatScalar(float.NegativeInfinity)])], ("axes", new long[] { 1 }), ("keepdims", 0L)),
            "sum" => graph.ReduceSum(graph.Op("Where", [x.ValidFrames, hidden, graph.FloatScalar(0f)]), 1, keepDims: false),
            _ => graph.Div(graph.ReduceSum(graph.Op("Where", [x.ValidFrames, hidden, graph.FloatScalar(0f)]), 1, keepDims: false), graph.Unsqueeze(frameCount, 1)),
        };

        string logits;
        switch (head)
        {
            case null when info.Task == ModelTask.Transcription:
                Output("ctc_logits", Linear(graph, heads, "lm_head", x.Hidden), DataType.Float, "batch", "frames", info.Vocabulary!.Count);
                break;
            case null when info.Task == ModelTask.Features:
                Output("last_hidden_state", x.Hidden, DataType.Float, "batch", "frames", backboneModel.Config.HiddenSize);
                break;
            case RecognizerHead.SerMtl serMtl:
                logits = Linear(graph, heads, "emotion_head", Pool(x.Hidden, serMtl.Pooling == Pooling.Mean ? "mean" : "sum"));
                Output("logits", logits, DataType.Float, "batch", info.Labels.Count);
                Output("ctc_logits", Linear(graph, heads, "lm_head", x.Hidden), DataType.Float, "batch", "frames", info.Vocabulary!.Count);
                break;
            case RecognizerHead.Sequence sequence:
                var hidden = x.Hidden;
                if (sequence.WeightedLayerSum)
                {
                    var (w, _) = heads.Read("layer_weights");
                    var max = w.Max();
                    var exp = w.Select(v => Math.Exp(v - (double)max)).ToArray();
                    hidden = x.States.Select((state, l) => graph.Mul(state, graph.FloatScalar((float)(exp[l] / exp.Sum())))).Aggregate(graph.Add);
                }
                logits = Linear(graph, heads, "classifier", Pool(Linear(graph, heads, "projector", hidden), "mean"));
                Output("logits", logits, DataType.Float, "batch", info.Labels.Count);
                break;
            case RecognizerHead.Speech speech:
                var dense = graph.Op("Tanh", [Linear(graph, heads, "classifier.dense", Pool(x.Hidden, speech.Pooling))]);
                logits = Linear(graph, heads, "classifier.out_proj", dense);
                Output(info.IsRegression ? "scores" : "logits", logits, DataType.Float, "batch", info.Labels.Count);
                break;
            default:
                throw new NotSupportedException($"{source}: {info.Architecture} has no ONNX export");
        }
        Output("frame_lengths", x.FrameLengths, DataType.Int64, "batch");

        var proto = new Model
        {
            IrVersion = IrVersion,
            ProducerName = "SerMtl",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            Graph = graph.Proto,
            DocString = $"{info.Architecture} exported by SerMtl{(options.Int8 ? " (int8 linear layers)" : "")}",
        };
        proto.OpsetImport.Add(new OpsetId { Domain = "", Version = Opset });
        proto.MetadataProps.Add(new StringPair { Key = RecognizerModelInfo.MetadataKey, Value = info.ToJson() });
        proto.MetadataProps.Add(new StringPair { Key = "sermtl.precision", Value = options.Int8 ? "int8" : "float32" });

        var directory = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (directory is not null) Directory.CreateDirectory(directory);
        // Written beside the target and renamed, so a failed export never leaves half a model under the name.
        var temporary = outputPath + ".partial";
        using (var stream = File.Create(temporary))
            proto.WriteTo(stream);
        File.Move(temporary, outputPath, overwrite: true);
        return new OnnxExportResult(outputPath, new FileInfo(outputPath).Length, info, outputs);
    }

    private static string Linear(OnnxGraph graph, Weights weights, string prefix, string x)
    {
        var (w, shape) = weights.Read($"{prefix}.weight");
        var (b, _) = weights.Read($"{prefix}.bias");
        return graph.Add(graph.MatMul(x, graph.Weight($"head.{prefix}.weight", Weights.Transposed(w, shape[0], shape[1]), shape[1], shape[0])),
            graph.Weight($"head.{prefix}.bias", b, shape[0]));
    }
}
