using System.Text.Json;
using SerMtl.Data.Audio;
using SerMtl.Inference;
using SerMtl.Modeling;

namespace SerMtl.Onnx.Tests;

/// <summary>
/// <see cref="OnnxSpeechEncoder"/> on a backbone's or a recogniser's export gives what the TorchSharp model gives:
/// <c>Wav2Vec2Model.Embed</c>'s frames and <c>Wav2Vec2ForCtc.Transcribe</c>'s transcripts (HF's, per the fixtures),
/// whatever the batch size.
/// </summary>
public sealed class SpeechEncoderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sermtl-onnx-encoder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<float[]> Waves(string directory) =>
        Directory.GetFiles(directory, "*.wav").Order(StringComparer.Ordinal).Select(f => WavReader.Read(f).Samples).ToList();

    [Theory]
    [InlineData("wav2vec2/tiny-group", 1)]
    [InlineData("wav2vec2/tiny-odd-layer", 3)]
    public void Embed_EqualsTheTorchSharpBackbone(string fixture, int batchSize)
    {
        var directory = Path.Combine(TestPaths.Fixtures, fixture);
        var path = Path.Combine(_dir, "backbone.onnx");
        OnnxExporter.Export(directory, path);
        var waves = Waves(directory);
        using var model = Wav2Vec2Model.FromPretrained(directory);
        var expected = model.Embed(waves);
        using var encoder = OnnxSpeechEncoder.Load(path, new OnnxRecognizerOptions { BatchSize = batchSize });
        var actual = encoder.Embed(waves);
        Assert.Equal(ModelTask.Features, encoder.ModelInfo.Task);
        Assert.Equal(waves.Count, actual.Count);
        for (var i = 0; i < waves.Count; i++)
        {
            Assert.Equal(expected[i].shape, new long[] { actual[i].GetLength(0), actual[i].GetLength(1) });
            var want = expected[i].data<float>().ToArray();
            var got = actual[i].Cast<float>().ToArray();
            var worst = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-4, $"utterance {i}: largest difference {worst:G3}");
            expected[i].Dispose();
        }
        Assert.Throws<InvalidOperationException>(() => encoder.Transcribe(waves));
        Assert.Throws<ArgumentException>(() => encoder.Embed([new float[encoder.ModelInfo.ReceptiveField - 1]]));
    }

    [Theory]
    [InlineData("wav2vec2/tiny-hubert-ctc")]
    [InlineData("wavlm/tiny-wavlm-ctc")]
    public void Transcribe_EqualsTheTorchSharpRecogniserAndHf(string fixture)
    {
        var directory = Path.Combine(TestPaths.Fixtures, fixture);
        var path = Path.Combine(_dir, "ctc.onnx");
        OnnxExporter.Export(directory, path);
        var waves = Waves(directory);
        using var model = Wav2Vec2ForCtc.FromPretrained(directory);
        using var encoder = OnnxSpeechEncoder.Load(path, new OnnxRecognizerOptions { BatchSize = 2 });
        var actual = encoder.Transcribe(waves);
        Assert.Equal(model.Transcribe(waves), actual);
        var hf = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(directory, "expected_transcripts.json")))!;
        Assert.Equal(new[] { "a", "b", "c" }.Select(k => hf[k]), actual);
        Assert.Throws<InvalidOperationException>(() => encoder.Embed(waves));
    }

    [Fact]
    public void Load_EmotionModel_PointsToTheRecognizer_AndDisposeRefusesLaterCalls()
    {
        var path = Path.Combine(_dir, "emotion.onnx");
        OnnxExporter.Export(Path.Combine(TestPaths.Fixtures, "wav2vec2/tiny-seqcls-group"), path);
        var e = Assert.Throws<InvalidDataException>(() => OnnxSpeechEncoder.Load(path));
        Assert.Contains("run it with OnnxEmotionRecognizer", e.Message, StringComparison.Ordinal);

        var backbone = Path.Combine(_dir, "backbone.onnx");
        OnnxExporter.Export(TestPaths.TinyGroup, backbone);
        var encoder = OnnxSpeechEncoder.Load(backbone);
        encoder.Dispose();
        encoder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => encoder.Embed(Waves(TestPaths.TinyGroup)));
    }
}
