using SerMtl.Checkpoints;
using SerMtl.Data.Text;
using SerMtl.Text;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// HuggingFace's speech recognisers <c>Wav2Vec2ForCTC</c>, <c>HubertForCTC</c> and <c>WavLMForCTC</c> (e.g.
/// <c>facebook/wav2vec2-base-960h</c>): the backbone, then <c>lm_head</c> maps each frame to its tokenizer's
/// characters; <see cref="Transcribe"/> decodes the most likely token per frame as HF's
/// <c>Wav2Vec2CTCTokenizer</c> does (repeats merged, the blank dropped, the word delimiter a space). Such a model has no
/// emotion head: to recognise emotions, fine-tune it with <see cref="SerMtlModel.FromPretrained"/>, which keeps its
/// CTC head and tokenizer for the paper's multi-task loss.
/// </summary>
public sealed class Wav2Vec2ForCtc : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary>The <c>architectures</c> entries this class loads.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["Wav2Vec2ForCTC", "HubertForCTC", "WavLMForCTC"];

    [ComponentName(Name = "wav2vec2")]
    private readonly Wav2Vec2Model _backbone;

    [ComponentName(Name = "lm_head")]
    private readonly CtcHead _lmHead;

    /// <summary>A freshly initialised CTC head over <paramref name="vocabulary"/> on <paramref name="backbone"/> (which the model then owns).</summary>
    public Wav2Vec2ForCtc(Wav2Vec2Model backbone, CharacterVocabulary vocabulary) : base("Wav2Vec2ForCTC")
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(vocabulary);
        _backbone = backbone;
        Vocabulary = vocabulary;
        var config = backbone.Config;
        _lmHead = new CtcHead(config.HiddenSize, vocabulary.Count, config.FinalDropout, config.InitializerRange);
        RegisterComponents();
    }

    /// <summary>The backbone.</summary>
    public Wav2Vec2Model Backbone => _backbone;

    /// <summary>The tokenizer's characters, in <c>lm_head</c>'s row order.</summary>
    public CharacterVocabulary Vocabulary { get; }

    /// <summary>waveforms [B, S] preprocessed, lengths [B] valid samples (or null). Returns the logits [B, T, V]; frames past an utterance's length are padding.</summary>
    public override Tensor forward(Tensor waveforms, Tensor? lengths)
    {
        using var output = _backbone.call(waveforms, lengths);
        return _lmHead.call(output.LastHiddenState);
    }

    /// <summary>
    /// The greedy transcript of each waveform (mono samples at the model's sampling rate), in input order: run in
    /// evaluation mode without gradients in padded batches of up to <paramref name="batchSize"/> utterances of similar
    /// length (the results do not depend on the batching). The model's training mode is restored.
    /// </summary>
    /// <exception cref="ArgumentException">A waveform is null or shorter than the feature encoder's receptive field.</exception>
    public IReadOnlyList<string> Transcribe(IReadOnlyList<float[]> waveforms, int batchSize = 8)
    {
        var texts = new string[waveforms?.Count ?? 0];
        _backbone.RunBatches(waveforms!, batchSize, this, (chunk, output) =>
        {
            var decoded = CtcGreedyDecoder.Decode(_lmHead.call(output.LastHiddenState), output.FrameLengths, Vocabulary);
            for (var j = 0; j < chunk.Length; j++) texts[chunk[j]] = decoded[j];
        });
        return texts;
    }

    /// <summary>
    /// Loads a <c>*ForCTC</c> checkpoint from a directory or Hub id: the backbone as
    /// <see cref="Wav2Vec2Model.FromPretrained(string, Wav2Vec2LoadOptions?)"/> does, <c>lm_head</c> from the same
    /// weights, the tokenizer from <c>vocab.json</c> and <c>tokenizer_config.json</c> (see
    /// <see cref="CharacterVocabulary.LoadPretrained"/>). Returns the model in evaluation mode.
    /// </summary>
    /// <exception cref="InvalidDataException">The config names another architecture, the checkpoint has no
    /// <c>lm_head</c>, the directory has no <c>vocab.json</c>, or the head's rows and the tokenizer's tokens differ in number.</exception>
    public static Wav2Vec2ForCtc FromPretrained(string directoryOrHubId, Wav2Vec2LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directoryOrHubId);
        var directory = ModelLocator.Resolve(directoryOrHubId);
        var configPath = Path.Combine(directory, "config.json");
        var config = HeadConfig.Read(configPath);
        if (config["architectures"] is System.Text.Json.Nodes.JsonArray listed && !listed.Any(a => Architectures.Contains(a?.ToString())))
            throw new InvalidDataException($"{configPath}: architectures [{string.Join(", ", listed)}] names no speech recogniser ({string.Join(", ", Architectures)})");
        if (!File.Exists(Path.Combine(directory, "vocab.json")))
            throw new InvalidDataException($"{directory}: no vocab.json; a CTC model needs its tokenizer to turn lm_head's rows into characters");
        var vocabulary = CharacterVocabulary.LoadPretrained(directory);

        var backbone = Wav2Vec2Model.FromPretrained(directory, out var lmHead, options);
        Wav2Vec2ForCtc? model = null;
        try
        {
            if (lmHead is null)
                throw new InvalidDataException($"{directory}: the checkpoint has no lm_head (a pretrained backbone, not a speech recogniser)");
            if (lmHead.TryGetValue("weight", out var weight) && weight.shape[0] != vocabulary.Count)
                throw new InvalidDataException($"{directory}: lm_head has {weight.shape[0]} rows but vocab.json {vocabulary.Count} tokens");
            model = new Wav2Vec2ForCtc(backbone, vocabulary);
            if (options?.Device is { } device) _ = model._lmHead.to(device);
            model._lmHead.LoadFrom(lmHead, Path.Combine(directory, "lm_head"));
            model.eval();
            return model;
        }
        catch
        {
            if (model is null) backbone.Dispose();
            model?.Dispose();
            throw;
        }
        finally
        {
            if (lmHead is not null)
                foreach (var t in lmHead.Values) t.Dispose();
        }
    }
}
