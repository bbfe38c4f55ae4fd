using System.Diagnostics;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace SerMtl.Cli.Tests;

/// <summary>
/// deploy/: the Slurm scripts are valid bash and every sermtl command in them (and in the Kubernetes Indexed Job)
/// parses with this tool's own command line, so a renamed option breaks this test, not a cluster job.
/// </summary>
public sealed class DeployFilesTests
{
    private static string Deploy(params string[] path) => Path.Combine([TestPaths.RepoRoot, "deploy", .. path]);

    /// <summary>The sermtl command lines of a shell text (continuation lines joined), variables replaced by a placeholder value.</summary>
    private static List<string[]> SermtlCommands(string text)
    {
        var joined = Regex.Replace(text, @"\\\r?\n\s*", " ");
        var commands = new List<string[]>();
        foreach (var line in joined.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("sermtl ", StringComparison.Ordinal)))
        {
            var command = Regex.Replace(line, @"\s*>.*$", "");                  // output redirection
            command = Regex.Replace(command, @"\$\{?[A-Z_]+(:-[^}]*)?\}?", "7");   // $VAR, ${VAR:-default}
            var words = Regex.Matches(command, "\"[^\"]*\"|\\S+").Select(m => m.Value.Trim('"')).ToArray();
            commands.Add(words[1..]);
        }
        return commands;
    }

    private static void AssertParses(string[] args, string where)
    {
        var parse = Sermtl.Build().Parse(args);
        Assert.True(parse.Errors.Count == 0, $"{where}: sermtl {string.Join(' ', args)}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
    }

    [Theory]
    [InlineData("cv-array.sh", "--fold-index")]
    [InlineData("cv-aggregate.sh", "aggregate")]
    [InlineData("predict-array.sh", "--shard")]
    public void SlurmScript_IsValidBash_AndItsSermtlCommandParses(string script, string uses)
    {
        var path = Deploy("slurm", script);
        using (var bash = Process.Start(new ProcessStartInfo("bash", ["-n", path]) { RedirectStandardError = true })!)
        {
            var error = bash.StandardError.ReadToEnd();
            bash.WaitForExit();
            Assert.True(bash.ExitCode == 0, $"bash -n {script}: {error}");
        }
        var commands = SermtlCommands(File.ReadAllText(path));
        Assert.NotEmpty(commands);
        Assert.Contains(commands, c => c.Contains(uses));
        foreach (var command in commands) AssertParses(command, script);
    }

    [Fact]
    public void KubernetesIndexedJob_IsAnIndexedJobWhoseCommandParses()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Deploy("kubernetes", "cv-indexed-job.yaml"))) stream.Load(reader);
        var root = (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
        Assert.Equal("Job", root["kind"].ToString());
        var spec = (YamlMappingNode)root["spec"];
        Assert.Equal("Indexed", spec["completionMode"].ToString());
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)spec["template"])["spec"])["containers"])[0];
        var script = string.Join("\n", ((YamlSequenceNode)container["args"]).Select(a => a.ToString()));
        Assert.Contains("$JOB_COMPLETION_INDEX", script);
        var command = Assert.Single(SermtlCommands(script));
        AssertParses(command, "cv-indexed-job.yaml");
    }

    /// <summary>
    /// The web service's Deployment and Service: both documents load, the Service targets the container's named port, the
    /// probes ask for /health (what samples/WebService maps), and every setting given as Section__Key is one the service
    /// reads (a key of EmotionRecognizerServiceOptions or of the sample's Service section).
    /// </summary>
    [Fact]
    public void KubernetesWebService_DeploymentAndServiceAgreeWithTheSample()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Deploy("kubernetes", "web-service.yaml"))) stream.Load(reader);
        Assert.Equal(2, stream.Documents.Count);
        var deployment = (YamlMappingNode)stream.Documents[0].RootNode;
        var service = (YamlMappingNode)stream.Documents[1].RootNode;
        Assert.Equal("Deployment", deployment["kind"].ToString());
        Assert.Equal("Service", service["kind"].ToString());
        var container = (YamlMappingNode)((YamlSequenceNode)deployment["spec"]["template"]["spec"]["containers"]).Children.Single();
        var port = ((YamlSequenceNode)container["ports"]).Children.Cast<YamlMappingNode>().Single();
        var servicePort = ((YamlSequenceNode)service["spec"]["ports"]).Children.Cast<YamlMappingNode>().Single();
        Assert.Equal(port["name"].ToString(), servicePort["targetPort"].ToString());
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            Assert.Equal("/health", container[probe]["httpGet"]["path"].ToString());
        Assert.Contains("app.MapHealthChecks(\"/health\")", File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "samples", "WebService", "Program.cs")), StringComparison.Ordinal);

        var known = typeof(SerMtl.Extensions.Hosting.EmotionRecognizerServiceOptions).GetProperties().Where(p => p.CanWrite).Select(p => "EmotionRecognizer__" + p.Name)
            .Concat(["Service__MaxUploadBytes", "Service__RequestTimeoutSeconds", "ASPNETCORE_URLS"]).ToHashSet(StringComparer.Ordinal);
        var env = ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>().Select(e => e["name"].ToString()).ToList();
        Assert.Contains("EmotionRecognizer__Model", env);
        Assert.All(env, name => Assert.True(known.Contains(name), $"{name} is not a setting the web service reads"));
    }
}
