using System.Text.Json;
using System.Text.Json.Serialization;
using SerMtl.Data.Evaluation;

namespace SerMtl.Evaluation;

/// <summary>
/// The test result of one cross-validation fold: the confusion matrix over the model's labels (from which WA, UA and
/// F1 follow), word and character edit counts of the transcripts, and the epoch that was kept. Saved as
/// <c>folds/&lt;name&gt;/test.json</c>; its presence marks the fold as finished.
/// </summary>
public sealed class FoldOutcome
{
    /// <summary>The file name inside a fold's folder.</summary>
    public const string FileName = "test.json";

    private const int FormatVersion = 1;
    private const long MaxFileBytes = 1 << 20;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Creates an outcome.</summary>
    /// <param name="name">The fold's name (a plain folder name).</param>
    /// <param name="test">Emotion metrics on the fold's test split.</param>
    /// <param name="wordErrors">Word edits over test utterances with a reference transcript.</param>
    /// <param name="characterErrors">Character edits over the same utterances.</param>
    /// <param name="bestEpoch">The epoch whose weights were tested, or null when unknown.</param>
    public FoldOutcome(string name, ClassificationMetrics test, EditCounts wordErrors, EditCounts characterErrors, int? bestEpoch)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(test);
        Name = name;
        Test = test;
        WordErrors = wordErrors;
        CharacterErrors = characterErrors;
        BestEpoch = bestEpoch;
    }

    /// <summary>The fold's name.</summary>
    public string Name { get; }

    /// <summary>Emotion metrics on the test split.</summary>
    public ClassificationMetrics Test { get; }

    /// <summary>Word edits of the greedy CTC transcripts.</summary>
    public EditCounts WordErrors { get; }

    /// <summary>Character edits of the greedy CTC transcripts.</summary>
    public EditCounts CharacterErrors { get; }

    /// <summary>The epoch whose weights were tested.</summary>
    public int? BestEpoch { get; }

    /// <summary>Test WER, NaN when no test utterance has a reference transcript.</summary>
    public double WordErrorRate => WordErrors.ReferenceLength > 0 ? WordErrors.Rate : double.NaN;

    /// <summary>Test CER, NaN when no test utterance has a reference transcript.</summary>
    public double CharacterErrorRate => CharacterErrors.ReferenceLength > 0 ? CharacterErrors.Rate : double.NaN;

    /// <summary>The outcome of a fold's test evaluation.</summary>
    public static FoldOutcome From(string name, EvaluationResult test, int? bestEpoch)
    {
        ArgumentNullException.ThrowIfNull(test);
        return new FoldOutcome(name, test.Classification, test.WordErrors, test.CharacterErrors, bestEpoch);
    }

    /// <summary>Writes the outcome as JSON, atomically (temporary file, then rename).</summary>
    public void Save(string path)
    {
        var file = new FoldFile
        {
            FormatVersion = FormatVersion,
            Name = Name,
            Labels = Test.Labels,
            Test = Test.Total,
            WeightedAccuracy = Test.WeightedAccuracy,
            UnweightedAccuracy = Test.UnweightedAccuracy,
            MacroF1 = Test.MacroF1,
            Wer = WordErrorRate,
            Cer = CharacterErrorRate,
            Confusion = Test.Confusion.ToRows(),
            WordEdits = WordErrors.Edits,
            ReferenceWords = WordErrors.ReferenceLength,
            CharacterEdits = CharacterErrors.Edits,
            ReferenceCharacters = CharacterErrors.ReferenceLength,
            BestEpoch = BestEpoch,
        };
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(file, Json));
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Reads an outcome written by <see cref="Save"/>; WA, UA and F1 are recomputed from the confusion matrix.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a fold outcome, or inconsistent; the message names the file.</exception>
    public static FoldOutcome Load(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: file not found", path);
        if (info.Length > MaxFileBytes) throw new InvalidDataException($"{path}: {info.Length} bytes, larger than a fold outcome can be");
        FoldFile? file;
        try
        {
            file = JsonSerializer.Deserialize<FoldFile>(File.ReadAllBytes(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid fold outcome JSON ({e.Message})", e);
        }
        if (file is null) throw new InvalidDataException($"{path}: expected a JSON object, found null");
        if (file.FormatVersion != FormatVersion)
            throw new InvalidDataException($"{path}: fold outcome format {file.FormatVersion}, this library reads {FormatVersion}");
        if (string.IsNullOrWhiteSpace(file.Name)) throw new InvalidDataException($"{path}: 'name' is missing");
        if (file.Labels is null || file.Confusion is null) throw new InvalidDataException($"{path}: 'labels' and 'confusion' are required");
        if (file.WordEdits < 0 || file.ReferenceWords < 0 || file.CharacterEdits < 0 || file.ReferenceCharacters < 0)
            throw new InvalidDataException($"{path}: edit counts must be >= 0");
        ClassificationMetrics test;
        try
        {
            test = ClassificationMetrics.Compute(ConfusionMatrix.FromCounts(file.Labels, file.Confusion.Select(r => (IReadOnlyList<long>)r).ToList()));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        return new FoldOutcome(file.Name, test, new EditCounts(file.WordEdits, file.ReferenceWords),
            new EditCounts(file.CharacterEdits, file.ReferenceCharacters), file.BestEpoch);
    }

    /// <summary>The JSON layout; the rates are written for readers and recomputed on load.</summary>
    private sealed record FoldFile
    {
        public int FormatVersion { get; init; }
        public string Name { get; init; } = "";
        public IReadOnlyList<string>? Labels { get; init; }
        public long Test { get; init; }
        public double WeightedAccuracy { get; init; }
        public double UnweightedAccuracy { get; init; }
        public double MacroF1 { get; init; }
        public double Wer { get; init; }
        public double Cer { get; init; }
        public long[][]? Confusion { get; init; }
        public long WordEdits { get; init; }
        public long ReferenceWords { get; init; }
        public long CharacterEdits { get; init; }
        public long ReferenceCharacters { get; init; }
        public int? BestEpoch { get; init; }
    }
}
