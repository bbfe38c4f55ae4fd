using SerMtl.Checkpoints;
using SerMtl.Inference;

namespace SerMtl.Tests.Inference;

/// <summary>No confident answer from nonsense: non-finite weights are refused at load, silent input is flagged.</summary>
public sealed class NonsenseInputTests(SavedModelFixture model) : IClassFixture<SavedModelFixture>
{
    [Fact]
    public void Load_ModelWithANaNWeight_IsRefusedNamingTheTensor()
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(model.Directory)) File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        var weights = Path.Combine(dir.Path, "model.safetensors");
        var tensors = SafeTensors.Read(weights);
        try
        {
            var key = tensors.Keys.First(k => k.StartsWith("emotion_head", StringComparison.Ordinal) && k.EndsWith("weight", StringComparison.Ordinal));
            tensors[key][0, 0] = float.NaN;
            SafeTensors.Write(weights, tensors);

            var e = Assert.Throws<InvalidDataException>(() => EmotionRecognizer.Load(dir.Path));

            Assert.Contains($"tensor '{key}' holds 1 NaN or infinite value(s)", e.Message);
            Assert.Contains(weights, e.Message);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Fact]
    public void Predict_SilentAudio_IsMarkedAsSayingNothing()
    {
        using var recognizer = EmotionRecognizer.Load(model.Directory);

        var silent = recognizer.Predict(new float[16000], 16000);
        var sound = recognizer.Predict(Enumerable.Range(0, 16000).Select(i => 0.3f * MathF.Sin(i * 0.05f)).ToArray(), 16000);

        Assert.Contains("the audio is silent after mixing to mono", Assert.Single(silent.Warnings));
        Assert.Empty(sound.Warnings);
    }
}
