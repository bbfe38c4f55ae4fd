using System.Globalization;
using System.Text.RegularExpressions;
using SerMtl.Data.Corpora;
using SerMtl.Data.Protocols;

namespace SerMtl.Data.Iemocap;

/// <summary>
/// The IEMOCAP release (<c>IEMOCAP_full_release</c>): labelled utterances from
/// <c>SessionN/dialog/EmoEvaluation/&lt;dialog&gt;.txt</c>, their transcripts from
/// <c>SessionN/dialog/transcriptions/&lt;dialog&gt;.txt</c> and audio at
/// <c>SessionN/sentences/wav/&lt;dialog&gt;/&lt;id&gt;.wav</c>.
/// </summary>
/// <remarks>
/// <para>Only the summary lines of EmoEvaluation files are read
/// (<c>[start - end]&lt;TAB&gt;id&lt;TAB&gt;label&lt;TAB&gt;[V, A, D]</c>); evaluator lines, headers and the
/// <c>Categorical/</c>, <c>Attribute/</c>, <c>Self-evaluation/</c> subfolders are ignored. Transcription lines are
/// <c>id [start-end]: text</c>; lines without an id and the unlabelled <c>FXX</c>/<c>MXX</c> lines are skipped.
/// macOS <c>._*</c> files are ignored and CRLF line ends are fine.</para>
/// <para>The root may be the release folder itself, its parent, or a doubled
/// <c>IEMOCAP_full_release/IEMOCAP_full_release</c> as some archives unpack. Whatever sessions are present are
/// read (the real release has five).</para>
/// </remarks>
public sealed partial class IemocapDataset
{
    /// <summary>The release folder's usual name.</summary>
    public const string ReleaseFolderName = "IEMOCAP_full_release";

    private const string Number = @"[-+]?(?:\d+\.?\d*|\.\d+)";

    [GeneratedRegex(@"^Session(\d{1,2})$")]
    private static partial Regex SessionFolderRegex();

    [GeneratedRegex(@"^Ses(\d\d)([FM])_(impro|script)[A-Za-z0-9_]*$")]
    private static partial Regex DialogRegex();

    [GeneratedRegex(@"^\[\s*(" + Number + @")\s*-\s*(" + Number + @")\s*\]\s+(\S+)\s+(\S+)\s+\[\s*(" + Number + @")\s*,\s*(" + Number + @")\s*,\s*(" + Number + @")\s*\]$")]
    private static partial Regex SummaryLineRegex();

    [GeneratedRegex(@"^(\S+)\s+\[\s*" + Number + @"\s*-\s*" + Number + @"\s*\]\s*:\s?(.*)$")]
    private static partial Regex TranscriptLineRegex();

    [GeneratedRegex(@"^([FM])\d+$")]
    private static partial Regex TurnRegex();

    [GeneratedRegex(@"^[FM]XX\d*$")]
    private static partial Regex UnlabelledTurnRegex();

    private IemocapDataset(string releaseDirectory, IReadOnlyList<int> sessions, IReadOnlyList<IemocapUtterance> utterances, IReadOnlyList<SkippedSample> skipped)
    {
        ReleaseDirectory = releaseDirectory;
        Sessions = sessions;
        Utterances = utterances;
        Skipped = skipped;
    }

    /// <summary>Full path of the release folder (the one holding <c>Session1</c>…).</summary>
    public string ReleaseDirectory { get; }

    /// <summary>The session numbers found, ascending.</summary>
    public IReadOnlyList<int> Sessions { get; }

    /// <summary>Every labelled utterance with all its raw labels, ordered by session, dialog and id.</summary>
    public IReadOnlyList<IemocapUtterance> Utterances { get; }

    /// <summary>Utterances left out under <see cref="MissingFilePolicy.Skip"/>, with the reason.</summary>
    public IReadOnlyList<SkippedSample> Skipped { get; }

    /// <summary>Reads the release under <paramref name="root"/>.</summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">No release under the root, a malformed file (named, with the line), or missing files under <see cref="MissingFilePolicy.Error"/>.</exception>
    public static IemocapDataset Load(string root, IemocapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new IemocapOptions();
        var release = LocateRelease(root);

        var sessions = new List<(int Number, string Path)>();
        foreach (var dir in Directory.EnumerateDirectories(release))
        {
            var m = SessionFolderRegex().Match(Path.GetFileName(dir));
            if (m.Success) sessions.Add((int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), dir));
        }
        sessions.Sort((a, b) => a.Number.CompareTo(b.Number));

        var utterances = new List<IemocapUtterance>();
        var skipped = new List<SkippedSample>();
        var problems = new List<string>();
        foreach (var (number, sessionDir) in sessions)
            ReadSession(number, sessionDir, options, utterances, skipped, problems);

        if (problems.Count > 0)
        {
            throw new InvalidDataException(
                $"{release}: {problems.Count} labelled utterance(s) have missing files, e.g. {string.Join("; ", problems.Take(3))}. " +
                $"Restore them, or load with {nameof(IemocapOptions.MissingFiles)} = {nameof(MissingFilePolicy.Skip)} to leave those utterances out");
        }
        if (utterances.Count == 0 && skipped.Count == 0)
            throw new InvalidDataException($"{release}: no labelled utterances in any SessionN/dialog/EmoEvaluation/*.txt");

        utterances.Sort((a, b) =>
        {
            var c = a.Session.CompareTo(b.Session);
            if (c == 0) c = string.CompareOrdinal(a.Dialog, b.Dialog);
            return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
        });
        return new IemocapDataset(release, sessions.Select(s => s.Number).ToArray(), utterances, skipped);
    }

    /// <summary>
    /// The utterances whose raw label <paramref name="labels"/> maps (default
    /// <see cref="LabelMap.IemocapFourClass"/>) as a corpus; samples carry <c>Session</c> (<c>Session1</c>…) and
    /// <c>Dialog</c> for the protocols.
    /// </summary>
    public SpeechCorpus ToCorpus(LabelMap? labels = null)
    {
        labels ??= LabelMap.IemocapFourClass;
        var samples = new List<SpeechSample>();
        foreach (var u in Utterances)
        {
            if (labels.TryMap(u.RawLabel, out var label))
                samples.Add(new SpeechSample(u.Id, u.WavPath, u.Speaker, label, u.Transcript, SessionName(u.Session), u.Dialog));
        }
        return new SpeechCorpus("IEMOCAP", labels.Labels, samples);
    }

    /// <summary>The folds of <paramref name="protocol"/> over <see cref="ToCorpus"/>(<paramref name="labels"/>).</summary>
    public IReadOnlyList<Fold> Folds(IemocapProtocol protocol, LabelMap? labels = null, ValidationOptions? validation = null) =>
        Protocols.Folds.Iemocap(ToCorpus(labels), protocol, validation);

    /// <summary>The session's folder name and the <see cref="SpeechSample.Session"/> value: <c>Session</c> + number.</summary>
    public static string SessionName(int session) => "Session" + session.ToString(CultureInfo.InvariantCulture);

    private static string LocateRelease(string root)
    {
        var full = Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"{full}: IEMOCAP root folder not found");
        string[] candidates =
        [
            full,
            Path.Combine(full, ReleaseFolderName),
            Path.Combine(full, ReleaseFolderName, ReleaseFolderName),
        ];
        foreach (var candidate in candidates)
        {
            if (Directory.Exists(candidate) &&
                Directory.EnumerateDirectories(candidate).Any(d => SessionFolderRegex().IsMatch(Path.GetFileName(d))))
                return candidate;
        }
        throw new InvalidDataException(
            $"{full}: no IEMOCAP release here: expected Session1…Session5 folders in it, in {ReleaseFolderName}/ " +
            $"or in {ReleaseFolderName}/{ReleaseFolderName}/");
    }

    private static void ReadSession(int session, string sessionDir, IemocapOptions options,
        List<IemocapUtterance> utterances, List<SkippedSample> skipped, List<string> problems)
    {
        var emoDir = Path.Combine(sessionDir, "dialog", "EmoEvaluation");
        if (!Directory.Exists(emoDir))
            throw new InvalidDataException($"{sessionDir}: no dialog/EmoEvaluation folder (expected the labels of Session{session} there)");
        var files = Directory.EnumerateFiles(emoDir, "*.txt", SearchOption.TopDirectoryOnly)
            .Where(f => !Path.GetFileName(f).StartsWith("._", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var dialog = Path.GetFileNameWithoutExtension(file);
            var m = DialogRegex().Match(dialog);
            if (!m.Success) continue; // not a dialog's label file
            var dialogSession = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (dialogSession != session)
                throw new InvalidDataException($"{file}: dialog '{dialog}' belongs to Session{dialogSession}, not Session{session}");
            var kind = m.Groups[3].Value == "impro" ? IemocapDialogKind.Improvised : IemocapDialogKind.Scripted;

            var labelled = ReadEmoEvaluation(file, dialog);
            var transcriptFile = Path.Combine(sessionDir, "dialog", "transcriptions", dialog + ".txt");
            var transcripts = File.Exists(transcriptFile)
                ? ReadTranscriptions(transcriptFile, labelled.Select(l => l.Id).ToHashSet(StringComparer.Ordinal))
                : null;
            var wavDir = Path.Combine(sessionDir, "sentences", "wav", dialog);
            foreach (var l in labelled)
            {
                var wav = Path.Combine(wavDir, l.Id + ".wav");
                string? missing = null;
                if (!File.Exists(wav)) missing = $"no wav file {wav}";
                string? transcript = null;
                if (transcripts is null)
                    missing = Join(missing, $"no transcription file {transcriptFile}");
                else if (!transcripts.TryGetValue(l.Id, out transcript))
                    missing = Join(missing, $"no line for it in {transcriptFile}");
                if (missing is not null)
                {
                    if (options.MissingFiles == MissingFilePolicy.Skip) skipped.Add(new SkippedSample(l.Id, missing));
                    else problems.Add($"{l.Id}: {missing}");
                    continue;
                }

                var gender = l.GenderLetter == 'F' ? Gender.Female : Gender.Male;
                var speaker = $"Ses{session:00}{l.GenderLetter}";
                utterances.Add(new IemocapUtterance(l.Id, session, dialog, kind, speaker, gender, l.Start, l.End,
                    l.Label, l.Valence, l.Arousal, l.Dominance, transcript!, wav));
            }
        }
    }

    private static string Join(string? a, string b) => a is null ? b : a + " and " + b;

    private sealed record SummaryLine(string Id, char GenderLetter, double Start, double End, string Label, double Valence, double Arousal, double Dominance);

    private static List<SummaryLine> ReadEmoEvaluation(string file, string dialog)
    {
        var result = new List<SummaryLine>();
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(file))
        {
            lineNumber++;
            var line = raw.Trim();
            if (!line.StartsWith('[')) continue; // headers, evaluator lines (C-E1:, A-E2:, ...), blanks
            var m = SummaryLineRegex().Match(line);
            if (!m.Success)
                throw new InvalidDataException($"{file}: line {lineNumber}: expected '[start - end]<TAB>utterance id<TAB>label<TAB>[V, A, D]', found '{Shorten(line)}'");
            var id = m.Groups[3].Value;
            if (!id.StartsWith(dialog + "_", StringComparison.Ordinal))
                throw new InvalidDataException($"{file}: line {lineNumber}: utterance '{id}' does not belong to dialog '{dialog}'");
            var turn = id[(dialog.Length + 1)..];
            var t = TurnRegex().Match(turn);
            if (!t.Success)
                throw new InvalidDataException($"{file}: line {lineNumber}: utterance '{id}' should end in F or M and a number, found '{turn}'");
            if (!lines.TryAdd(id, lineNumber))
                throw new InvalidDataException($"{file}: line {lineNumber}: utterance '{id}' is already labelled on line {lines[id]}");
            var start = ParseNumber(m.Groups[1].Value);
            var end = ParseNumber(m.Groups[2].Value);
            if (end < start)
                throw new InvalidDataException($"{file}: line {lineNumber}: utterance '{id}' ends ({end}) before it starts ({start})");
            result.Add(new SummaryLine(id, t.Groups[1].Value[0], start, end, m.Groups[4].Value,
                ParseNumber(m.Groups[5].Value), ParseNumber(m.Groups[6].Value), ParseNumber(m.Groups[7].Value)));
        }
        return result;
    }

    /// <summary>Transcript text by id, for the labelled ids only.</summary>
    private static Dictionary<string, string> ReadTranscriptions(string file, HashSet<string> labelledIds)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(file))
        {
            lineNumber++;
            var m = TranscriptLineRegex().Match(raw.Trim());
            if (!m.Success) continue; // a line without an id
            var id = m.Groups[1].Value;
            var lastUnderscore = id.LastIndexOf('_');
            if (lastUnderscore >= 0 && UnlabelledTurnRegex().IsMatch(id[(lastUnderscore + 1)..])) continue;
            if (!labelledIds.Contains(id)) continue;
            if (!lines.TryAdd(id, lineNumber))
                throw new InvalidDataException($"{file}: line {lineNumber}: a second transcription of '{id}' (the first is on line {lines[id]})");
            result[id] = m.Groups[2].Value.TrimEnd();
        }
        return result;
    }

    private static double ParseNumber(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Shorten(string s) => s.Length <= 120 ? s : s[..117] + "...";
}
