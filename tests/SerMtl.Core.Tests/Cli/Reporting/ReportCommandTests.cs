using SerMtl.Cli;
using SerMtl.Cli.Commands;

namespace SerMtl.Tests.Cli.Reporting;

public class ReportCommandTests
{
    [Fact]
    public void Run_OnARunDirectory_WritesTheReportAndSucceeds()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path);

        var code = new ReportCommand().Run(new CliArgs(["--run", dir.Path]), CancellationToken.None);

        Assert.Equal(ExitCodes.Success, code);
        Assert.True(File.Exists(Path.Combine(dir.Path, "report.html")));
    }

    [Fact]
    public void Run_WithoutRun_IsAUsageError()
    {
        var e = Assert.Throws<UsageException>(() => new ReportCommand().Run(new CliArgs([]), CancellationToken.None));
        Assert.Contains("--run", e.Message);
    }

    [Fact]
    public void Run_WithStrayArgumentOrUnknownOption_IsAUsageError()
    {
        Assert.Throws<UsageException>(() => new ReportCommand().Run(new CliArgs(["--run", "x", "extra"]), CancellationToken.None));
        Assert.Throws<UsageException>(() => new ReportCommand().Run(new CliArgs(["--run", "x", "--colour", "red"]), CancellationToken.None));
    }

    [Fact]
    public void Registry_ListsTheReportCommand() =>
        Assert.Contains(CommandRegistry.All, c => c is ReportCommand && c.Name == "report");
}
