using System.CommandLine;
using System.Globalization;
using SerMtl.Inference;
using SerMtl.Onnx;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl export</c>: a model as one ONNX file for ONNX Runtime.</summary>
internal sealed class ExportCommand : SermtlCommand
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Option<string> _model = CliOption.Required("--model", "DIR|ID", "the model: " + ModelArgs.DirOrHubId);
    private readonly Option<string> _onnx = CliOption.Required("--onnx", "FILE", "the ONNX file to write (replaced if it exists)");
    private readonly Option<bool> _int8 = CliOption.Flag("--int8", "int8 weights for the transformer's linear layers, their inputs quantized at run time (smaller, faster on CPUs)");

    public ExportCommand(TextWriter? output = null, TextWriter? errors = null)
        : base("export", "Export a model as one ONNX file (float32 or int8) for ONNX Runtime", """
            Writes the model (a SerMtl model from 'sermtl train', 'cv' or 'demo', or a HuggingFace
            *ForSequenceClassification / *ForSpeechClassification checkpoint on a wav2vec 2.0, HuBERT or WavLM backbone)
            as one ONNX file: inputs waveforms [batch, samples] and lengths [batch], outputs logits (or scores),
            ctc_logits where the model has a CTC head, and frame_lengths; labels, vocabulary and preprocessing in its
            metadata. 'sermtl predict --model FILE.onnx' and OnnxEmotionRecognizer (SerMtl.OnnxRuntime) run it without
            libtorch. A speech recogniser (*ForCTC) exports as ctc_logits and frame_lengths, a bare backbone
            (Wav2Vec2Model, HubertModel, WavLMModel, Wav2Vec2ForPreTraining) as last_hidden_state and frame_lengths:
            OnnxSpeechEncoder (SerMtl.OnnxRuntime) runs those (Embed, Transcribe); they have no emotion output for 'predict'.

            Examples:
              sermtl export --model out/demo/model --onnx out/demo/model.onnx
              sermtl export --model superb/wav2vec2-base-superb-er --onnx er-int8.onnx --int8
            """)
    {
        _out = output ?? Console.Out;
        _err = errors ?? Console.Error;
        Add(_model);
        Add(_onnx);
        Add(_int8);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var model = ModelArgs.Resolve(parse.GetRequiredValue(_model), _err, cancellationToken);
        var path = parse.GetRequiredValue(_onnx);
        if (Directory.Exists(path)) throw new UsageException($"--onnx {path} is a directory; give the file to write");
        var result = OnnxExporter.Export(model, path, new OnnxExportOptions { Int8 = parse.GetValue(_int8) });
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {result.Path} ({result.Bytes / 1e6:0.0} MB, {(parse.GetValue(_int8) ? "int8" : "float32")}): {result.Model.Architecture}, outputs {string.Join(", ", result.Outputs)}; {What(result.Model)}"));
        return ExitCodes.Success;
    }

    private static string What(RecognizerModelInfo model) => model.Task switch
    {
        ModelTask.Transcription => $"a speech recogniser over {model.Vocabulary!.Count} tokens (no emotion output)",
        ModelTask.Features => "a backbone's frame features (no emotion output)",
        _ => $"labels {string.Join(", ", model.Labels)}",
    };
}
