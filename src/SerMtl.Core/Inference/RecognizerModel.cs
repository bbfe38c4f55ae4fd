using System.Text.Json.Nodes;
using SerMtl.Checkpoints;
using SerMtl.Data.Text;
using SerMtl.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Inference;

/// <summary>What <see cref="EmotionRecognizer"/> needs of one forward pass: class logits, CTC logits when the model has a CTC head, valid frames.</summary>
internal sealed class RecognizerOutput(Tensor logits, Tensor? ctcLogits, Tensor frameLengths) : IDisposable
{
    public Tensor Logits { get; } = logits;           // [B, C]
    public Tensor? CtcLogits { get; } = ctcLogits;    // [B, T, V] or null
    public Tensor FrameLengths { get; } = frameLengths; // [B]

    public void Dispose()
    {
        Logits.Dispose();
        CtcLogits?.Dispose();
        FrameLengths.Dispose();
    }
}

/// <summary>The kinds of head a recognizer model has, with what an exporter must know of each.</summary>
internal abstract record RecognizerHead
{
    /// <summary>SerMtl's emotion head (sum or mean pooling) and CTC head.</summary>
    public sealed record SerMtl(Pooling Pooling) : RecognizerHead;

    /// <summary>HF's sequence-classification head: optional weighted layer sum, projector, mean pooling, classifier.</summary>
    public sealed record Sequence(bool WeightedLayerSum) : RecognizerHead;

    /// <summary>The speech-classification head: mean/sum/max pooling, dense, tanh, out_proj.</summary>
    public sealed record Speech(string Pooling) : RecognizerHead;
}

/// <summary>
/// The models a recognizer runs: SerMtl's own (emotion and CTC heads), HF's <c>Wav2Vec2ForSequenceClassification</c> /
/// <c>HubertForSequenceClassification</c>, and the classifying <c>Wav2Vec2ForSpeechClassification</c>.
/// </summary>
internal abstract class RecognizerModel : IDisposable
{
    public abstract nn.Module Module { get; }

    public abstract Wav2Vec2Model Backbone { get; }

    public abstract IReadOnlyList<string> Labels { get; }

    /// <summary>The model's class name as checkpoints name it (SerMtlModel, Wav2Vec2ForSequenceClassification, ...).</summary>
    public abstract string Architecture { get; }

    /// <summary>True when the outputs are scores (a regression model), not class logits.</summary>
    public virtual bool IsRegression => false;

    /// <summary>The CTC vocabulary, or null for a model without a CTC head (no transcript).</summary>
    public abstract CharacterVocabulary? Vocabulary { get; }

    public Device Device => Backbone.parameters().First().device;

    public abstract RecognizerOutput Forward(Tensor waveforms, Tensor? lengths);

    /// <summary>The head on the backbone, as an exporter needs to know it.</summary>
    public abstract RecognizerHead Head { get; }

    /// <summary>Wraps a model the caller keeps owning (do not dispose the wrapper).</summary>
    public static RecognizerModel Wrap(SerMtlModel model) => new SerMtlHeads(model);

    /// <inheritdoc cref="Wrap(SerMtlModel)"/>
    public static RecognizerModel Wrap(Wav2Vec2ForSequenceClassification model) => new SequenceClassifier(model);

    /// <inheritdoc cref="Wrap(SerMtlModel)"/>
    public static RecognizerModel Wrap(Wav2Vec2ForSpeechClassification model) => new SpeechClassifier(model);

    public void Dispose() => Module.Dispose();

    /// <summary>
    /// Loads what <paramref name="directoryOrHubId"/> holds, decided by its config.json: a SerMtl model (its
    /// <c>sermtl</c> section) or an HF <c>Wav2Vec2ForSequenceClassification</c> (its <c>architectures</c>).
    /// </summary>
    public static RecognizerModel Load(string directoryOrHubId, Device device)
    {
        var directory = ModelLocator.Resolve(directoryOrHubId);
        var configPath = Path.Combine(directory, "config.json");
        var architectures = ForeignArchitectures(directory);
        if (architectures.Any(Wav2Vec2ForSequenceClassification.Architectures.Contains))
            return new SequenceClassifier(Wav2Vec2ForSequenceClassification.FromPretrained(directory, new Wav2Vec2LoadOptions { Device = device }));
        if (architectures.Any(Wav2Vec2ForSpeechClassification.Architectures.Contains))
            return new SpeechClassifier(Wav2Vec2ForSpeechClassification.FromPretrained(directory, new Wav2Vec2LoadOptions { Device = device }));
        if (architectures.FirstOrDefault(Wav2Vec2ForCtc.Architectures.Contains) is { } recogniser)
            throw new InvalidDataException(
                $"{configPath}: {recogniser} is a speech recogniser without an emotion head; transcribe with Wav2Vec2ForCtc, "
                + "or fine-tune it for emotions (SerMtlModel.FromPretrained, sermtl train --backbone), which keeps its CTC head and tokenizer");
        return new SerMtlHeads(SerMtlModel.Load(directory, device));
    }

    /// <summary>
    /// The <c>architectures</c> a local model directory's config.json lists, or none when the file is missing,
    /// malformed (the loader names the problem) or a SerMtl model's (its <c>sermtl</c> section decides).
    /// </summary>
    internal static IReadOnlyList<string> ForeignArchitectures(string directory)
    {
        var configPath = Path.Combine(directory, "config.json");
        JsonObject? config = null;
        try
        {
            if (File.Exists(configPath)) config = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            config = null;
        }
        if (config is null || config[SerMtlModel.ConfigSection] is not null) return [];
        return (config["architectures"] as JsonArray)?.Select(a => a?.ToString() ?? "").ToList() ?? [];
    }

    private sealed class SerMtlHeads(SerMtlModel model) : RecognizerModel
    {
        public override nn.Module Module => model;
        public override Wav2Vec2Model Backbone => model.Backbone;
        public override IReadOnlyList<string> Labels => model.Labels;
        public override string Architecture => nameof(SerMtlModel);
        public override RecognizerHead Head => new RecognizerHead.SerMtl(model.Pooling);
        public override CharacterVocabulary? Vocabulary => model.Vocabulary;

        public override RecognizerOutput Forward(Tensor waveforms, Tensor? lengths)
        {
            var output = model.call(waveforms, lengths);
            return new RecognizerOutput(output.EmotionLogits, output.CtcLogits, output.FrameLengths);
        }
    }

    private sealed class SpeechClassifier(Wav2Vec2ForSpeechClassification model) : RecognizerModel
    {
        public override nn.Module Module => model;
        public override bool IsRegression => model.IsRegression;
        public override Wav2Vec2Model Backbone => model.Backbone;
        public override IReadOnlyList<string> Labels => model.Labels;
        public override string Architecture => Wav2Vec2ForSpeechClassification.Architecture;
        public override RecognizerHead Head => new RecognizerHead.Speech(model.Pooling);
        public override CharacterVocabulary? Vocabulary => null;

        public override RecognizerOutput Forward(Tensor waveforms, Tensor? lengths) =>
            new(model.call(waveforms, lengths), null, FrameLengths(model.Backbone, waveforms, lengths));
    }

    /// <summary>Valid frames per utterance, from the valid samples (for models whose output does not carry them).</summary>
    private static Tensor FrameLengths(Wav2Vec2Model backbone, Tensor waveforms, Tensor? lengths)
    {
        var samples = lengths?.cpu().data<long>().ToArray() ?? Enumerable.Repeat(waveforms.shape[1], (int)waveforms.shape[0]).ToArray();
        return tensor(samples.Select(backbone.Config.OutputLength).ToArray(), device: waveforms.device);
    }

    private sealed class SequenceClassifier(Wav2Vec2ForSequenceClassification model) : RecognizerModel
    {
        public override nn.Module Module => model;
        public override Wav2Vec2Model Backbone => model.Backbone;
        public override IReadOnlyList<string> Labels => model.Labels;
        public override string Architecture => Wav2Vec2ForSequenceClassification.Architecture;
        public override RecognizerHead Head => new RecognizerHead.Sequence(model.UseWeightedLayerSum);
        public override CharacterVocabulary? Vocabulary => null;

        public override RecognizerOutput Forward(Tensor waveforms, Tensor? lengths) =>
            new(model.call(waveforms, lengths), null, FrameLengths(model.Backbone, waveforms, lengths));
    }
}
