using SerMtl.Cli;
using SerMtl.Data.Protocols;
using SerMtl.Experiments;

namespace SerMtl.Cli.Tests;

[Collection(TorchRandomCollection.Name)]
public class ReportCommandTests
{
    [Fact]
    public void Run_OnARunDirectory_WritesTheReportAndSucceeds()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path);

        var run = CliTool.Run("report", "--run", dir.Path);

        Assert.Equal(ExitCodes.Success, run.Exit);
        Assert.Contains("Wrote " + Path.Combine(dir.Path, "report.html"), run.Output);
        Assert.True(File.Exists(Path.Combine(dir.Path, "report.html")));
    }

    [Fact]
    public void Run_OnACrossValidationRunWrittenFromCSharp_RendersItLikeACliRun()
    {
        using var corpus = new TinyCorpus(count: 12);
        using var dir = new TempDirectory();
        var folds = new[] { "spk0", "spk1" }.Select(speaker => new Fold(speaker,
            corpus.Samples.Where(s => s.Speaker != speaker && s.Speaker != "spk2").ToList(),
            corpus.Samples.Where(s => s.Speaker == "spk2").ToList(),
            corpus.Samples.Where(s => s.Speaker == speaker).ToList())).ToList();
        var manifest = new RunManifest("speaker", 0.1, TinyCorpus.Labels, new Dictionary<string, string> { ["epochs"] = "2" });
        new CrossValidationRun(dir.Path, manifest, _ => TinyCorpus.Model())
        {
            ConfigureTrainer = (builder, _) => builder.WithEpochs(2).WithBatchSize(4).WithDevice(TorchSharp.torch.CPU),
        }.Run(folds);

        var run = CliTool.Run("report", "--run", dir.Path);

        Assert.True(run.Exit == ExitCodes.Success, run.Error);
        Assert.Contains("(6 images)", run.Output); // pooled and 2 fold confusions, all folds, 2 fold curves
        var html = File.ReadAllText(Path.Combine(dir.Path, "report.html"));
        Assert.Contains("<td class=\"name\">spk0</td>", html);
        Assert.Contains("<td class=\"name\">spk1</td>", html);
        Assert.Contains("report-curves-spk1.png", html);
    }

    [Fact]
    public void Run_WithoutRun_IsAUsageError()
    {
        Assert.Contains("missing required option --run", CliTool.Usage("report"));
    }

    [Fact]
    public void Run_WithStrayArgumentOrUnknownOption_IsAUsageError()
    {
        Assert.Contains("unexpected argument 'extra'", CliTool.Usage("report", "--run", "x", "extra"));
        Assert.Contains("unknown option --colour", CliTool.Usage("report", "--run", "x", "--colour", "red"));
    }

    [Fact]
    public void Overview_ListsTheReportCommand() =>
        Assert.Matches(@"(?m)^  report +Write report\.html", CliTool.Run("--help").Output);
}
