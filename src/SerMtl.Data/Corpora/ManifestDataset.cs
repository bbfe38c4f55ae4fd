using System.Text;

namespace SerMtl.Data.Corpora;

/// <summary>Options for <see cref="ManifestDataset.Load"/>.</summary>
public sealed record ManifestOptions
{
    /// <summary>What to do when a row's audio file does not exist. Default: <see cref="MissingFilePolicy.Error"/>.</summary>
    public MissingFilePolicy MissingFiles { get; init; } = MissingFilePolicy.Error;

    /// <summary>
    /// The field delimiter, or null (default) to choose from the extension (<c>.tsv</c>/<c>.tab</c>: tab,
    /// <c>.csv</c>: comma) and otherwise from the header line (tab if it has one, else comma).
    /// </summary>
    public char? Delimiter { get; init; }
}

/// <summary>
/// A corpus described by a CSV or TSV manifest, so any labelled speech collection (RAVDESS, CREMA-D, MSP-Podcast,
/// in-house data) can go through the same protocols as IEMOCAP.
/// </summary>
/// <remarks>
/// <para>The first row is a header; column names are matched case-insensitively and other columns are ignored:</para>
/// <list type="bullet">
/// <item><c>path</c> (or <c>audio</c>, <c>audio_path</c>, <c>file</c>, <c>wav</c>): the audio file, required.
/// Relative paths are resolved against the manifest's folder; <c>\</c> is read as a separator on Unix.</item>
/// <item><c>label</c> (or <c>emotion</c>): the raw label, required.</item>
/// <item><c>speaker</c> (or <c>speaker_id</c>): optional, but speaker-based folds need it.</item>
/// <item><c>transcript</c> (or <c>text</c>, <c>transcription</c>): optional; an empty cell means unknown (null).</item>
/// <item><c>id</c> (or <c>utterance_id</c>, <c>utt_id</c>): optional; default is the path as written.</item>
/// <item><c>session</c>: optional grouping used by session-based folds.</item>
/// </list>
/// <para>Fields may be quoted as in RFC 4180. Errors give the manifest path and line number.</para>
/// </remarks>
public sealed class ManifestDataset
{
    private static readonly string[] PathColumns = ["path", "audio", "audio_path", "file", "wav"];
    private static readonly string[] LabelColumns = ["label", "emotion"];
    private static readonly string[] SpeakerColumns = ["speaker", "speaker_id"];
    private static readonly string[] TranscriptColumns = ["transcript", "text", "transcription"];
    private static readonly string[] IdColumns = ["id", "utterance_id", "utt_id"];
    private static readonly string[] SessionColumns = ["session"];

    private ManifestDataset(string path, IReadOnlyList<SpeechSample> samples, IReadOnlyList<SkippedSample> skipped, bool hasSpeakers)
    {
        ManifestPath = path;
        Samples = samples;
        Skipped = skipped;
        HasSpeakers = hasSpeakers;
    }

    /// <summary>Full path of the manifest file.</summary>
    public string ManifestPath { get; }

    /// <summary>Every row, in file order, with its raw label (before any <see cref="LabelMap"/>).</summary>
    public IReadOnlyList<SpeechSample> Samples { get; }

    /// <summary>Rows left out under <see cref="MissingFilePolicy.Skip"/>.</summary>
    public IReadOnlyList<SkippedSample> Skipped { get; }

    /// <summary>True when the manifest has a speaker column (speaker-based protocols need one).</summary>
    public bool HasSpeakers { get; }

    /// <summary>Reads a manifest.</summary>
    /// <exception cref="InvalidDataException">A malformed manifest; the message names the file, line and problem.</exception>
    public static ManifestDataset Load(string path, ManifestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ManifestOptions();
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath)) throw new FileNotFoundException($"{fullPath}: manifest not found", fullPath);
        var text = File.ReadAllText(fullPath, Encoding.UTF8);
        var baseDirectory = Path.GetDirectoryName(fullPath)!;
        var delimiter = options.Delimiter ?? ChooseDelimiter(fullPath, text);

        using var records = DelimitedTextReader.Read(text, delimiter, fullPath).GetEnumerator();
        if (!records.MoveNext()) throw new InvalidDataException($"{fullPath}: the manifest is empty (expected a header row)");
        var header = records.Current.Fields.Select(f => f.Trim()).ToArray();
        var headerLine = records.Current.Line;
        int Column(string[] names, bool required)
        {
            var found = header.Select((h, i) => (h, i)).Where(x => names.Contains(x.h, StringComparer.OrdinalIgnoreCase)).ToList();
            if (found.Count > 1)
                throw new InvalidDataException($"{fullPath}: line {headerLine}: columns {string.Join(" and ", found.Select(f => $"'{f.h}'"))} both mean {names[0]}; keep one");
            if (found.Count == 0 && required)
                throw new InvalidDataException($"{fullPath}: line {headerLine}: no {names[0]} column (expected one of {string.Join(", ", names)}; found {string.Join(", ", header.Select(h => $"'{h}'"))})");
            return found.Count == 1 ? found[0].i : -1;
        }
        var pathColumn = Column(PathColumns, required: true);
        var labelColumn = Column(LabelColumns, required: true);
        var speakerColumn = Column(SpeakerColumns, required: false);
        var transcriptColumn = Column(TranscriptColumns, required: false);
        var idColumn = Column(IdColumns, required: false);
        var sessionColumn = Column(SessionColumns, required: false);

        var samples = new List<SpeechSample>();
        var skipped = new List<SkippedSample>();
        var missing = new List<string>();
        var idLines = new Dictionary<string, int>(StringComparer.Ordinal);
        while (records.MoveNext())
        {
            var (line, fields) = records.Current;
            if (fields.Count != header.Length)
                throw new InvalidDataException($"{fullPath}: line {line}: {fields.Count} field(s), expected {header.Length} as in the header (delimiter {(delimiter == '\t' ? "tab" : $"'{delimiter}'")})");
            string Required(int column, string what)
            {
                var value = fields[column].Trim();
                return value.Length > 0 ? value : throw new InvalidDataException($"{fullPath}: line {line}: empty {what} (column '{header[column]}')");
            }
            var written = Required(pathColumn, "audio path");
            var label = Required(labelColumn, "label");
            var speaker = speakerColumn >= 0 ? Required(speakerColumn, "speaker") : "";
            var transcript = transcriptColumn >= 0 && fields[transcriptColumn].Length > 0 ? fields[transcriptColumn] : null;
            var id = idColumn >= 0 ? Required(idColumn, "id") : written;
            var session = sessionColumn >= 0 ? Required(sessionColumn, "session") : null;
            if (!idLines.TryAdd(id, line))
                throw new InvalidDataException($"{fullPath}: line {line}: id '{id}' already used on line {idLines[id]}");

            var audio = ResolvePath(baseDirectory, written);
            if (!File.Exists(audio))
            {
                var reason = $"line {line}: audio file not found: {audio}";
                if (options.MissingFiles == MissingFilePolicy.Skip)
                {
                    skipped.Add(new SkippedSample(id, reason));
                    continue;
                }
                missing.Add(reason);
                continue;
            }
            samples.Add(new SpeechSample(id, audio, speaker, label, transcript, session));
        }
        if (missing.Count > 0)
        {
            throw new InvalidDataException(
                $"{fullPath}: {missing.Count} audio file(s) not found, e.g. {string.Join("; ", missing.Take(3))}. " +
                "Fix the paths or load with MissingFiles = Skip to leave these rows out");
        }
        return new ManifestDataset(fullPath, samples, skipped, speakerColumn >= 0);
    }

    /// <summary>
    /// The corpus under <paramref name="labels"/>: rows whose raw label the map does not cover are left out.
    /// Without a map every raw label is a class, in ordinal order.
    /// </summary>
    public SpeechCorpus ToCorpus(LabelMap? labels = null)
    {
        var name = Path.GetFileName(ManifestPath);
        if (labels is null)
        {
            var all = Samples.Select(s => s.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (all.Count == 0) throw new InvalidOperationException($"{ManifestPath}: the manifest has no samples");
            return new SpeechCorpus(name, all, Samples);
        }
        var mapped = new List<SpeechSample>(Samples.Count);
        foreach (var s in Samples)
        {
            if (labels.TryMap(s.Label, out var label)) mapped.Add(s with { Label = label });
        }
        return new SpeechCorpus(name, labels.Labels, mapped);
    }

    private static char ChooseDelimiter(string path, string text)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".tsv" or ".tab") return '\t';
        if (extension == ".csv") return ',';
        var end = text.IndexOfAny(['\n', '\r']);
        var header = end < 0 ? text : text[..end];
        return header.Contains('\t') ? '\t' : ',';
    }

    private static string ResolvePath(string baseDirectory, string written)
    {
        if (Path.DirectorySeparatorChar == '/') written = written.Replace('\\', '/');
        return Path.GetFullPath(Path.IsPathRooted(written) ? written : Path.Combine(baseDirectory, written));
    }
}
