using System.Globalization;
using System.Text.Json;
using SerMtl.Cli;
using SerMtl.Cli.Commands;
using SerMtl.Inference;

namespace SerMtl.Cli.Tests;

public sealed class PredictCommandTests(SavedModelFixture model) : IClassFixture<SavedModelFixture>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("sermtl-predict-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string Wav(string stem) => Path.Combine(TestPaths.TinyGroup, stem + ".wav");

    private static (int Exit, string Out, string Err) Run(params string[] argv)
    {
        var outcome = CliTool.Run(["predict", .. argv]);
        return (outcome.Exit, outcome.Output, outcome.Error);
    }

    private static string Failure(params string[] a) => CliTool.Failure(["predict", .. a]);

    private static string Usage(params string[] argv) => CliTool.Usage(["predict", .. argv]);

    private EmotionPrediction Expected(string path, double? windowSeconds = 20)
    {
        using var recognizer = EmotionRecognizer.Load(model.Directory, new EmotionRecognizerOptions { MaxWindowSeconds = windowSeconds });
        return recognizer.Predict(path);
    }

    [Fact]
    public void Json_ListsEveryFileWithAllProbabilitiesAndTheTranscript()
    {
        var (exit, stdout, stderr) = Run("--model", model.Directory, "--json", Wav("a"), Wav("b"));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal("", stderr);

        using var json = JsonDocument.Parse(stdout);
        var items = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        foreach (var (item, stem) in items.Zip(new[] { "a", "b" }))
        {
            var expected = Expected(Wav(stem));
            Assert.Equal(["file", "label", "probabilities", "transcript", "duration_seconds"], item.EnumerateObject().Select(p => p.Name));
            Assert.Equal(Wav(stem), item.GetProperty("file").GetString());
            Assert.Equal(expected.Label, item.GetProperty("label").GetString());
            Assert.Equal(expected.Transcript, item.GetProperty("transcript").GetString());
            Assert.Equal(expected.Duration.TotalSeconds, item.GetProperty("duration_seconds").GetDouble(), 3);
            var probabilities = item.GetProperty("probabilities").EnumerateObject().ToList();
            Assert.Equal(SavedModelFixture.Labels, probabilities.Select(p => p.Name));
            foreach (var p in probabilities) Assert.Equal(expected.Probabilities[p.Name], p.Value.GetDouble(), tolerance: 2e-6);
        }
    }

    [Fact]
    public void Timing_WritesPerFileTimesAndTheSummary_AndIsRefusedWithTimeline()
    {
        var timing = Path.Combine(_scratch, "timing.json");
        var (exit, stdout, stderr) = Run("--model", model.Directory, "--batch-size", "2", "--timing", timing, "--csv", Wav("a"), Wav("b"), Wav("c"));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal(4, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // the output itself is unchanged: header + 3 rows
        TimingFile.AssertThreeFilesInBatchesOfTwo(timing, stderr, "predict", new[] { "a", "b", "c" }.Sum(s => Expected(Wav(s)).Duration.TotalSeconds));

        Assert.Contains("--timing times per-file predictions; --timeline is not timed", Usage("--model", model.Directory, "--timing", timing, "--timeline", Wav("a")));
    }

    [Fact]
    public void Json_LongFile_ListsItsWindows()
    {
        var path = Path.Combine(_scratch, "long.wav");
        TestAudio.WriteWav(path, TestAudio.Speechlike(3.5, seed: 2));
        var (exit, stdout, _) = Run("--model", model.Directory, "--json", "--window-seconds", "1.5", path);
        Assert.Equal(ExitCodes.Success, exit);

        var expected = Expected(path, windowSeconds: 1.5);
        using var json = JsonDocument.Parse(stdout);
        var windows = json.RootElement[0].GetProperty("windows").EnumerateArray().ToList();
        Assert.Equal(expected.Windows.Count, windows.Count);
        Assert.Equal(3, windows.Count);
        for (var i = 0; i < windows.Count; i++)
        {
            Assert.Equal(["start_seconds", "duration_seconds", "label", "probabilities", "transcript"], windows[i].EnumerateObject().Select(p => p.Name));
            Assert.Equal(expected.Windows[i].Start.TotalSeconds, windows[i].GetProperty("start_seconds").GetDouble(), 3);
            Assert.Equal(1.5, windows[i].GetProperty("duration_seconds").GetDouble(), 3);
            Assert.Equal(expected.Windows[i].Label, windows[i].GetProperty("label").GetString());
        }
        Assert.Equal(expected.Transcript, json.RootElement[0].GetProperty("transcript").GetString());
    }

    [Fact]
    public void Csv_HasAHeaderAndOneRowPerFile()
    {
        var (exit, stdout, _) = Run("--model", model.Directory, "--csv", Wav("c"), Wav("a"));
        Assert.Equal(ExitCodes.Success, exit);
        var lines = stdout.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal("file,label,confidence,p_neutral,p_happy,p_angry,p_sad,duration_seconds,transcript", lines[0]);
        Assert.Equal(3, lines.Count);
        foreach (var (line, stem) in lines.Skip(1).Zip(new[] { "c", "a" }))
        {
            var expected = Expected(Wav(stem));
            var cells = line.Split(','); // transcripts are letters, spaces and apostrophes: no quoting needed here
            Assert.Equal(9, cells.Length);
            Assert.Equal(Wav(stem), cells[0]);
            Assert.Equal(expected.Label, cells[1]);
            Assert.Equal(expected.Confidence, float.Parse(cells[2], CultureInfo.InvariantCulture), tolerance: 2e-6);
            for (var l = 0; l < 4; l++)
                Assert.Equal(expected.Probabilities[SavedModelFixture.Labels[l]], float.Parse(cells[3 + l], CultureInfo.InvariantCulture), tolerance: 2e-6);
            Assert.Equal(expected.Duration.TotalSeconds, double.Parse(cells[7], CultureInfo.InvariantCulture), 3);
            Assert.Equal(expected.Transcript, cells[8]);
        }
    }

    [Fact]
    public void Table_ByDefault_ShowsFileLabelProbabilityDurationAndTranscript()
    {
        var (exit, stdout, _) = Run("--model", model.Directory, Wav("b"));
        Assert.Equal(ExitCodes.Success, exit);
        var lines = stdout.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Matches(@"^file\s+label\s+p\s+duration\s+transcript$", lines[0]);
        var expected = Expected(Wav("b"));
        Assert.StartsWith(Wav("b"), lines[1]);
        Assert.Contains($" {expected.Label} ", lines[1]);
        Assert.Contains(expected.Confidence.ToString("0.000", CultureInfo.InvariantCulture), lines[1]);
        Assert.Contains("1.30 s", lines[1]); // b.wav: 20800 samples
        Assert.EndsWith(expected.Transcript, lines[1]);
    }

    [Fact]
    public void Directory_MeansItsWavFilesInNameOrder()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_scratch, "dir")).FullName;
        foreach (var (stem, name) in new[] { ("b", "2.wav"), ("a", "1.WAV"), ("c", "3.wav") })
            File.Copy(Wav(stem), Path.Combine(dir, name));
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not audio");
        var (exit, stdout, _) = Run("--model", model.Directory, "--json", dir);
        Assert.Equal(ExitCodes.Success, exit);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(["1.WAV", "2.wav", "3.wav"], json.RootElement.EnumerateArray().Select(e => Path.GetFileName(e.GetProperty("file").GetString()!)));
    }

    [Fact]
    public void BadFiles_AreReportedAndTheOthersStillPredicted()
    {
        var garbage = Path.Combine(_scratch, "garbage.wav");
        File.WriteAllText(garbage, "not a wav file");
        var tooShort = Path.Combine(_scratch, "short.wav");
        TestAudio.WriteWav(tooShort, new float[100]);
        var missing = Path.Combine(_scratch, "missing.wav");

        var (exit, stdout, stderr) = Run("--model", model.Directory, "--json", "--batch-size", "4", Wav("a"), garbage, missing, tooShort, Wav("c"));

        Assert.Equal(ExitCodes.Failure, exit);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal([Wav("a"), Wav("c")], json.RootElement.EnumerateArray().Select(e => e.GetProperty("file").GetString()));
        var errors = stderr.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(3, errors.Count);
        Assert.StartsWith($"sermtl predict: {missing}: file or directory not found", errors[0]);
        Assert.StartsWith($"sermtl predict: {garbage}: ", errors[1]);
        Assert.StartsWith($"sermtl predict: {tooShort}: 100 samples (6.25 ms) is shorter than the model's receptive field", errors[2]);
    }

    [Fact]
    public void NotAModel_FailsWithTheLoadersMessage()
    {
        var e = Failure("--model", TestPaths.TinyGroup, Wav("a"));
        Assert.Contains("not a SerMtl model", e);
    }

    [Fact]
    public void CudaWithoutBackend_FailsClearly()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // the error is for machines without CUDA
        var e = Failure("--model", model.Directory, "--device", "cuda", Wav("a"));
        Assert.Contains("CUDA is not available", e);
    }

    [Fact]
    public void TruncatedWav_IsPredictedFromWhatIsThere_WithAWarningNamingTheMissingBytes()
    {
        var whole = File.ReadAllBytes(Wav("b"));
        var cut = Path.Combine(_scratch, "cut.wav");
        File.WriteAllBytes(cut, whole[..^4000]);

        var (exit, stdout, stderr) = Run("--model", model.Directory, "--json", cut);

        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains($"sermtl predict: warning: {cut}: truncated: the data chunk declares", stderr);
        Assert.Contains("4000 bytes are missing", stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains("4000 bytes are missing", json.RootElement[0].GetProperty("warnings")[0].GetString());
    }

    [Theory]
    [InlineData("--json", "--csv")]
    [InlineData("--device", "gpu")]
    [InlineData("--dtype", "float16")]
    [InlineData("--window-seconds", "-1")]
    [InlineData("--threads", "0")]
    [InlineData("--bogus")]
    public void BadArguments_AreUsageErrors(params string[] extra)
    {
        Usage(["--model", model.Directory, .. extra, Wav("a")]);
    }

    [Fact]
    public void NoInputs_IsAUsageError()
    {
        Assert.Contains("no WAV", Usage("--model", model.Directory));
    }

    [Fact]
    public void Help_HasUsageOptionsAndExamples()
    {
        var help = CliTool.Run("predict", "--help");
        Assert.Equal(ExitCodes.Success, help.Exit);
        Assert.Contains(" predict [<WAV|DIR>...] [options]", help.Output); // the root is named after the executable (the test host here)
        Assert.Contains("--model <DIR|ID|FILE.onnx> (REQUIRED)", help.Output);
        Assert.Contains("--window-seconds <S>", help.Output);
        Assert.Contains("Examples:", help.Output);
        Assert.Contains("predict ", CliTool.Run("--help").Output);
    }
}
