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

    [Theory]
    [InlineData("wav2vec2/tiny-hubert-ctc")]
    [InlineData("wavlm/tiny-wavlm-ctc")]
    public void SpeechRecogniser_ExportsCtcLogitsOnly_AndOnnxRuntimeMatchesTorchSharp(string fixture)
    {
        var directory = Path.Combine(TestPaths.Fixtures, fixture);
        var path = Path.Combine(_dir, "ctc.onnx");
        var result = OnnxExporter.Export(directory, path);
        using var model = Wav2Vec2ForCtc.FromPretrained(directory);
        Assert.Equal(["ctc_logits", "frame_lengths"], result.Outputs);
        Assert.Equal(ModelTask.Transcription, result.Model.Task);
        Assert.Empty(result.Model.Labels);
        Assert.Equal(model.Vocabulary.Tokens, result.Model.Vocabulary!.Tokens);
        Assert.EndsWith("ForCTC", result.Model.Architecture);
        AssertFramesParity(model.Backbone, (w, l) => model.call(w, l), path, "ctc_logits", Waves(directory));
    }

    [Theory]
    [InlineData("wav2vec2/tiny-group", true)]          // architectures: Wav2Vec2Model, exported from its directory
    [InlineData("wav2vec2/tiny-odd-layer", true)]
    [InlineData("wavlm/tiny-wavlm-ctc", false)]        // the backbones of task models, exported from the loaded model
    [InlineData("wav2vec2/tiny-hubert-speechcls", false)]
    public void Backbone_ExportsTheLastHiddenState_AndOnnxRuntimeMatchesTorchSharp(string fixture, bool fromDirectory)
    {
        var directory = Path.Combine(TestPaths.Fixtures, fixture);
        var path = Path.Combine(_dir, "backbone.onnx");
        using var model = Wav2Vec2Model.FromPretrained(directory);
        var result = fromDirectory ? OnnxExporter.Export(directory, path) : OnnxExporter.Export(model, path);
        Assert.Equal(["last_hidden_state", "frame_lengths"], result.Outputs);
        Assert.Equal(ModelTask.Features, result.Model.Task);
        Assert.Empty(result.Model.Labels);
        Assert.Null(result.Model.Vocabulary);
        AssertFramesParity(model, (w, l) =>
        {
            var output = model.call(w, l);
            return output.LastHiddenState;
        }, path, "last_hidden_state", Waves(directory));
    }

    /// <summary>
    /// Feature encoders of other geometries than the fixtures' (all wav2vec2-base's 10/5, 3/2, 2/2): kernels that are
    /// multiples of their stride and kernels with a remainder, strides of 1 and 3, few and many channels, conv bias,
    /// layer norm and group norm with padded batches; against TorchSharp.
    /// </summary>
    [Theory]
    [InlineData(new[] { 10, 4, 5, 3, 1 }, new[] { 5, 2, 2, 3, 1 }, new[] { 32, 24, 40, 17, 32 }, false)]
    [InlineData(new[] { 8, 6, 3, 2 }, new[] { 4, 3, 1, 2 }, new[] { 3, 48, 16, 20 }, true)]
    public void ConvolutionGeometries_OnnxRuntimeMatchesTorchSharp(int[] kernels, int[] strides, int[] dims, bool layerNorm)
    {
        var config = Wav2Vec2Config.Base with
        {
            ConvKernel = kernels, ConvStride = strides, ConvDim = dims, ConvBias = layerNorm,
            FeatExtractNorm = layerNorm ? FeatureNorm.Layer : FeatureNorm.Group, DoStableLayerNorm = layerNorm,
            HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64,
            NumConvPosEmbeddings = 8, NumConvPosEmbeddingGroups = 2, LayerDrop = 0,
        };
        torch.manual_seed(11);
        using var model = SerMtlModel.CreateFromScratch(config, new SerMtlModelOptions { Labels = EmotionLabels });
        model.eval();
        var path = Path.Combine(_dir, "geometry.onnx");
        OnnxExporter.Export(model, path);
        var waves = new[] { 4000, 3217, 2001 }.Select((n, i) =>
            Enumerable.Range(0, n).Select(t => MathF.Sin(t * (0.01f + 0.007f * i)) + 0.3f * MathF.Sin(t * 0.37f)).ToArray()).ToList();
        AssertParity(RecognizerModel.Wrap(model), path, waves, "logits");
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
                AssertValidFramesClose(ctc, expected.FrameLengths.data<long>().ToArray(), actual.Float("ctc_logits"), "ctc_logits");
            expected.Dispose();
        }
    }

    /// <summary>
    /// Per-frame outputs [B, T, V] agree on each utterance's valid frames; padded frames are don't-care (neither engine
    /// promises them).
    /// </summary>
    private static void AssertValidFramesClose(Tensor expected, long[] frames, float[] actual, string what)
    {
        var (t, v) = (expected.shape[1], expected.shape[2]);
        var want = expected.data<float>().ToArray();
        Assert.Equal(want.Length, actual.Length);
        for (var b = 0; b < frames.Length; b++)
            AssertClose(want.AsSpan((int)(b * t * v), (int)(frames[b] * v)).ToArray(), actual.AsSpan((int)(b * t * v), (int)(frames[b] * v)).ToArray(), $"{what}[{b}]");
    }

    /// <summary>
    /// An export without emotion output (a recogniser's CTC logits, a backbone's last hidden state) gives, through ONNX
    /// Runtime, the TorchSharp model's per-frame output on valid frames and its frame lengths, alone and in one padded batch.
    /// </summary>
    private static void AssertFramesParity(Wav2Vec2Model backbone, Func<Tensor, Tensor, Tensor> forward, string onnxPath, string output, List<float[]> waves)
    {
        using var session = OrtLog.Open(onnxPath, out _);
        foreach (var batchWaves in waves.Select(w => new List<float[]> { w }).Append(waves))
        {
            using var scope = NewDisposeScope();
            using var batch = WaveformBatch.Create(batchWaves, backbone.Preprocessing);
            using var _ = no_grad();
            var expected = forward(batch.Waveforms, batch.Lengths);
            var frames = batch.Lengths.data<long>().ToArray().Select(backbone.Config.OutputLength).ToArray();
            using var actual = OnnxRun.Run(session, batch.Waveforms.data<float>().ToArray(), batch.Lengths.data<long>().ToArray(), batchWaves.Count);
            Assert.Equal(frames, actual.Long("frame_lengths"));
            Assert.Equal(expected.shape, actual.Shape(output));
            AssertValidFramesClose(expected, frames, actual.Float(output), output);
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
