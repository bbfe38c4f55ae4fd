using System.Text;
using SerMtl.Data.Corpora;
using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Testing;

/// <summary>
/// A few short WAV files in a temp folder with labels that the audio gives away (each class its own tone), speakers
/// and transcripts, plus the tiny fixture backbone with fresh heads, for fast trainer tests.
/// </summary>
public sealed class TinyCorpus : IDisposable
{
    public static readonly string[] Labels = ["neutral", "happy", "angry", "sad"];
    private static readonly string[] Words = ["YES", "NO", "MAYBE", "OKAY", "WHAT", "SURE"];

    public TinyCorpus(int count = 24, int seed = 0)
    {
        Directory = Path.Combine(Path.GetTempPath(), "sermtl-tiny-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        var random = new Random(seed);
        var samples = new List<SpeechSample>();
        for (var i = 0; i < count; i++)
        {
            var label = i % Labels.Length;
            var seconds = 0.12 + 0.01 * random.Next(0, 12);   // 0.12-0.23 s: 5-11 frames
            var path = Path.Combine(Directory, $"u{i:D3}.wav");
            WriteTone(path, seconds, 220.0 * (label + 1), random);
            var transcript = $"{Words[random.Next(Words.Length)]} {Words[random.Next(Words.Length)]}";
            samples.Add(new SpeechSample($"u{i:D3}", path, $"spk{i % 3}", Labels[label], transcript));
        }
        Samples = samples;
    }

    public string Directory { get; }

    public IReadOnlyList<SpeechSample> Samples { get; }

    public IReadOnlyList<SpeechSample> Train => Samples.Where((_, i) => i % 5 != 4).ToList();

    /// <summary>Every fifth sample: labels cycle with period 4, so every label is there.</summary>
    public IReadOnlyList<SpeechSample> Validation => Samples.Where((_, i) => i % 5 == 4).ToList();

    /// <summary>The tiny fixture backbone with heads initialised from <paramref name="seed"/>, so two calls give equal models.</summary>
    public static SerMtlModel Model(int seed = 1, Func<Wav2Vec2Config, Wav2Vec2Config>? configure = null)
    {
        random.manual_seed(seed);
        return SerMtlModel.FromPretrained(TestPaths.TinyGroup, new SerMtlModelOptions { Labels = Labels, Configure = configure });
    }

    /// <summary>Asserts every parameter and buffer of the two models is equal within <paramref name="tolerance"/>.</summary>
    public static void AssertSameWeights(SerMtlModel expected, SerMtlModel actual, double tolerance = 0)
    {
        var a = expected.state_dict();
        var b = actual.state_dict();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (key, value) in a)
        {
            using var diff = (value.to(ScalarType.Float64) - b[key].to(ScalarType.Float64)).abs().max();
            var max = diff.item<double>();
            Assert.True(max <= tolerance, $"{key}: max abs diff {max:G4} > {tolerance:G4}");
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static void WriteTone(string path, double seconds, double hertz, Random random)
    {
        var n = (int)(16000 * seconds);
        using var w = new BinaryWriter(File.Create(path), Encoding.ASCII);
        w.Write("RIFF"u8);
        w.Write(36 + n * 2);
        w.Write("WAVEfmt "u8);
        w.Write(16);
        w.Write((short)1);       // PCM
        w.Write((short)1);       // mono
        w.Write(16000);
        w.Write(16000 * 2);
        w.Write((short)2);
        w.Write((short)16);
        w.Write("data"u8);
        w.Write(n * 2);
        for (var i = 0; i < n; i++)
        {
            var v = 0.3 * Math.Sin(2 * Math.PI * hertz * i / 16000) + 0.02 * (random.NextDouble() - 0.5);
            w.Write((short)(v * short.MaxValue));
        }
    }
}
