using System.Text.Json;
using SerMtl.Checkpoints;
using SerMtl.Data.Audio;
using SerMtl.Data.Text;
using SerMtl.Inference;
using SerMtl.Modeling;
using SerMtl.Text;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// <c>*ForCTC</c> checkpoints with their own tokenizer (tiny-wavlm-ctc: lower-case letters, <c>[PAD]</c> = 29 the blank;
/// tiny-hubert-ctc: lower-case letters, <c>&lt;pad&gt;</c> = 0, <c>&lt;unk&gt;</c> kept as HF writes it):
/// logits and greedy transcripts against torchaudio 2.6 and HF's decoding rules (expected_transcripts.json), and
/// fine-tuning from such a checkpoint keeping its head and tokenizer.
/// </summary>
public class CtcModelTests
{
    private static string Folder => Path.Combine(TestPaths.Fixtures, "wavlm", "tiny-wavlm-ctc");

    private static readonly string[] Stems = ["a", "b", "c"];

    private static float[][] Waveforms(string? folder = null) => Stems.Select(s => AudioLoader.LoadMono(Path.Combine(folder ?? Folder, s + ".wav"))).ToArray();

    private static Dictionary<string, string> ExpectedTranscripts(string? folder = null) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(folder ?? Folder, "expected_transcripts.json")))!;

    [Theory]
    [InlineData("wavlm/tiny-wavlm-ctc", "[PAD]", 29)]
    [InlineData("wav2vec2/tiny-hubert-ctc", "<pad>", 0)]
    public void ForCtc_TranscribesAsTheReferenceDecodes_AloneAndBatched(string fixture, string blank, int blankId)
    {
        var folder = Path.Combine(TestPaths.Fixtures, fixture);
        using var model = Wav2Vec2ForCtc.FromPretrained(folder);
        Assert.Equal((blank, blankId), (model.Vocabulary.Blank, model.Vocabulary.BlankId));
        var expected = ExpectedTranscripts(folder);
        Assert.Contains(expected.Values, t => t.Contains(' ', StringComparison.Ordinal)); // the fixture has words, not one run
        var waves = Waveforms(folder);
        foreach (var batchSize in new[] { 1, 3 })
            Assert.Equal(Stems.Select(s => expected[s]), model.Transcribe(waves, batchSize));
    }

    [Theory]
    [InlineData("wavlm/tiny-wavlm-ctc")]
    [InlineData("wav2vec2/tiny-hubert-ctc")]
    public void ForCtc_Logits_MatchTheReference(string fixture)
    {
        var folder = Path.Combine(TestPaths.Fixtures, fixture);
        using var model = Wav2Vec2ForCtc.FromPretrained(folder);
        HeadParity.AloneAndBatched(folder, model.Backbone.Preprocessing, batch => model.call(batch.Waveforms, batch.Lengths), 1e-4, perFrame: true);
    }

    [Fact]
    public void ForCtc_NotARecogniser_OrWithoutTokenizer_SaysWhy()
    {
        var seqcls = Path.Combine(TestPaths.Fixtures, "wavlm", "tiny-wavlm-seqcls");
        Assert.Contains("names no speech recogniser", Assert.Throws<InvalidDataException>(() => Wav2Vec2ForCtc.FromPretrained(seqcls)).Message);

        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(Folder)) File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        File.Delete(Path.Combine(dir.Path, "vocab.json"));
        Assert.Contains("no vocab.json", Assert.Throws<InvalidDataException>(() => Wav2Vec2ForCtc.FromPretrained(dir.Path)).Message);
    }

    [Fact]
    public void EmotionRecognizer_OnASpeechRecogniser_PointsToTranscriptionAndFineTuning()
    {
        var e = Assert.Throws<InvalidDataException>(() => EmotionRecognizer.Load(Folder));
        Assert.Contains("WavLMForCTC is a speech recogniser without an emotion head", e.Message);
        Assert.Contains("SerMtlModel.FromPretrained", e.Message);
    }

    [Fact]
    public void SerMtlModel_FromAForCtcCheckpoint_KeepsItsHeadAndTokenizer_ThroughSaveAndLoad()
    {
        using var model = SerMtlModel.FromPretrained(Folder, new SerMtlModelOptions { Labels = TinyCorpus.Labels });
        Assert.Equal(30, model.Vocabulary.Count);
        Assert.Equal(29, model.Vocabulary.BlankId);
        Assert.Equal("wavlm", model.Backbone.Config.ModelType);
        var expected = ExpectedTranscripts();
        Assert.Equal(Stems.Select(s => expected[s]), Transcripts(model));

        using var dir = new TempDirectory();
        model.Save(dir.Path);
        Assert.Contains("\"pad_token\": \"[PAD]\"", File.ReadAllText(Path.Combine(dir.Path, "tokenizer_config.json")));
        using var loaded = SerMtlModel.Load(dir.Path);
        Assert.True(model.Vocabulary.HasSameTokens(loaded.Vocabulary));
        Assert.Equal(Stems.Select(s => expected[s]), Transcripts(loaded));
        using var recognizer = EmotionRecognizer.Load(dir.Path);
        Assert.Equal(expected["b"], recognizer.Predict(Path.Combine(Folder, "b.wav")).Transcript);
    }

    [Fact]
    public void SerMtlModel_WithAnotherVocabulary_StartsAFreshCtcHead()
    {
        random.manual_seed(5);
        using var model = SerMtlModel.FromPretrained(Folder,
            new SerMtlModelOptions { Labels = TinyCorpus.Labels, Vocabulary = CharacterVocabulary.Wav2Vec2Base960h });
        Assert.Equal(32, model.Vocabulary.Count);
        // A fresh head is drawn from N(0, 0.02²): far smaller than the checkpoint's rows.
        var head = model.state_dict()["lm_head.weight"];
        Assert.True(head.abs().max().item<float>() < 0.2f);
    }

    private static IReadOnlyList<string> Transcripts(SerMtlModel model)
    {
        model.eval(); // FromPretrained returns a model ready to train, dropout on
        using var _ = no_grad();
        using var batch = WaveformBatch.Create(Waveforms(), model.Backbone.Preprocessing);
        using var output = model.Forward(batch);
        return CtcGreedyDecoder.Decode(output.CtcLogits, output.FrameLengths, model.Vocabulary);
    }
}
