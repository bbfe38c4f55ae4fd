using Microsoft.ML.OnnxRuntime;
using SerMtl.Data.Audio;
using SerMtl.Inference;
using SerMtl.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Onnx.Tests;

/// <summary>
/// The exported graph, run by ONNX Runtime, gives what the TorchSharp model gives (itself checked against HF / torchaudio
/// fixtures), alone and in one padded batch, for every backbone × head SerMtl loads.
/// </summary>
public sealed class ExportParityTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string[] EmotionLabels = ["neu", "hap", "ang", "sad"];
    private readonly string _dir = Directory.CreateTempSubdirectory("sermtl-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> TaskFixtures => new()
    {
        "wav2vec2/tiny-seqcls-group",
        "wav2vec2/tiny-seqcls-layer",
        "wav2vec2/tiny-hubert-seqcls",
        "wav2vec2/tiny-hubert-speechcls",
        "wav2vec2/tiny-speechcls-dim",
        "wav2vec2/tiny-speechcls-max",
        "wavlm/tiny-wavlm-seqcls",
        "wavlm/tiny-wavlm-speechcls",
    };

    [Theory]
    [MemberData(nameof(TaskFixtures))]
    public void HfTaskModel_OnnxRuntimeMatchesTorchSharp_AloneAndBatched(string fixture)
    {
        var directory = Path.Combine(TestPaths.Fixtures, fixture);
        var path = Path.Combine(_dir, "model.onnx");
        var result = OnnxExporter.Export(directory, path);
        using var model = RecognizerModel.Load(directory, CPU);
        AssertParity(model, path, Waves(directory), result.Outputs[0]);
    }

    public static TheoryData<string, Pooling> Backbones => new()
    {
        { "wav2vec2/tiny-group", Pooling.Sum },
        { "wav2vec2/tiny-layer", Pooling.Mean },
        { "wav2vec2/tiny-odd-group", Pooling.Mean },
        { "wav2vec2/tiny-odd-layer", Pooling.Sum },
        { "wavlm/tiny-wavlm-ctc", Pooling.Mean },
    };

    [Theory]
    [MemberData(nameof(Backbones))]
    public void SerMtlModel_OnnxRuntimeMatchesTorchSharp_LogitsCtcLogitsAndFrameLengths(string backbone, Pooling pooling)
    {
        var directory = Path.Combine(TestPaths.Fixtures, backbone);
        torch.manual_seed(7);
        using var serMtl = SerMtlModel.FromPretrained(directory, new SerMtlModelOptions { Labels = EmotionLabels, Pooling = pooling });
        serMtl.eval();
        var path = Path.Combine(_dir, "sermtl.onnx");
        var result = OnnxExporter.Export(serMtl, path);
        Assert.Equal(["logits", "ctc_logits", "frame_lengths"], result.Outputs);
        Assert.Equal(EmotionLabels, result.Model.Labels);
        Assert.NotNull(result.Model.Vocabulary);
        AssertParity(RecognizerModel.Wrap(serMtl), path, Waves(directory), "logits");
    }

    [Fact]
    public void Export_WritesTheModelDescriptionIntoTheMetadata()
    {
        var directory = Path.Combine(TestPaths.Fixtures, "wav2vec2/tiny-speechcls-dim");
        var path = Path.Combine(_dir, "dim.onnx");
        OnnxExporter.Export(directory, path);
        using var session = OrtLog.Open(path, out _);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        var info = RecognizerModelInfo.FromJson(metadata[RecognizerModelInfo.MetadataKey], path);
        using var model = RecognizerModel.Load(directory, CPU);
        Assert.Equal(model.Labels, info.Labels);
        Assert.True(info.IsRegression);
        Assert.Equal(model.Backbone.Config.ReceptiveField, info.ReceptiveField);
        Assert.Equal(model.Backbone.Config.SamplesPerFrame, info.SamplesPerFrame);
        Assert.Equal(model.Backbone.Preprocessing.SamplingRate, info.SampleRate);
        Assert.Equal(["scores", "frame_lengths"], session.OutputNames);
        Assert.Equal("float32", metadata["sermtl.precision"]);
    }

    /// <summary>
    /// Logits (and CTC logits, frame lengths) of ONNX Runtime equal TorchSharp's within <see cref="Tolerance"/>, for each
    /// waveform alone and for all of them in one padded batch.
    /// </summary>
    private static void AssertParity(RecognizerModel model, string onnxPath, List<float[]> waves, string logitsName)
    {
        using var session = OrtLog.Open(onnxPath, out _);
        var batches = waves.Select(w => new List<float[]> { w }).Append(waves).ToList();
        foreach (var batchWaves in batches)
        {
            using var scope = NewDisposeScope();
            using var batch = WaveformBatch.Create(batchWaves, model.Backbone.Preprocessing);
            RecognizerOutput expected;
            using (no_grad()) expected = model.Forward(batch.Waveforms, batch.Lengths);
            using var actual = OnnxRun.Run(session, batch.Waveforms.data<float>().ToArray(), batch.Lengths.data<long>().ToArray(), batchWaves.Count);

            Assert.Equal(expected.FrameLengths.data<long>().ToArray(), actual.Long("frame_lengths"));
            AssertClose(expected.Logits.data<float>().ToArray(), actual.Float(logitsName), "logits");
            if (expected.CtcLogits is { } ctc)
            {
                var frames = expected.FrameLengths.data<long>().ToArray();
                var (t, v) = (ctc.shape[1], ctc.shape[2]);
                var want = ctc.data<float>().ToArray();
                var got = actual.Float("ctc_logits");
                Assert.Equal(want.Length, got.Length);
                // Padded frames are don't-care (neither engine promises them): compare each utterance's valid frames.
                for (var b = 0; b < frames.Length; b++)
                    AssertClose(want.AsSpan((int)(b * t * v), (int)(frames[b] * v)).ToArray(), got.AsSpan((int)(b * t * v), (int)(frames[b] * v)).ToArray(), $"ctc_logits[{b}]");
            }
            expected.Dispose();
        }
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= Tolerance, $"{what}: largest difference {worst:G3} > {Tolerance}");
    }

    private static List<float[]> Waves(string directory)
    {
        var files = Directory.GetFiles(directory, "*.wav").OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (files.Count == 0) files = Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "wav2vec2/tiny-group"), "*.wav").OrderBy(f => f, StringComparer.Ordinal).ToList();
        return files.Select(f => WavReader.Read(f).Samples).ToList();
    }
}
