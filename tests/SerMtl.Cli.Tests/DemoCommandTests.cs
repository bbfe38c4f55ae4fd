using SerMtl.Cli;
using SerMtl.Cli.Commands;
using SerMtl.Experiments;
using SerMtl.Modeling;

namespace SerMtl.Cli.Tests;

[Collection(TorchRandomCollection.Name)]
public class DemoCommandTests
{
    // Wiring only (one short epoch): whether the demo learns is checked by running it in full ('demo --check').
    [Fact]
    public void Demo_TinyRun_WritesResultsReportModelAndPrediction()
    {
        var outDir = Path.Combine(Path.GetTempPath(), "sermtl-demo-" + Guid.NewGuid().ToString("N"));
        try
        {
            var run = CliTool.Run("demo", "--out", outDir, "--epochs", "1", "--utterances", "2", "--threads", "1");
            Assert.True(run.Exit == ExitCodes.Success, run.Error);
            var output = run.Output;

            var results = RunResults.Load(Path.Combine(outDir, RunResults.FileName));
            Assert.Equal("session", results.Protocol);
            Assert.Equal(["neutral", "happy", "angry", "sad"], results.Labels);
            var fold = Assert.Single(results.Folds);
            Assert.Equal("Session5", fold.Name);
            Assert.Equal(16, fold.Test); // 2 held-out speakers x 4 emotions x 2 utterances
            Assert.Equal(fold.Test, fold.Confusion!.Sum(r => r.Sum()));
            Assert.True(File.Exists(Path.Combine(outDir, "report.html")));
            using (var model = SerMtlModel.Load(Path.Combine(outDir, "model")))
                Assert.Equal(results.Labels, model.Labels);
            Assert.Contains("prediction for Ses05", output.ToString());
            Assert.Contains("sermtl cv --iemocap", output.ToString());
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }
}
