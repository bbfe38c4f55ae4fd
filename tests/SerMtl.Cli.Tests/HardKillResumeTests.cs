using System.Diagnostics;
using SerMtl.Modeling;
using Xunit.Abstractions;

namespace SerMtl.Cli.Tests;

/// <summary>
/// Issue 17: <c>sermtl train</c> killed with SIGKILL at random moments (no cancellation, no chance to save) and run
/// again each time ends with the files of an uninterrupted run, bit for bit: the kept model, the epoch log's losses and
/// metrics, the test results. The tool runs as a child process from this test's output folder (sermtl.dll).
/// </summary>
public sealed class HardKillResumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinyCorpus _corpus = new(count: 480, seed: 3);
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sermtl-kill-" + Guid.NewGuid().ToString("N")[..12]);
    private string? _backbone;

    public void Dispose()
    {
        _corpus.Dispose();
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    private string Manifest()
    {
        var path = Path.Combine(_corpus.Directory, "manifest.csv");
        File.WriteAllLines(path, _corpus.Samples.Select(s => $"{Path.GetFileName(s.AudioPath)},{s.Label},{s.Speaker},{s.Transcript}").Prepend("path,label,speaker,transcript"));
        return path;
    }

    /// <summary>
    /// A small random backbone (4 layers of 128, LayerDrop 0.1) saved as a model directory: slow enough per utterance
    /// that training, not start-up, takes most of a run's time, so random kills land inside it.
    /// </summary>
    private string Backbone()
    {
        var config = Wav2Vec2Config.Base with
        {
            ConvDim = [64, 64, 64, 64, 64, 64, 64],
            HiddenSize = 128,
            NumHiddenLayers = 4,
            NumAttentionHeads = 4,
            IntermediateSize = 256,
            NumConvPosEmbeddings = 16,
            NumConvPosEmbeddingGroups = 4,
            LayerDrop = 0.1,
        };
        TorchSharp.torch.random.manual_seed(5);
        using var model = SerMtlModel.CreateFromScratch(config, new SerMtlModelOptions { Labels = TinyCorpus.Labels });
        var directory = Path.Combine(_out, "backbone");
        model.Save(directory);
        return directory;
    }

    // LayerDrop 0.1: a resumed run must step a skipped layer's parameters as the uninterrupted one does.
    private ProcessStartInfo Train(string manifest, string run) => SermtlProcess.StartInfo(
        "train", "--manifest", manifest, "--protocol", "kfold:3", "--backbone", _backbone ??= Backbone(), "--device", "cpu",
        "--epochs", "4", "--batch-size", "4", "--accumulate", "2", "--checkpoint-every", "3", "--out", Path.Combine(_out, run));

    [Fact]
    public async Task Train_SecondProcessOnTheSameDirectory_IsRefused_AndAKilledHolderLeavesNoStaleLock()
    {
        var manifest = Manifest();
        var lockFile = Path.Combine(_out, "shared", SerMtl.Training.SerTrainer.LockFileName);
        using var first = Process.Start(Train(manifest, "shared"))!;
        var firstOut = first.StandardOutput.ReadToEndAsync();
        var firstErr = first.StandardError.ReadToEndAsync();
        try
        {
            var waited = Stopwatch.StartNew();
            while (!File.Exists(lockFile) && !first.HasExited && waited.Elapsed < TimeSpan.FromMinutes(2)) await Task.Delay(20);
            Assert.False(first.HasExited, "the first run ended before the second could start");

            var second = SermtlProcess.RunUntil(Train(manifest, "shared"), () => false);
            Assert.True(second.Finished && second.Exit == 1, $"exit {second.Exit}: {second.Output}{second.Error}");
            Assert.Contains("is in use by another training run", second.Error);
            Assert.False(first.HasExited, "the first run was disturbed");
        }
        finally
        {
            if (!first.HasExited) first.Kill(); // SIGKILL: the lock goes with the process
            await first.WaitForExitAsync();
            _ = await firstOut + await firstErr;
        }
        var third = SermtlProcess.RunUntil(Train(manifest, "shared"), () => false);
        Assert.True(third is { Finished: true, Exit: 0 }, third.Output + third.Error);
    }

    [Fact]
    public void Train_KilledAtRandomMomentsAndRerun_EndsBitwiseEqualToAnUninterruptedRun()
    {
        var manifest = Manifest();
        var reference = SermtlProcess.RunUntil(Train(manifest, "reference"), () => false);
        Assert.True(reference is { Finished: true, Exit: 0 }, reference.Output + reference.Error);

        // Each killed run is let write one to three checkpoints of its own, then killed 0-250 ms later: mid-update,
        // mid-validation or mid-save, wherever that falls. One run in five is killed during start-up instead.
        var random = new Random(17);
        var checkpoint = Path.Combine(_out, "killed", "checkpoint.safetensors");
        var (kills, killsAfterResume) = (0, 0);
        for (var attempt = 0; ; attempt++)
        {
            Assert.True(attempt < 40, $"the killed run did not finish in 40 attempts ({kills} kills)");
            var resumes = File.Exists(checkpoint);
            DateTime? Written() => File.Exists(checkpoint) ? File.GetLastWriteTimeUtc(checkpoint) : null;
            var seen = Written();
            var (saves, wanted) = (0, random.Next(1, 4));
            var early = random.NextDouble() < 0.2 ? Stopwatch.StartNew() : null;
            var earlyAfter = TimeSpan.FromMilliseconds(random.Next(200, 2000));
            Stopwatch? grace = null;
            var graceFor = TimeSpan.FromMilliseconds(random.Next(0, 250));
            bool Kill()
            {
                if (attempt >= 10) return false; // then let it finish
                if (early is not null) return early.Elapsed >= earlyAfter;
                var now = Written();
                if (now != seen) (seen, saves) = (now, saves + 1);
                if (saves >= wanted) grace ??= Stopwatch.StartNew();
                return grace is not null && grace.Elapsed >= graceFor;
            }
            var (finished, exit, stdout, stderr) = SermtlProcess.RunUntil(Train(manifest, "killed"), Kill);
            if (finished)
            {
                Assert.True(exit == 0, $"exit code {exit} after {kills} kills:\n{stdout}{stderr}");
                break;
            }
            kills++;
            if (resumes && saves > 0) killsAfterResume++;
            output.WriteLine($"attempt {attempt}: killed {(early is not null ? $"during start-up ({earlyAfter.TotalMilliseconds} ms)" : $"{graceFor.TotalMilliseconds} ms after {saves} checkpoint(s)")}{(resumes ? ", after resuming" : "")}");
        }
        output.WriteLine($"{kills} kills, {killsAfterResume} of runs that had resumed and saved again");
        Assert.True(killsAfterResume >= 3, $"only {killsAfterResume} kills hit a run that had resumed and saved again; the test proved little");

        string Read(string run, params string[] path) => Path.Combine([_out, run, .. path]);
        Assert.Equal(File.ReadAllBytes(Read("reference", "best", "model.safetensors")), File.ReadAllBytes(Read("killed", "best", "model.safetensors")));
        // Timing columns (seconds, utterances per second) differ; every loss and metric must not.
        static IEnumerable<string> Figures(string csv) => File.ReadAllLines(csv).Select(l => string.Join(',', l.Split(',').Take(9)));
        Assert.Equal(Figures(Read("reference", "epochs.csv")), Figures(Read("killed", "epochs.csv")));
        Assert.Equal(File.ReadAllText(Read("reference", "predictions.tsv")), File.ReadAllText(Read("killed", "predictions.tsv")));
    }
}
