using SerMtl.Cli;

namespace SerMtl.Tests.Cli.Reporting;

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
