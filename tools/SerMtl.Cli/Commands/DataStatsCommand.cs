using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SerMtl.Data.Corpora;
using SerMtl.Data.Iemocap;
using SerMtl.Data.Protocols;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl data stats</c>: what the IEMOCAP reader and a protocol make of a release, as a table or JSON.</summary>
internal sealed class DataStatsCommand : SermtlCommand
{
    private readonly TextWriter _out;
    private readonly Option<string> _iemocap = CliOption.Required("--iemocap", "ROOT", "the release");
    private readonly Option<string> _protocol = new("--protocol")
    {
        HelpName = "paper|speaker|session",
        Description = """
            paper   10 folds Ses01F..Ses05M: test = dialogs with that prefix (both actors of the session also speak in training dialogs: speaker-dependent)
            speaker 10 folds, leave one speaker out
            session 5 folds Session1..Session5, leave one session out
            """,
        Required = true,
    };
    private readonly Option<string?> _labels = CliOption.Text("--labels", "SPEC", "label map, default \"neu=neutral, hap+exc=happy, ang=angry, sad=sad\"");
    private readonly Option<string> _validation = new("--validation") { HelpName = "V", Description = CorpusArgs.ValidationHelp, DefaultValueFactory = _ => "fraction" };
    private readonly Option<int> _seed = CliOption.Int("--seed", "validation seed", 0);
    private readonly Option<bool> _skipMissing = CliOption.Flag("--skip-missing", "leave out utterances whose wav or transcript is missing (default: error)");
    private readonly Option<bool> _json = CliOption.Flag("--json",
        "print {\"total\", \"classes\", \"sessions\", \"speakers\", \"folds\": [{\"name\", \"test\", \"train\", \"validation\"}]} instead of tables");

    public DataStatsCommand(TextWriter? output = null)
        : base("stats", "Count IEMOCAP utterances per class, session, speaker and fold of a protocol", """
            Reads an IEMOCAP release (ROOT may be IEMOCAP_full_release, its parent, or a doubled
            IEMOCAP_full_release/IEMOCAP_full_release) and prints utterance counts for a label set, per class,
            session, speaker (session + gender letter of the utterance id's last segment) and fold.

            Examples:
              sermtl data stats --iemocap ~/data/IEMOCAP_full_release --protocol session
              sermtl data stats --iemocap ~/data --protocol paper --validation none --json
            """)
    {
        _out = output ?? Console.Out;
        foreach (var option in new Option[] { _iemocap, _protocol, _labels, _validation, _seed, _skipMissing, _json }) Add(option);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var root = parse.GetRequiredValue(_iemocap);
        var protocolName = parse.GetRequiredValue(_protocol);
        var protocol = protocolName switch
        {
            "paper" => IemocapProtocol.Paper,
            "speaker" => IemocapProtocol.Speaker,
            "session" => IemocapProtocol.Session,
            _ => throw new UsageException($"--protocol expects one of paper|speaker|session, got '{protocolName}'"),
        };
        var labelSpec = parse.GetValue(_labels);
        LabelMap labels;
        try
        {
            labels = labelSpec is null ? LabelMap.IemocapFourClass : LabelMap.Parse(labelSpec);
        }
        catch (FormatException e)
        {
            throw new UsageException("--labels: " + e.Message);
        }
        var seed = parse.GetValue(_seed);
        var validation = CorpusArgs.ParseValidation(parse.GetValue(_validation) ?? "fraction", seed);
        var skipMissing = parse.GetValue(_skipMissing);
        var json = parse.GetValue(_json);
        var dataset = IemocapDataset.Load(root, new IemocapOptions { MissingFiles = skipMissing ? MissingFilePolicy.Skip : MissingFilePolicy.Error });
        cancellationToken.ThrowIfCancellationRequested();
        var corpus = dataset.ToCorpus(labels);
        var folds = Folds.Iemocap(corpus, protocol, validation);

        var classes = corpus.Labels.Zip(corpus.CountByLabel()).ToList();
        var sessions = dataset.Utterances.Where(u => labels.TryMap(u.RawLabel, out _))
            .GroupBy(u => u.Session).OrderBy(g => g.Key)
            .Select(g => (Key: g.Key.ToString(CultureInfo.InvariantCulture), Count: g.Count())).ToList();
        var speakers = corpus.Samples.GroupBy(s => s.Speaker).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, Count: g.Count())).ToList();

        if (json)
        {
            WriteJson(corpus.Samples.Count, classes, sessions, speakers, folds);
            return ExitCodes.Success;
        }

        _out.WriteLine($"IEMOCAP {dataset.ReleaseDirectory}");
        _out.WriteLine($"labels: {labels}");
        _out.WriteLine($"total: {corpus.Samples.Count} of {dataset.Utterances.Count} labelled utterances");
        if (dataset.Skipped.Count > 0)
        {
            _out.WriteLine($"skipped (missing files): {dataset.Skipped.Count}");
            foreach (var s in dataset.Skipped.Take(10)) _out.WriteLine($"  {s.Id}: {s.Reason}");
            if (dataset.Skipped.Count > 10) _out.WriteLine($"  ... and {dataset.Skipped.Count - 10} more");
        }
        _out.WriteLine();
        Table(["class", "utterances"], classes.Select(c => new[] { c.First, Count(c.Second) }));
        Table(["session", "utterances"], sessions.Select(s => new[] { s.Key, Count(s.Count) }));
        Table(["speaker", "utterances"], speakers.Select(s => new[] { s.Key, Count(s.Count) }));
        _out.WriteLine($"protocol: {protocolName} ({folds.Count} folds), validation: {CorpusArgs.Describe(validation)}");
        Table(["fold", "test", "validation", "train"],
            folds.Select(f => new[] { f.Name, Count(f.Test.Count), Count(f.Validation.Count), Count(f.Train.Count) }));
        return ExitCodes.Success;
    }

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);

    private void Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        var widths = header.Select((_, c) => all.Max(r => r[c].Length)).ToArray();
        foreach (var row in all)
        {
            // First column left-aligned (names), the rest right-aligned (counts).
            _out.WriteLine(string.Join("  ", row.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        }
        _out.WriteLine();
    }

    private void WriteJson(int total, List<(string First, int Second)> classes, List<(string Key, int Count)> sessions,
        List<(string Key, int Count)> speakers, IReadOnlyList<Fold> folds)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("total", total);
            w.WriteStartObject("classes");
            foreach (var (label, count) in classes) w.WriteNumber(label, count);
            w.WriteEndObject();
            w.WriteStartObject("sessions");
            foreach (var (session, count) in sessions) w.WriteNumber(session, count);
            w.WriteEndObject();
            w.WriteStartObject("speakers");
            foreach (var (speaker, count) in speakers) w.WriteNumber(speaker, count);
            w.WriteEndObject();
            w.WriteStartArray("folds");
            foreach (var f in folds)
            {
                w.WriteStartObject();
                w.WriteString("name", f.Name);
                w.WriteNumber("test", f.Test.Count);
                w.WriteNumber("train", f.Train.Count);
                w.WriteNumber("validation", f.Validation.Count);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        _out.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
