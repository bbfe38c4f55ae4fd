using System.Text.Json;
using System.Text.Json.Serialization;

namespace SerMtl.Experiments;

/// <summary>
/// The contents of <c>results.json</c>, the summary that <c>sermtl cv</c>, <c>train</c> and <c>demo</c> write at the
/// top of a run directory and <c>sermtl report</c> reads. Property names are snake_case
/// (<see cref="JsonOptions"/>); unknown properties are ignored when reading, so later versions may add fields.
/// <code>
/// {
///   "protocol": "paper",                 // paper | speaker | session (or another name the writer chose)
///   "alpha": 0.1,                        // weight of the CTC loss: L = CE + alpha * CTC
///   "labels": ["neutral", "happy", "angry", "sad"],
///   "folds": [
///     { "name": "Ses01F", "test": 557, "weighted_accuracy": 0.79, "unweighted_accuracy": 0.8, "macro_f1": 0.79,
///       "wer": 0.31, "confusion": [[...], ...],          // [true class][predicted class] counts, labels order
///       "cer": 0.12, "best_epoch": 14 }                  // optional
///   ],
///   "pooled": { "test": 5531, "weighted_accuracy": ..., "unweighted_accuracy": ..., "macro_f1": ..., "wer": ...,
///               "confusion": [[...]] },
///   "settings": { "lr": "5e-05", "epochs": "30" }        // optional, shown in the report as given
/// }
/// </code>
/// Accuracies, F1, WER and CER are fractions (0.79, not 79). Pooled WA counts correct predictions over all test
/// utterances (the paper's Eq. 4) and pooled WER is the mean of the fold WERs (Eq. 5). Write with <see cref="Save"/>,
/// read with <see cref="Load"/>, which also checks shapes and ranges.
/// </summary>
public sealed record RunResults
{
    /// <summary>The file name inside a run directory.</summary>
    public const string FileName = "results.json";

    /// <summary>Files larger than this are refused rather than read into memory (a real one is a few kilobytes).</summary>
    public const long MaxFileBytes = 16 << 20;

    /// <summary>Fold protocol: <c>paper</c>, <c>speaker</c> or <c>session</c> (SerMtl.Data's names); free text otherwise.</summary>
    public required string Protocol { get; init; }

    /// <summary>α in L = CE + α·CTC; 0 trains the emotion head alone.</summary>
    public required double Alpha { get; init; }

    /// <summary>Emotion classes, in the order the confusion matrices use.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>One entry per test fold that has finished, in protocol order.</summary>
    public required IReadOnlyList<FoldResult> Folds { get; init; }

    /// <summary>Metrics over all folds' test utterances together.</summary>
    public required FoldMetrics Pooled { get; init; }

    /// <summary>Optional training settings (learning rate, epochs, backbone, seed, …) as display strings.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    /// <summary>snake_case names, indented output, NaN/Infinity allowed as named literals, nullability respected.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads and validates <paramref name="path"/>; errors name the file and the offending key.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON, misses a key, or has inconsistent shapes.</exception>
    public static RunResults Load(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: file not found", path);
        if (info.Length > MaxFileBytes)
            throw new InvalidDataException($"{path}: {info.Length} bytes, larger than the {MaxFileBytes} a results file can be");
        RunResults? results;
        try
        {
            results = JsonSerializer.Deserialize<RunResults>(File.ReadAllBytes(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}{Where(e)}: {Describe(e)}", e);
        }
        if (results is null) throw new InvalidDataException($"{path}: expected a JSON object, found null");
        results.Validate(path);
        return results;
    }

    // System.Text.Json names C# types and repeats the location; say it in the file's own terms instead.
    private static string Where(JsonException e) =>
        e.Path is null ? "" : $" ({e.Path}{(e.LineNumber is { } line ? $", line {line + 1}" : "")})";

    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        return message
            .Replace($"type '{typeof(RunResults).FullName}'", "the results object", StringComparison.Ordinal)
            .Replace($"type '{typeof(FoldResult).FullName}'", "a fold", StringComparison.Ordinal)
            .Replace($"type '{typeof(FoldMetrics).FullName}'", "the pooled metrics", StringComparison.Ordinal)
            .Replace(" Consider updating its nullability annotation.", "", StringComparison.Ordinal);
    }

    /// <summary>Writes this object to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public void Save(string path)
    {
        Validate(path);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Checks what the JSON schema cannot: label names, matrix shapes against the labels, value ranges.
    /// <paramref name="source"/> names the file in messages.
    /// </summary>
    /// <exception cref="InvalidDataException">Something is inconsistent.</exception>
    public void Validate(string source)
    {
        void Fail(string message) => throw new InvalidDataException($"{source}: {message}");

        if (string.IsNullOrWhiteSpace(Protocol)) Fail("'protocol' is empty");
        if (!double.IsFinite(Alpha) || Alpha < 0) Fail($"'alpha' is {Alpha}, expected a finite number >= 0");
        if (Labels.Count == 0) Fail("'labels' is empty, expected the emotion class names");
        for (var i = 0; i < Labels.Count; i++)
            if (string.IsNullOrWhiteSpace(Labels[i])) Fail($"labels[{i}] is empty");
        var duplicate = Labels.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) Fail($"label '{duplicate.Key}' appears more than once in 'labels'");

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Folds.Count; i++)
        {
            var fold = Folds[i];
            if (string.IsNullOrWhiteSpace(fold.Name)) Fail($"folds[{i}].name is empty");
            if (!names.Add(fold.Name)) Fail($"folds[{i}].name '{fold.Name}' is used by an earlier fold too");
            fold.Validate(source, $"folds[{i}]", Labels.Count);
            if (fold.BestEpoch is < 1) Fail($"folds[{i}].best_epoch is {fold.BestEpoch}, expected an epoch number >= 1");
        }
        Pooled.Validate(source, "pooled", Labels.Count);
    }

    /// <summary>
    /// Soft checks the report shows but does not fail on: confusion totals against test counts, the pooled matrix
    /// against the sum of the folds'.
    /// </summary>
    public IReadOnlyList<string> ConsistencyWarnings()
    {
        var warnings = new List<string>();
        foreach (var (metrics, where) in Folds.Select(f => ((FoldMetrics)f, $"fold {f.Name}")).Append((Pooled, "pooled")))
        {
            if (metrics.Confusion is not { } m) continue;
            var total = m.Sum(r => r.Sum(v => (long)v));
            if (total != metrics.Test)
                warnings.Add($"{where}: the confusion matrix holds {total} utterances but 'test' says {metrics.Test}");
        }
        if (Folds.Count > 0 && Pooled.Test != Folds.Sum(f => (long)f.Test))
            warnings.Add($"pooled 'test' is {Pooled.Test} but the folds' tests add up to {Folds.Sum(f => (long)f.Test)}");
        if (Folds.Count > 0 && Pooled.Confusion is { } pooled && Folds.All(f => f.Confusion is not null))
        {
            var n = Labels.Count;
            var mismatch = Enumerable.Range(0, n * n).Any(k => pooled[k / n][k % n] != Folds.Sum(f => (long)f.Confusion![k / n][k % n]));
            if (mismatch) warnings.Add("the pooled confusion matrix is not the sum of the folds' matrices");
        }
        return warnings;
    }
}

/// <summary>
/// Test metrics of one fold, or of all folds pooled. Accuracy-like values are fractions in [0, 1]; WER and CER are
/// fractions that may exceed 1 (insertions). Optional members are omitted from the JSON when null.
/// </summary>
public record FoldMetrics
{
    /// <summary>Number of test utterances.</summary>
    [JsonPropertyOrder(1)]
    public required int Test { get; init; }

    /// <summary>WA: correct / total.</summary>
    [JsonPropertyOrder(2)]
    public required double WeightedAccuracy { get; init; }

    /// <summary>UA: mean of the per-class recalls.</summary>
    [JsonPropertyOrder(3)]
    public required double UnweightedAccuracy { get; init; }

    /// <summary>Unweighted mean of the per-class F1 scores.</summary>
    [JsonPropertyOrder(4)]
    public double? MacroF1 { get; init; }

    /// <summary>Word error rate of the greedy CTC transcripts against the references.</summary>
    [JsonPropertyOrder(5)]
    public double? Wer { get; init; }

    /// <summary>Character error rate; optional.</summary>
    [JsonPropertyOrder(6)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Cer { get; init; }

    /// <summary>Counts, [true class][predicted class], both in the order of <see cref="RunResults.Labels"/>.</summary>
    [JsonPropertyOrder(7)]
    public IReadOnlyList<IReadOnlyList<int>>? Confusion { get; init; }

    internal void Validate(string source, string where, int classes)
    {
        void Fail(string message) => throw new InvalidDataException($"{source}: {where}.{message}");
        static bool Fraction(double v) => v is >= 0 and <= 1;

        if (Test < 0) Fail($"test is {Test}, expected a count >= 0");
        if (!Fraction(WeightedAccuracy)) Fail($"weighted_accuracy is {WeightedAccuracy}, expected a fraction in [0, 1]");
        if (!Fraction(UnweightedAccuracy)) Fail($"unweighted_accuracy is {UnweightedAccuracy}, expected a fraction in [0, 1]");
        if (MacroF1 is { } f1 && !double.IsNaN(f1) && !Fraction(f1)) Fail($"macro_f1 is {f1}, expected a fraction in [0, 1]");
        if (Wer is { } wer && !double.IsNaN(wer) && !(wer >= 0 && double.IsFinite(wer))) Fail($"wer is {wer}, expected a number >= 0");
        if (Cer is { } cer && !double.IsNaN(cer) && !(cer >= 0 && double.IsFinite(cer))) Fail($"cer is {cer}, expected a number >= 0");
        if (Confusion is not { } m) return;
        if (m.Count != classes) Fail($"confusion has {m.Count} rows, expected {classes} (one per label)");
        for (var r = 0; r < m.Count; r++)
        {
            if (m[r].Count != classes) Fail($"confusion[{r}] has {m[r].Count} columns, expected {classes} (one per label)");
            for (var c = 0; c < classes; c++)
                if (m[r][c] < 0) Fail($"confusion[{r}][{c}] is {m[r][c]}, expected a count >= 0");
        }
    }
}

/// <summary>Test metrics of one cross-validation fold.</summary>
public sealed record FoldResult : FoldMetrics
{
    /// <summary>Fold name as the protocol gives it (<c>Ses01F</c>, <c>Session1</c>); also the folder <c>folds/&lt;name&gt;/</c>.</summary>
    [JsonPropertyOrder(0)]
    public required string Name { get; init; }

    /// <summary>The epoch whose weights were kept (best on the validation split); optional.</summary>
    [JsonPropertyOrder(8)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? BestEpoch { get; init; }
}
