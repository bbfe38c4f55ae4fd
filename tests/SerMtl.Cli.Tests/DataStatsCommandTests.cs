using System.Text.Json;
using SerMtl.Cli;
using Xunit.Abstractions;

namespace SerMtl.Cli.Tests;

public class DataStatsCommandTests(IemocapReplicaFixture fixture, ITestOutputHelper output) : IClassFixture<IemocapReplicaFixture>
{
    private static readonly string[] Speakers = ["Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F", "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M"];

    private static (int Exit, string Text) Run(params string[] argv)
    {
        var outcome = CliTool.Run(["data", "stats", .. argv]);
        return (outcome.Exit, outcome.Output);
    }

    /// <summary>4-class utterance ids straight from ../shared/iemocap/utterances.tsv, or null without it.</summary>
    private static List<string>? TableIds()
    {
        if (IemocapReplicaFixture.Tables is not { } tables) return null;
        var lines = File.ReadAllLines(Path.Combine(tables, "utterances.tsv"));
        var header = lines[0].Split('\t');
        int id = Array.IndexOf(header, "utt_id"), label = Array.IndexOf(header, "label");
        return lines.Skip(1).Select(l => l.Split('\t')).Where(f => f[label] is "neu" or "hap" or "exc" or "ang" or "sad").Select(f => f[id]).ToList();
    }

    private static string SpeakerOf(string id) => id[..5] + id[(id.LastIndexOf('_') + 1)..][0];

    [FactRequiresIemocapReplica]
    public void Json_PaperProtocol_PrintsTheReleaseCounts()
    {
        var (exit, text) = Run("--iemocap", fixture.Root!, "--protocol", "paper", "--validation", "none", "--json");
        output.WriteLine(text);
        Assert.Equal(ExitCodes.Success, exit);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal(["total", "classes", "sessions", "speakers", "folds"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(5531, root.GetProperty("total").GetInt32());
        Assert.Equal([("neutral", 1708), ("happy", 1636), ("angry", 1103), ("sad", 1084)],
            root.GetProperty("classes").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())));
        Assert.Equal([("1", 1085), ("2", 1023), ("3", 1151), ("4", 1031), ("5", 1241)],
            root.GetProperty("sessions").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())));
        var speakers = root.GetProperty("speakers").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(Speakers, speakers.Keys);
        Assert.Equal(5531, speakers.Values.Sum());

        var folds = root.GetProperty("folds").EnumerateArray().ToList();
        Assert.Equal(Speakers, folds.Select(f => f.GetProperty("name").GetString()));
        Assert.All(folds, f => Assert.Equal(["name", "test", "train", "validation"], f.EnumerateObject().Select(p => p.Name)));
        Assert.All(folds, f => Assert.Equal(5531, f.GetProperty("test").GetInt32() + f.GetProperty("train").GetInt32()));
        Assert.All(folds, f => Assert.Equal(0, f.GetProperty("validation").GetInt32()));

        if (TableIds() is { } ids)
        {
            Assert.Equal(ids.GroupBy(SpeakerOf).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())), speakers.Select(p => (p.Key, p.Value)));
            Assert.Equal(Speakers.Select(p => ids.Count(id => id.StartsWith(p + "_", StringComparison.Ordinal))),
                folds.Select(f => f.GetProperty("test").GetInt32()));
        }
    }

    [FactRequiresIemocapReplica]
    public void Json_SpeakerAndSessionProtocols_SplitTestTrainAndValidation()
    {
        var ids = TableIds();
        foreach (var (protocol, names) in new[] { ("speaker", Speakers), ("session", Enumerable.Range(1, 5).Select(n => $"Session{n}").ToArray()) })
        {
            var (exit, text) = Run("--iemocap", fixture.Root!, "--protocol", protocol, "--json");
            Assert.Equal(ExitCodes.Success, exit);
            using var json = JsonDocument.Parse(text);
            var folds = json.RootElement.GetProperty("folds").EnumerateArray().ToList();
            Assert.Equal(names, folds.Select(f => f.GetProperty("name").GetString()));
            foreach (var f in folds)
            {
                int test = f.GetProperty("test").GetInt32(), train = f.GetProperty("train").GetInt32(), validation = f.GetProperty("validation").GetInt32();
                Assert.Equal(5531, test + train + validation);
                Assert.InRange(validation, 0.1 * (5531 - test) - 10, 0.1 * (5531 - test) + 10);
                if (ids is null) continue;
                var name = f.GetProperty("name").GetString()!;
                var expected = protocol == "speaker" ? ids.Count(id => SpeakerOf(id) == name) : ids.Count(id => $"Session{int.Parse(id.AsSpan(3, 2))}" == name);
                Assert.Equal(expected, test);
            }
        }
    }

    [FactRequiresIemocapReplica]
    public void Table_ShowsTotalsAndEveryFold()
    {
        var (exit, text) = Run("--iemocap", fixture.Root!, "--protocol", "session", "--validation", "speakers:1");
        output.WriteLine(text);
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("total: 5531 of 10039 labelled utterances", text);
        Assert.Contains("neutral", text);
        Assert.Contains("protocol: session (5 folds), validation: 1 held-out training speaker(s), seed 0", text);
        foreach (var n in Enumerable.Range(1, 5)) Assert.Matches($@"(?m)^Session{n}\s+\d+\s+\d+\s+\d+$", text);
    }

    [Fact]
    public void Overview_ListsTheCommand() =>
        Assert.Matches(@"(?m)^  data stats +Count IEMOCAP utterances", CliTool.Run("--help").Output);

    [Theory]
    [InlineData(new[] { "--protocol", "paper" }, "--iemocap")]
    [InlineData(new[] { "--iemocap", "/x" }, "--protocol")]
    [InlineData(new[] { "--iemocap", "/x", "--protocol", "dialog" }, "paper|speaker|session")]
    [InlineData(new[] { "--iemocap", "/x", "--protocol", "paper", "--validation", "fraction:2" }, "fraction:F")]
    [InlineData(new[] { "--iemocap", "/x", "--protocol", "paper", "--validation", "all" }, "none, fraction[:F] or speakers[:N]")]
    [InlineData(new[] { "--iemocap", "/x", "--protocol", "paper", "--labels", "neu" }, "--labels")]
    [InlineData(new[] { "--iemocap", "/x", "--protocol", "paper", "--folds", "3" }, "unknown option --folds")]
    public void BadArguments_AreUsageErrors(string[] argv, string expected) =>
        Assert.Contains(expected, CliTool.Usage(["data", "stats", .. argv]));

    [Fact]
    public void MissingRoot_FailsNamingIt()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sermtl-no-such-iemocap-" + Guid.NewGuid().ToString("N"));
        Assert.Contains(missing, CliTool.Failure("data", "stats", "--iemocap", missing, "--protocol", "paper"));
    }
}
