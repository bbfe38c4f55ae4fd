using System.Text.RegularExpressions;
using SerMtl.Experiments;
using SerMtl.Reporting;

namespace SerMtl.Reporting.Tests;

public class ReportWriterTests
{
    [Fact]
    public void Write_TwoFoldRun_WritesHtmlWithEveryFoldRowAndThePooledRow()
    {
        using var dir = new TempDirectory();
        var results = SampleRun.Create(dir.Path, folds: 2, epochs: 10);

        var report = ReportWriter.Write(dir.Path);

        Assert.Equal(Path.Combine(dir.Path, "report.html"), report.HtmlPath);
        var html = File.ReadAllText(report.HtmlPath);
        foreach (var fold in results.Folds)
        {
            var row = Regex.Match(html, $"<tr><td class=\"name\">{fold.Name}</td><td>{fold.Test}</td>.*?</tr>");
            Assert.True(row.Success, $"no table row for {fold.Name}");
            Assert.Contains($"{fold.UnweightedAccuracy * 100:F2}", row.Value);
            Assert.Contains($"<td>10</td>", row.Value); // epochs logged
        }
        Assert.Matches($"<tr class=\"pooled\"><td class=\"name\">pooled</td><td>{results.Pooled.Test}</td>", html);
        Assert.Contains("protocol <b>session</b>", html);
        Assert.Contains("&alpha; = <b>0.1</b>", html);
        Assert.Contains("speaker-independent", html);
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public void Write_TwoFoldRun_ReferencesOnlyExistingValidPngsBesideThePage()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path, folds: 2, epochs: 10);

        var report = ReportWriter.Write(dir.Path);

        var html = File.ReadAllText(report.HtmlPath);
        var sources = Regex.Matches(html, "<img src=\"([^\"]+)\" width=\"(\\d+)\" height=\"(\\d+)\"").ToList();
        // Pooled confusion, one confusion per fold, all-folds curves, one curve figure per fold.
        Assert.Equal(6, sources.Count);
        Assert.Equal(report.Images.Select(Path.GetFileName).Order(), sources.Select(m => m.Groups[1].Value).Order());
        foreach (var m in sources)
        {
            var png = File.ReadAllBytes(Path.Combine(dir.Path, m.Groups[1].Value));
            Assert.Equal((int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value)), PngTestReader.Dimensions(png));
            PngTestReader.Decode(png);
        }
        Assert.Contains("report-curves-Session1.png", html);
        Assert.Contains("report-confusion-pooled.png", html);
        Assert.Contains("report-confusion-Session2.png", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http", html);
    }

    [Fact]
    public void Write_OutOption_PutsPageAndImagesThereNamedAfterThePage()
    {
        using var dir = new TempDirectory();
        using var elsewhere = new TempDirectory();
        SampleRun.Create(dir.Path);

        var report = ReportWriter.Write(dir.Path, Path.Combine(elsewhere.Path, "alpha01.html"));

        Assert.True(File.Exists(Path.Combine(elsewhere.Path, "alpha01.html")));
        Assert.All(report.Images, p => Assert.StartsWith(Path.Combine(elsewhere.Path, "alpha01-"), p));
        Assert.False(File.Exists(Path.Combine(dir.Path, "report.html")));
    }

    [Fact]
    public void Write_SingleTrainingRun_PlotsTheTopLevelLogForItsOnlyFold()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path, folds: 1, epochs: 6, topLevelLog: true);

        var report = ReportWriter.Write(dir.Path);

        Assert.Contains(report.Images, p => Path.GetFileName(p) == "report-curves-Session1.png");
        Assert.DoesNotContain("No per-epoch log", File.ReadAllText(report.HtmlPath));
    }

    [Fact]
    public void Write_FoldWithoutLogAndLogWithOnlyEpochs_StillWritesTheReportAndSaysSo()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path, folds: 3);
        File.Delete(EpochLog.PathForFold(dir.Path, "Session2"));
        File.WriteAllText(EpochLog.PathForFold(dir.Path, "Session3"), "epoch,seconds\n1,60\n");

        var report = ReportWriter.Write(dir.Path);

        var html = File.ReadAllText(report.HtmlPath);
        Assert.Contains("No per-epoch log (folds/&lt;fold&gt;/epochs.csv) for: Session2.", html);
        Assert.Contains("has no validation or loss columns to plot", html);
        Assert.Contains(report.Images, p => p.EndsWith("report-curves-Session1.png", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Images, p => p.EndsWith("report-curves-Session3.png", StringComparison.Ordinal));
    }

    [Fact]
    public void Write_FoldStillTraining_ShowsItsCurvesWithoutATestResult()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path, folds: 1);
        EpochLog.Append(EpochLog.PathForFold(dir.Path, "Session9"), new EpochRecord { Epoch = 1, ValUa = 0.4, ValWer = 0.9 });

        var report = ReportWriter.Write(dir.Path);

        Assert.Contains(report.Images, p => p.EndsWith("report-curves-Session9.png", StringComparison.Ordinal));
    }

    [Fact]
    public void Write_NamesFromTheRun_AreHtmlEncoded()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, RunResults.FileName), """
            {"protocol": "<i>custom</i>", "alpha": 0.1, "labels": ["a&b", "<c>"],
             "folds": [{"name": "x<y>&z", "test": 2, "weighted_accuracy": 1, "unweighted_accuracy": 1, "confusion": [[1, 0], [0, 1]]}],
             "pooled": {"test": 2, "weighted_accuracy": 1, "unweighted_accuracy": 1, "confusion": [[1, 0], [0, 1]]}}
            """);

        var html = File.ReadAllText(ReportWriter.Write(dir.Path).HtmlPath);

        Assert.Contains("x&lt;y&gt;&amp;z", html);
        Assert.Contains("a&amp;b, &lt;c&gt;", html);
        Assert.Contains("&lt;i&gt;custom&lt;/i&gt;", html);
        Assert.DoesNotContain("<i>custom", html);
        Assert.DoesNotContain("x<y>", html);
    }

    [Fact]
    public void Write_InconsistentTotals_AreListedOnThePage()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, RunResults.FileName), """
            {"protocol": "paper", "alpha": 0.1, "labels": ["a", "b"],
             "folds": [{"name": "F", "test": 9, "weighted_accuracy": 1, "unweighted_accuracy": 1, "confusion": [[1, 0], [0, 1]]}],
             "pooled": {"test": 9, "weighted_accuracy": 1, "unweighted_accuracy": 1, "confusion": [[1, 0], [0, 1]]}}
            """);

        var report = ReportWriter.Write(dir.Path);

        Assert.NotEmpty(report.Warnings);
        Assert.Contains("Check these", File.ReadAllText(report.HtmlPath));
    }

    [Fact]
    public void Write_DirectoryWithoutResults_SaysWhatIsMissing()
    {
        using var dir = new TempDirectory();
        EpochLog.Append(Path.Combine(dir.Path, EpochLog.FileName), new EpochRecord { Epoch = 1 });

        var e = Assert.Throws<FileNotFoundException>(() => ReportWriter.Write(dir.Path));

        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("no results.json", e.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, "report.html")));
    }

    [Fact]
    public void Write_MissingDirectory_SaysSo()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sermtl-no-such-run-" + Guid.NewGuid().ToString("N")[..8]);

        var e = Assert.Throws<DirectoryNotFoundException>(() => ReportWriter.Write(missing));

        Assert.Contains("no such directory", e.Message);
    }

    [Fact]
    public void Write_MalformedEpochLog_NamesTheFileAndLine()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path);
        var log = EpochLog.PathForFold(dir.Path, "Session2");
        File.AppendAllText(log, "11,oops\n");

        var e = Assert.Throws<InvalidDataException>(() => ReportWriter.Write(dir.Path));

        Assert.Contains(log, e.Message);
        Assert.Contains("line 12", e.Message);
    }

    [Fact]
    public void Write_GivenTheResultsFileInsteadOfTheDirectory_Works()
    {
        using var dir = new TempDirectory();
        SampleRun.Create(dir.Path);

        var report = ReportWriter.Write(Path.Combine(dir.Path, RunResults.FileName));

        Assert.Equal(Path.Combine(dir.Path, "report.html"), report.HtmlPath);
    }
}
