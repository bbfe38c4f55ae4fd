using SerMtl.Checkpoints;
using SerMtl.Data.Audio;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>
/// A reference fixture folder under tests/fixtures/wav2vec2: config.json, preprocessor_config.json, weights, *.wav
/// and expected.safetensors with <c>&lt;stem&gt;.conv_features</c> / <c>&lt;stem&gt;.last_hidden_state</c> per WAV.
/// </summary>
internal sealed class ModelFixture : IDisposable
{
    /// <summary>The fixture <paramref name="name"/> under tests/fixtures/wav2vec2, or the folder itself when <paramref name="name"/> is a rooted path.</summary>
    public ModelFixture(string name, string weightsFile)
    {
        Directory = Path.IsPathRooted(name) ? name : Path.Combine(TestPaths.Fixtures, "wav2vec2", name);
        Model = Wav2Vec2Model.FromPretrained(Directory, new Wav2Vec2LoadOptions { WeightsFile = weightsFile });
        Stems = System.IO.Directory.GetFiles(Directory, "*.wav").Select(p => Path.GetFileNameWithoutExtension(p)!).Order(StringComparer.Ordinal).ToArray();
        Waveforms = Stems.Select(s => AudioLoader.LoadMono(Path.Combine(Directory, s + ".wav"))).ToArray();
        Expected = SafeTensors.Read(Path.Combine(Directory, "expected.safetensors"));
    }

    public string Directory { get; }

    public Wav2Vec2Model Model { get; }

    public string[] Stems { get; }

    public float[][] Waveforms { get; }

    public Dictionary<string, Tensor> Expected { get; }

    public Tensor ExpectedConvFeatures(string stem) => Expected[stem + ".conv_features"];

    public Tensor ExpectedLastHiddenState(string stem) => Expected[stem + ".last_hidden_state"];

    public void Dispose()
    {
        Model.Dispose();
        foreach (var t in Expected.Values) t.Dispose();
    }
}

internal static class TensorAssert
{
    /// <summary>Asserts equal shapes and max |a - b| ≤ tolerance, reporting the difference found.</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        using var diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max();
        var max = diff.item<double>();
        Assert.True(max <= tolerance, $"{what}: max abs diff {max:G4} > {tolerance:G4}");
    }
}

/// <summary>Task heads against the per-WAV reference outputs committed beside a fixture (<c>&lt;stem&gt;.logits</c> in expected.safetensors).</summary>
internal static class HeadParity
{
    /// <summary>
    /// Runs <paramref name="forward"/> on a.wav, b.wav and c.wav of <paramref name="folder"/> each alone and all in one
    /// padded batch, and asserts every row matches its reference <c>&lt;stem&gt;.&lt;key&gt;</c> within
    /// <paramref name="tolerance"/>. A <paramref name="perFrame"/> output ([B, T, ...]) is compared on the reference's
    /// frames only (a padded row is longer).
    /// </summary>
    public static void AloneAndBatched(string folder, FeatureExtractorConfig preprocessing, Func<WaveformBatch, Tensor> forward, double tolerance,
        string key = "logits", bool perFrame = false)
    {
        var expected = SafeTensors.Read(Path.Combine(folder, "expected.safetensors"));
        try
        {
            string[] stems = ["a", "b", "c"];
            var waveforms = stems.Select(s => AudioLoader.LoadMono(Path.Combine(folder, s + ".wav"))).ToArray();
            var name = Path.GetFileName(folder);
            using var _ = no_grad();
            for (var i = 0; i < stems.Length; i++)
            {
                using var scope = NewDisposeScope();
                using var alone = WaveformBatch.Create([waveforms[i]], preprocessing);
                TensorAssert.Close(expected[stems[i] + "." + key], forward(alone)[0], tolerance, $"{name}/{stems[i]} {key}");
            }
            using (var scope = NewDisposeScope())
            {
                using var batch = WaveformBatch.Create(waveforms, preprocessing);
                var outputs = forward(batch);
                for (var i = 0; i < stems.Length; i++)
                {
                    var reference = expected[stems[i] + "." + key];
                    var row = perFrame ? outputs[i].narrow(0, 0, reference.shape[0]) : outputs[i];
                    TensorAssert.Close(reference, row, tolerance, $"{name}/{stems[i]} {key} (batched)");
                }
            }
        }
        finally
        {
            foreach (var t in expected.Values) t.Dispose();
        }
    }
}
