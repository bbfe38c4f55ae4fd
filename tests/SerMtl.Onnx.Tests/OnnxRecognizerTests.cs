using SerMtl.Data.Audio;
using SerMtl.Inference;

namespace SerMtl.Onnx.Tests;

/// <summary>
/// <see cref="OnnxEmotionRecognizer"/> on an exported file gives what <see cref="EmotionRecognizer"/> gives on the
/// model it came from: label, probabilities (or scores), transcript, windows of a long recording, batches.
/// </summary>
public sealed class OnnxRecognizerTests : IDisposable
{
    private const float Tolerance = 1e-4f;
    private readonly SavedModelFixture _saved = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("sermtl-onnx-engine-").FullName;

    public void Dispose()
    {
        _saved.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string> Models => new()
    {
        "saved",
        "wav2vec2/tiny-seqcls-layer",
        "wav2vec2/tiny-speechcls-dim",
        "wavlm/tiny-wavlm-seqcls",
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Predict_EqualsTheTorchSharpEngine_WholeWindowedAndBatched(string model)
    {
        var directory = model == "saved" ? _saved.Directory : Path.Combine(TestPaths.Fixtures, model);
        var onnx = Path.Combine(_dir, "model.onnx");
        OnnxExporter.Export(directory, onnx);
        var files = Directory.GetFiles(TestPaths.TinyGroup, "*.wav").Order(StringComparer.Ordinal).ToList();
        // A recording of all three, windowed at 0.3 s: windows overlap, and the transcript is stitched.
        var joined = Path.Combine(_dir, "joined.wav");
        TestAudio.WriteWav(joined, files.SelectMany(f => WavReader.Read(f).Samples).ToArray());
        files.Add(joined);

        var options = new EmotionRecognizerOptions { MaxWindowSeconds = 0.3, BatchSize = 3 };
        using var torch = EmotionRecognizer.Load(directory, options);
        using var ort = OnnxEmotionRecognizer.Load(onnx, new OnnxRecognizerOptions { MaxWindowSeconds = 0.3, BatchSize = 3 });
        Assert.Equal(torch.Labels, ort.Labels);
        Assert.Equal(torch.IsRegression, ort.IsRegression);
        Assert.Equal(torch.MinimumSamples, ort.MinimumSamples);

        using var unpacked = OnnxEmotionRecognizer.Load(onnx, new OnnxRecognizerOptions { MaxWindowSeconds = 0.3, BatchSize = 3, PrepackWeights = false });

        var expected = torch.PredictBatch(files);
        var batched = ort.PredictBatch(files);
        var batchedUnpacked = unpacked.PredictBatch(files);
        for (var i = 0; i < files.Count; i++)
        {
            var alone = ort.Predict(files[i]);
            foreach (var actual in new[] { alone, batched[i], batchedUnpacked[i] })
            {
                AssertSame(expected[i], actual);
                Assert.Equal(expected[i].Windows.Count, actual.Windows.Count);
                for (var w = 0; w < actual.Windows.Count; w++)
                {
                    Assert.Equal(expected[i].Windows[w].Start, actual.Windows[w].Start);
                    Assert.Equal(expected[i].Windows[w].Label, actual.Windows[w].Label);
                    Assert.Equal(expected[i].Windows[w].Transcript, actual.Windows[w].Transcript);
                }
            }
        }
        Assert.Contains(expected, p => p.Windows.Count > 1);
    }

    [Fact]
    public void Int8Export_RunsAndStaysCloseToFloat32()
    {
        var float32 = Path.Combine(_dir, "f32.onnx");
        var int8 = Path.Combine(_dir, "int8.onnx");
        OnnxExporter.Export(_saved.Directory, float32);
        OnnxExporter.Export(_saved.Directory, int8, new OnnxExportOptions { Int8 = true });
        Assert.True(new FileInfo(int8).Length < new FileInfo(float32).Length, "the int8 file is not smaller");
        using var a = OnnxEmotionRecognizer.Load(float32);
        using var b = OnnxEmotionRecognizer.Load(int8);
        Assert.False(a.IsQuantized);
        Assert.True(b.IsQuantized);
        foreach (var file in Directory.GetFiles(TestPaths.TinyGroup, "*.wav"))
        {
            var (p, q) = (a.Predict(file), b.Predict(file));
            Assert.Equal(1f, q.Probabilities.Values.Sum(), 1e-5f);
            var worst = p.Probabilities.Keys.Max(k => Math.Abs(p.Probabilities[k] - q.Probabilities[k]));
            // Not equal (the weights are rounded to 7 bits), but near: a broken quantization gives unrelated outputs.
            Assert.InRange(worst, 1e-7f, 0.05f);
        }
    }

    [Fact]
    public void Load_NotOnnx_SaysSoAndNamesTheFile()
    {
        var path = Path.Combine(_dir, "bad.onnx");
        File.WriteAllText(path, "RIFF not a model");
        var e = Assert.Throws<InvalidDataException>(() => OnnxEmotionRecognizer.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot load", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OnnxWithoutSerMtlMetadata_SaysItIsNotASerMtlExport()
    {
        // A valid ONNX model (y = x + 1) that is not one of ours.
        var path = Path.Combine(_dir, "other.onnx");
        var graph = new OnnxGraph("other");
        var x = graph.Input("x", Format.Tensor.Types.DataType.Float, 1L);
        graph.Output("y", graph.Add(x, graph.FloatScalar(1f)), Format.Tensor.Types.DataType.Float, 1L);
        var model = new Format.Model { IrVersion = OnnxExporter.IrVersion, Graph = graph.Proto };
        model.OpsetImport.Add(new Format.OpsetId { Version = OnnxExporter.Opset });
        using (var stream = File.Create(path)) Google.Protobuf.MessageExtensions.WriteTo(model, stream);
        var e = Assert.Throws<InvalidDataException>(() => OnnxEmotionRecognizer.Load(path));
        Assert.Contains("not a SerMtl export", e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => OnnxEmotionRecognizer.Load(Path.Combine(_dir, "missing.onnx")));
    }

    [Theory]
    [InlineData("wav2vec2/tiny-hubert-ctc", "transcription")]
    [InlineData("wav2vec2/tiny-group", "features")]
    public void Load_ExportWithoutEmotionOutput_IsRefusedNamingWhatItIs(string fixture, string task)
    {
        var path = Path.Combine(_dir, "no-emotion.onnx");
        OnnxExporter.Export(Path.Combine(TestPaths.Fixtures, fixture), path);
        var e = Assert.Throws<InvalidDataException>(() => OnnxEmotionRecognizer.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains($"exported as a {task} model", e.Message, StringComparison.Ordinal);
        Assert.Contains("no emotion output", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OnCudaWithTheCpuPackage_SaysWhichPackageCudaNeeds_AndAMisspeltDeviceIsAnArgumentError()
    {
        var path = Path.Combine(_dir, "model.onnx");
        OnnxExporter.Export(_saved.Directory, path);
        // These tests reference Microsoft.ML.OnnxRuntime, whose native library has no CUDA provider.
        var e = Assert.Throws<InvalidOperationException>(() => OnnxEmotionRecognizer.Load(path, new OnnxRecognizerOptions { Device = "cuda:1" }));
        Assert.Contains("device 'cuda:1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", e.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentException>(() => OnnxEmotionRecognizer.Load(path, new OnnxRecognizerOptions { Device = "gpu" }));
        Assert.Contains("\"gpu\"", bad.Message, StringComparison.Ordinal);
        using var cpu = OnnxEmotionRecognizer.Load(path, new OnnxRecognizerOptions { Device = "cpu" });
        Assert.Equal(SavedModelFixture.Labels, cpu.Labels);
    }

    [Fact]
    public void Predict_AfterDispose_IsRefused()
    {
        var path = Path.Combine(_dir, "model.onnx");
        OnnxExporter.Export(_saved.Directory, path);
        var recognizer = OnnxEmotionRecognizer.Load(path);
        recognizer.Dispose();
        recognizer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => recognizer.Predict(Path.Combine(TestPaths.TinyGroup, "a.wav")));
    }

    private static void AssertSame(EmotionPrediction expected, EmotionPrediction actual)
    {
        Assert.Equal(expected.Label, actual.Label);
        Assert.Equal(expected.Transcript, actual.Transcript);
        Assert.Equal(expected.Duration, actual.Duration);
        foreach (var (label, p) in expected.Probabilities) Assert.Equal(p, actual.Probabilities[label], Tolerance);
        foreach (var (label, s) in expected.Scores) Assert.Equal(s, actual.Scores[label], Tolerance);
    }
}
