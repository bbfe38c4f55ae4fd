using System.Text.RegularExpressions;
using SerMtl.Inference;

namespace SerMtl.Integration.Tests;

/// <summary>samples/QuickStart runs, and the README's "Inference in 10 lines" is its code.</summary>
public sealed class QuickStartTests(SavedModelFixture model) : IClassFixture<SavedModelFixture>
{
    private static string SampleDirectory => Path.Combine(TestPaths.RepoRoot, "samples", "QuickStart");

    /// <summary>The sample's build output for this test run's configuration (bin/&lt;Configuration&gt;/&lt;tfm&gt;).</summary>
    private static string BuiltSample
    {
        get
        {
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            return Path.Combine(SampleDirectory, "bin", tfm.Parent!.Name, tfm.Name, "QuickStart.dll");
        }
    }

    [Fact]
    public void QuickStart_PrintsTheLabelProbabilitiesAndTranscript()
    {
        Assert.True(File.Exists(BuiltSample), $"{BuiltSample} not built");
        var wav = Path.Combine(TestPaths.TinyGroup, "b.wav");
        using var recognizer = EmotionRecognizer.Load(model.Directory);
        var expected = recognizer.Predict(wav);

        var output = DotnetProcess.RunChecked(TestPaths.RepoRoot, TimeSpan.FromMinutes(3), BuiltSample, model.Directory, wav);
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => !l.Contains("NNPACK", StringComparison.Ordinal) && l.Length > 0).ToList();

        Assert.StartsWith($"{expected.Label} (", lines[0]);
        Assert.EndsWith($"\"{expected.Transcript}\"", lines[0]);
        Assert.Equal(SavedModelFixture.Labels.Length, lines.Count - 1);
        foreach (var (line, label) in lines.Skip(1).Zip(SavedModelFixture.Labels))
            Assert.Matches($@"^  {label}\s+{expected.Probabilities[label]:F3}$", line);
    }

    [Fact]
    public void QuickStart_WithoutArguments_PrintsUsage()
    {
        var (exit, output) = DotnetProcess.Run(TestPaths.RepoRoot, TimeSpan.FromMinutes(3), BuiltSample);
        Assert.Equal(2, exit);
        Assert.Contains("usage: QuickStart MODEL_DIR FILE.wav", output);
    }

    [Fact]
    public void Readme_InferenceSnippet_IsTheQuickStartProgram()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        var match = Regex.Match(readme, @"## Inference in 10 lines\n.*?```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, "README.md has no '## Inference in 10 lines' section with a ```csharp block");
        var program = File.ReadAllText(Path.Combine(SampleDirectory, "Program.cs")).ReplaceLineEndings("\n");
        Assert.Equal(program.Trim(), match.Groups[1].Value.Trim());
    }
}
