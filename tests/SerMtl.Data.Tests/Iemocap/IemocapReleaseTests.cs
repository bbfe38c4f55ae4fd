using System.Diagnostics;
using SerMtl.Data.Audio;
using SerMtl.Data.Corpora;
using SerMtl.Data.Iemocap;
using SerMtl.Data.Protocols;
using SerMtl.Data.Tests.TestSupport;
using Xunit.Abstractions;

namespace SerMtl.Data.Tests.Iemocap;

/// <summary>
/// The IEMOCAP release to test against: a real copy when <c>SERMTL_IEMOCAP_ROOT</c> is set, else the replica
/// built once from <c>../shared/iemocap/make_replica.py</c>; null when neither is available.
/// </summary>
public sealed class IemocapReleaseFixture : IDisposable
{
    private readonly TempDirectory? _temp;

    public IemocapReleaseFixture()
    {
        if (SharedData.RealIemocapRoot is { } real)
        {
            Root = real;
            Description = $"real IEMOCAP copy at {real}";
        }
        else if (SharedData.ReplicaUnavailableReason is null)
        {
            _temp = new TempDirectory();
            var watch = Stopwatch.StartNew();
            Root = SharedData.BuildReplica(_temp.Path);
            Description = $"replica built by make_replica.py in {watch.Elapsed.TotalSeconds:F1} s";
        }
        if (Root is not null)
        {
            var watch = Stopwatch.StartNew();
            Dataset = IemocapDataset.Load(Root);
            LoadTime = watch.Elapsed;
        }
    }

    public string? Root { get; }

    public string Description { get; } = "none";

    public IemocapDataset? Dataset { get; }

    public TimeSpan LoadTime { get; }

    public void Dispose() => _temp?.Dispose();
}

/// <summary>
/// The full release (replica or real copy): the 4-class counts the literature reports, and per-speaker and per-fold
/// counts for all three protocols computed independently from <c>../shared/iemocap/utterances.tsv</c>.
/// </summary>
public class IemocapReleaseTests : IClassFixture<IemocapReleaseFixture>
{
    private readonly IemocapReleaseFixture _fixture;
    private readonly ITestOutputHelper _output;

    public IemocapReleaseTests(IemocapReleaseFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
        _output.WriteLine($"data: {fixture.Description}; IemocapDataset.Load took {fixture.LoadTime.TotalMilliseconds:F0} ms");
    }

    private static readonly HashSet<string> FourClassRaw = ["neu", "hap", "exc", "ang", "sad"];

    /// <summary>4-class utterance ids from the shared table (not through the reader), or null without it.</summary>
    private static List<string>? ExpectedIds()
    {
        if (SharedData.IemocapTables is not { } tables) return null;
        var lines = File.ReadAllLines(Path.Combine(tables, "utterances.tsv"));
        var header = lines[0].Split('\t');
        int id = Array.IndexOf(header, "utt_id"), label = Array.IndexOf(header, "label");
        return lines.Skip(1).Select(l => l.Split('\t')).Where(f => FourClassRaw.Contains(f[label])).Select(f => f[id]).ToList();
    }

    private static string SpeakerOf(string id) => id[..5] + id[(id.LastIndexOf('_') + 1)..][0];

    private IemocapDataset Data => _fixture.Dataset!;

    [FactRequiresIemocap]
    public void FourClassSet_HasTheReleaseCounts()
    {
        var corpus = Data.ToCorpus();
        Assert.Equal(5531, corpus.Samples.Count);
        Assert.Equal(["neutral", "happy", "angry", "sad"], corpus.Labels);
        Assert.Equal([1708, 1636, 1103, 1084], corpus.CountByLabel());
        Assert.Equal([1085, 1023, 1151, 1031, 1241],
            Enumerable.Range(1, 5).Select(n => corpus.Samples.Count(s => s.Session == $"Session{n}")));
        Assert.Equal(10039, Data.Utterances.Count);
        Assert.Empty(Data.Skipped);
    }

    [FactRequiresIemocap]
    public void Speakers_MatchTheSharedTable()
    {
        var corpus = Data.ToCorpus();
        var actual = corpus.Samples.GroupBy(s => s.Speaker).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, actual.Count);
        Assert.Equal(5531, actual.Values.Sum());
        if (ExpectedIds() is not { } ids)
        {
            _output.WriteLine("../shared/iemocap/utterances.tsv absent: per-speaker counts only checked for consistency");
            return;
        }
        var expected = ids.GroupBy(SpeakerOf).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.OrderBy(x => x.Key), actual.OrderBy(x => x.Key));
        Assert.Equal(ids.Order(StringComparer.Ordinal), corpus.Samples.Select(s => s.Id).Order(StringComparer.Ordinal));
        foreach (var (speaker, count) in expected.OrderBy(x => x.Key)) _output.WriteLine($"{speaker}: {count}");
    }

    [FactRequiresIemocap]
    public void Folds_MatchTheSharedTableForEveryProtocol()
    {
        var corpus = Data.ToCorpus();
        var ids = ExpectedIds();
        foreach (var protocol in Enum.GetValues<IemocapProtocol>())
        {
            var folds = Folds.Iemocap(corpus, protocol, ValidationOptions.None);
            string[] names = protocol == IemocapProtocol.Session
                ? ["Session1", "Session2", "Session3", "Session4", "Session5"]
                : ["Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F", "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M"];
            Assert.Equal(names, folds.Select(f => f.Name));
            Assert.Equal(5531, folds.Sum(f => f.Test.Count));
            foreach (var fold in folds)
            {
                Assert.Equal(5531 - fold.Test.Count, fold.Train.Count);
                Assert.Empty(fold.Validation);
                if (ids is null) continue;
                Func<string, bool> inTest = protocol switch
                {
                    IemocapProtocol.Paper => id => id.StartsWith(fold.Name + "_", StringComparison.Ordinal),
                    IemocapProtocol.Speaker => id => SpeakerOf(id) == fold.Name,
                    _ => id => $"Session{int.Parse(id.AsSpan(3, 2))}" == fold.Name,
                };
                Assert.Equal(ids.Where(inTest).Order(StringComparer.Ordinal), fold.Test.Select(s => s.Id).Order(StringComparer.Ordinal));
                _output.WriteLine($"{protocol} {fold.Name}: test {fold.Test.Count}, train {fold.Train.Count}");
            }
            if (protocol != IemocapProtocol.Paper)
            {
                foreach (var fold in folds)
                {
                    var test = fold.Test.Select(s => s.Speaker).ToHashSet();
                    Assert.DoesNotContain(fold.Train, s => test.Contains(s.Speaker));
                }
            }
        }
    }

    [FactRequiresIemocap]
    public void DefaultValidation_CarvesTenPercentOfTrainingAndNeverTouchesTest()
    {
        foreach (var protocol in Enum.GetValues<IemocapProtocol>())
        {
            foreach (var fold in Data.Folds(protocol))
            {
                var pool = 5531 - fold.Test.Count;
                Assert.Equal(pool, fold.Train.Count + fold.Validation.Count);
                Assert.InRange(fold.Validation.Count, 0.1 * pool - 10, 0.1 * pool + 10);
                var test = fold.Test.Select(s => s.Id).ToHashSet();
                Assert.DoesNotContain(fold.Validation, s => test.Contains(s.Id));
            }
        }
    }

    [FactRequiresIemocap]
    public void Transcripts_MatchTheSharedTable()
    {
        if (SharedData.IemocapTables is not { } tables)
        {
            _output.WriteLine("../shared/iemocap/transcripts.tsv absent: transcripts not compared");
            return;
        }
        var lines = File.ReadAllLines(Path.Combine(tables, "transcripts.tsv"));
        var header = lines[0].Split('\t');
        int id = Array.IndexOf(header, "line_id"), text = Array.IndexOf(header, "text");
        var expected = new Dictionary<string, string>();
        foreach (var f in lines.Skip(1).Select(l => l.Split('\t'))) expected.TryAdd(f[id], f[text].TrimEnd());
        foreach (var u in Data.Utterances) Assert.Equal(expected[u.Id], u.Transcript);
    }

    [FactRequiresIemocap]
    public void Audio_OfEverySessionLoadsAt16k()
    {
        foreach (var u in Data.ToCorpus().Samples.GroupBy(s => s.Session).Select(g => g.First()))
        {
            var samples = AudioLoader.LoadMono(u.AudioPath);
            Assert.NotEmpty(samples);
            Assert.All(samples, x => Assert.InRange(x, -1f, 1f));
        }
    }
}
