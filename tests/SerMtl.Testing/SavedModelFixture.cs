using SerMtl.Modeling;
using static TorchSharp.torch;

namespace SerMtl.Testing;

/// <summary>
/// A saved SerMtl model in a temp folder: the tiny-group fixture backbone with seeded random heads over four
/// labels, written by <see cref="SerMtlModel.Save"/> as the trainer would.
/// </summary>
public sealed class SavedModelFixture : IDisposable
{
    public static readonly string[] Labels = ["neutral", "happy", "angry", "sad"];

    public SavedModelFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "sermtl-saved-" + Guid.NewGuid().ToString("N"));
        Create(Directory);
    }

    public string Directory { get; }

    /// <summary>Writes the model to <paramref name="directory"/>.</summary>
    public static void Create(string directory)
    {
        manual_seed(1234);
        using var model = SerMtlModel.FromPretrained(TestPaths.TinyGroup, new SerMtlModelOptions { Labels = Labels });
        model.Save(directory);
    }

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>Test audio: deterministic synthetic signals and a minimal 16-bit PCM WAV writer.</summary>
public static class TestAudio
{
    /// <summary>
    /// <paramref name="seconds"/> of a voiced-sounding signal at <paramref name="sampleRate"/>: a few harmonics of a
    /// gliding pitch under a syllable-rate envelope (harmonics below <paramref name="maxHz"/>), plus a little
    /// low-passed noise of amplitude <paramref name="noise"/>.
    /// </summary>
    public static float[] Speechlike(double seconds, int sampleRate = 16000, int seed = 0, double maxHz = 3000, double noise = 0.02)
    {
        var random = new Random(seed);
        var n = (int)Math.Round(seconds * sampleRate);
        var x = new float[n];
        var phase = 0.0;
        var basePitch = 110 + 60 * random.NextDouble();
        var recent = new double[8];
        for (var i = 0; i < n; i++)
        {
            var t = (double)i / sampleRate;
            var pitch = basePitch * (1 + 0.2 * Math.Sin(2 * Math.PI * 0.7 * t));
            phase += 2 * Math.PI * pitch / sampleRate;
            var v = 0.0;
            for (var h = 1; h * pitch * 1.25 < maxHz && h <= 8; h++) v += Math.Sin(h * phase) / h;
            var envelope = 0.5 + 0.5 * Math.Sin(2 * Math.PI * 4 * t + seed);
            // Moving average of white noise: a gentle low-pass.
            recent[i % recent.Length] = random.NextDouble() - 0.5;
            x[i] = (float)(0.3 * envelope * v + noise * recent.Average());
        }
        return x;
    }

    /// <summary>Writes mono 16-bit PCM.</summary>
    public static void WriteWav(string path, ReadOnlySpan<float> samples, int sampleRate = 16000)
    {
        using var stream = File.Create(path);
        WriteWav(stream, samples, sampleRate);
    }

    public static void WriteWav(Stream stream, ReadOnlySpan<float> samples, int sampleRate = 16000)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.ASCII, leaveOpen: true);
        var dataBytes = samples.Length * 2;
        w.Write("RIFF"u8);
        w.Write(36 + dataBytes);
        w.Write("WAVEfmt "u8);
        w.Write(16);
        w.Write((short)1);             // PCM
        w.Write((short)1);             // mono
        w.Write(sampleRate);
        w.Write(sampleRate * 2);       // bytes per second
        w.Write((short)2);             // block align
        w.Write((short)16);            // bits per sample
        w.Write("data"u8);
        w.Write(dataBytes);
        foreach (var s in samples) w.Write((short)Math.Clamp(Math.Round(s * 32768.0), short.MinValue, short.MaxValue));
    }
}
