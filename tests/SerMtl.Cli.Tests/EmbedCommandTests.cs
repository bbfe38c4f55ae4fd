using SerMtl.Checkpoints;
using SerMtl.Cli;
using SerMtl.Cli.Commands;
using static TorchSharp.torch;

namespace SerMtl.Cli.Tests;

public sealed class EmbedCommandTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sermtl-embed-" + Guid.NewGuid().ToString("N"));

    private static string[] Wavs => new[] { "a", "b", "c" }.Select(s => Path.Combine(TestPaths.TinyGroup, s + ".wav")).ToArray();

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    private static int Run(params string[] args) => CliTool.Run(["embed", .. args]).Exit;

    private static string Failure(params string[] a) => CliTool.Failure(["embed", .. a]);

    private static string Usage(params string[] args) => CliTool.Usage(["embed", .. args]);

    [Fact]
    public void Timing_WritesPerFileTimesAndTheSummary()
    {
        var timing = Path.Combine(_out, "timing.json");
        var (exit, stdout, stderr) = CliTool.Run(["embed", "--model", TestPaths.TinyGroup, "--out", _out, "--batch-size", "2", "--timing", timing, .. Wavs]);
        Assert.Equal(0, exit);
        Assert.Equal(3, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // one line per .npy, as without --timing
        TimingFile.AssertThreeFilesInBatchesOfTwo(timing, stderr, "embed", Wavs.Sum(w => SerMtl.Data.Audio.WavReader.Read(w).Samples.Length / 16000.0));
    }

    [Fact]
    public void Run_BatchSizes1And3_WriteTheSameNpyFilesMatchingTheReference()
    {
        var one = Path.Combine(_out, "one");
        var three = Path.Combine(_out, "three");
        Assert.Equal(0, Run(["--model", TestPaths.TinyGroup, "--out", one, "--batch-size", "1", .. Wavs]));
        Assert.Equal(0, Run(["--model", TestPaths.TinyGroup, "--out", three, "--batch-size", "3", .. Wavs]));

        var expected = SafeTensors.Read(Path.Combine(TestPaths.TinyGroup, "expected.safetensors"));
        try
        {
            foreach (var stem in new[] { "a", "b", "c" })
            {
                var a = NpyFile.Read(Path.Combine(one, stem + ".npy"));
                var b = NpyFile.Read(Path.Combine(three, stem + ".npy"));
                Assert.Equal(a.Shape, b.Shape);
                Assert.True(a.Data.Zip(b.Data).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5, $"{stem}: batch size changed the output");

                var reference = expected[stem + ".last_hidden_state"];
                Assert.Equal(reference.shape, a.Shape);
                var want = reference.data<float>().ToArray();
                Assert.True(a.Data.Zip(want).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4, $"{stem}: differs from the reference");
            }
        }
        finally
        {
            foreach (var t in expected.Values) t.Dispose();
        }
    }

    [Fact]
    public void Run_DuplicateStems_IsAUsageErrorNamingBothFiles()
    {
        var other = Path.Combine(_out, "x", "a.wav");
        var e = Usage("--model", TestPaths.TinyGroup, "--out", _out, Wavs[0], other);
        Assert.Contains(Wavs[0], e);
        Assert.Contains(other, e);
        Assert.False(Directory.Exists(_out), "nothing should be written");
    }

    [Fact]
    public void Run_NoWavsOrBadBatchSize_IsAUsageError()
    {
        Assert.Contains("no WAV files", Usage("--model", TestPaths.TinyGroup, "--out", _out));
        Assert.Contains("--batch-size", Usage("--model", TestPaths.TinyGroup, "--out", _out, "--batch-size", "0", Wavs[0]));
    }

    [Fact]
    public void Run_MissingWav_FailsNamingIt()
    {
        var missing = Path.Combine(_out, "missing.wav");
        var e = Failure("--model", TestPaths.TinyGroup, "--out", _out, missing);
        Assert.Contains($"sermtl embed: {missing}: file not found", e);
    }

    [Fact]
    public void Run_OneBadFileAmongGoodOnes_WritesTheGoodOnesAndReportsTheBadOne()
    {
        var scratch = Path.Combine(_out, "in");
        Directory.CreateDirectory(scratch);
        var mulaw = Path.Combine(scratch, "mulaw.wav");
        File.WriteAllBytes(mulaw, [.. "RIFF"u8, 40, 0, 0, 0, .. "WAVEfmt "u8, 16, 0, 0, 0, 7, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x40, 0x1f, 0, 0, 1, 0, 8, 0, .. "data"u8, 4, 0, 0, 0, 1, 2, 3, 4]);
        var outDir = Path.Combine(_out, "npy");

        var run = CliTool.Run(["embed", "--model", TestPaths.TinyGroup, "--out", outDir, "--batch-size", "3", Wavs[0], mulaw, Wavs[1]]);

        Assert.Equal(ExitCodes.Failure, run.Exit);
        Assert.StartsWith($"sermtl embed: {mulaw}: ", run.Error);
        Assert.True(File.Exists(Path.Combine(outDir, "a.npy")));
        Assert.True(File.Exists(Path.Combine(outDir, "b.npy")));
        Assert.False(File.Exists(Path.Combine(outDir, "mulaw.npy")));
        Assert.Equal(2, run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Run_TruncatedWav_IsEmbeddedFromWhatIsThere_WithAWarning()
    {
        var scratch = Path.Combine(_out, "in");
        Directory.CreateDirectory(scratch);
        var cut = Path.Combine(scratch, "cut.wav");
        File.WriteAllBytes(cut, File.ReadAllBytes(Wavs[1])[..^4000]);
        var outDir = Path.Combine(_out, "npy");

        var run = CliTool.Run(["embed", "--model", TestPaths.TinyGroup, "--out", outDir, cut]);

        Assert.Equal(ExitCodes.Success, run.Exit);
        Assert.Contains($"sermtl embed: warning: {cut}: truncated: the data chunk declares", run.Error);
        Assert.Contains("4000 bytes are missing", run.Error);
        Assert.True(File.Exists(Path.Combine(outDir, "cut.npy")));
    }
}
