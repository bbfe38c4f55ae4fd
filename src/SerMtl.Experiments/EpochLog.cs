using System.Globalization;
using System.Text;

namespace SerMtl.Experiments;

/// <summary>
/// One row of a per-epoch training log (<see cref="EpochLog"/>). Everything but <see cref="Epoch"/> is optional:
/// null is written as an empty cell and read back from an empty or absent column.
/// </summary>
public sealed record EpochRecord
{
    /// <summary>1-based epoch number.</summary>
    public required int Epoch { get; init; }

    /// <summary>Optimizer steps completed since the start of training (cumulative, after this epoch).</summary>
    public long? Step { get; init; }

    /// <summary>Mean total loss over the epoch's steps: CE + α·CTC.</summary>
    public double? TrainLoss { get; init; }

    /// <summary>Mean cross-entropy of the emotion head.</summary>
    public double? TrainCe { get; init; }

    /// <summary>Mean CTC loss, not multiplied by α (empty when α = 0 skips it).</summary>
    public double? TrainCtc { get; init; }

    /// <summary>Learning rate at the end of the epoch.</summary>
    public double? Lr { get; init; }

    /// <summary>Validation weighted accuracy, a fraction in [0, 1].</summary>
    public double? ValWa { get; init; }

    /// <summary>Validation unweighted accuracy, a fraction in [0, 1].</summary>
    public double? ValUa { get; init; }

    /// <summary>Validation word error rate, a fraction.</summary>
    public double? ValWer { get; init; }

    /// <summary>Wall-clock seconds of the epoch, training and validation.</summary>
    public double? Seconds { get; init; }

    /// <summary>Training throughput: training utterances / training seconds.</summary>
    public double? UtterancesPerSecond { get; init; }
}

/// <summary>
/// The per-epoch log, <c>epochs.csv</c>: UTF-8, comma-separated, a header line then one row per finished epoch.
/// <code>
/// epoch,step,train_loss,train_ce,train_ctc,lr,val_wa,val_ua,val_wer,seconds,utterances_per_second
/// 1,120,3.812,1.304,25.08,2.5e-05,0.412,0.398,0.971,61.2,15.7
/// </code>
/// Numbers use the invariant culture (<c>.</c> decimal point, round-trip precision); an empty cell means "not
/// measured"; <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c> are allowed. Accuracies and WER are fractions, as in
/// results.json. Where it lives: <c>&lt;run&gt;/folds/&lt;fold name&gt;/epochs.csv</c> for each fold of a
/// cross-validation run (the fold name exactly as in results.json), or <c>&lt;run&gt;/epochs.csv</c> for a run
/// with a single training split. Writers append one row when an epoch ends (<see cref="Append"/>); a resumed run
/// may append an epoch again, and readers keep the last row for each epoch number. Readers need only the
/// <c>epoch</c> column: the others may be missing or in any order, and unknown columns are ignored, so columns can
/// be added later without breaking old reports.
/// </summary>
public static class EpochLog
{
    /// <summary>The file name, per fold or at the top of a single-split run.</summary>
    public const string FileName = "epochs.csv";

    /// <summary>The folder, under a run directory, that holds one sub-folder per fold.</summary>
    public const string FoldsFolder = "folds";

    /// <summary>Logs larger than this are refused (a thousand epochs take well under 200 kB).</summary>
    public const long MaxFileBytes = 32 << 20;

    /// <summary>The columns <see cref="Append"/> writes, in order.</summary>
    public static IReadOnlyList<string> Columns { get; } =
    [
        "epoch", "step", "train_loss", "train_ce", "train_ctc", "lr", "val_wa", "val_ua", "val_wer", "seconds",
        "utterances_per_second",
    ];

    /// <summary>The header line <see cref="Append"/> writes.</summary>
    public static string Header { get; } = string.Join(',', Columns);

    /// <summary>Where fold <paramref name="foldName"/>'s log lives in <paramref name="runDirectory"/>.</summary>
    public static string PathForFold(string runDirectory, string foldName) =>
        Path.Combine(runDirectory, FoldsFolder, foldName, FileName);

    /// <summary>One CSV line for <paramref name="record"/> (no line break).</summary>
    public static string FormatRow(EpochRecord record)
    {
        static string D(double? v) => v?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        return string.Join(',',
            record.Epoch.ToString(CultureInfo.InvariantCulture), record.Step?.ToString(CultureInfo.InvariantCulture) ?? "",
            D(record.TrainLoss), D(record.TrainCe), D(record.TrainCtc), D(record.Lr), D(record.ValWa), D(record.ValUa),
            D(record.ValWer), D(record.Seconds), D(record.UtterancesPerSecond));
    }

    /// <summary>
    /// Appends one row, creating the folder and the file with its header when needed. Refuses to append to a file
    /// whose header is not <see cref="Header"/>, rather than mixing layouts.
    /// </summary>
    public static void Append(string path, EpochRecord record)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        var fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        if (!fresh)
        {
            using var reader = new StreamReader(path, Encoding.UTF8);
            var header = reader.ReadLine();
            if (header?.Trim() != Header)
                throw new InvalidDataException($"{path}: header is '{header}', expected '{Header}'; not appending to a log of another layout");
        }
        File.AppendAllText(path, (fresh ? Header + "\n" : "") + FormatRow(record) + "\n", new UTF8Encoding(false));
    }

    /// <summary>Reads a log: one record per epoch (the last row wins for a repeated epoch), in epoch order.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">No header, no <c>epoch</c> column, or a cell that is not a number.</exception>
    public static IReadOnlyList<EpochRecord> Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: file not found", path);
        if (info.Length > MaxFileBytes)
            throw new InvalidDataException($"{path}: {info.Length} bytes, larger than the {MaxFileBytes} an epoch log can be");
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Parses log text; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyList<EpochRecord> Parse(string text, string source)
    {
        var lines = text.Split('\n');
        var lineIndex = 0;
        string[]? header = null;
        for (; lineIndex < lines.Length; lineIndex++)
        {
            var line = lines[lineIndex].Trim().TrimStart('\uFEFF');
            if (line.Length == 0) continue;
            header = line.Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray();
            lineIndex++;
            break;
        }
        if (header is null) throw new InvalidDataException($"{source}: empty file, expected a header line starting with 'epoch'");
        var duplicate = header.Where(h => h.Length > 0).GroupBy(h => h).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidDataException($"{source}: column '{duplicate.Key}' appears twice in the header");
        var column = new Dictionary<string, int>();
        for (var i = 0; i < header.Length; i++) column[header[i]] = i;
        if (!column.ContainsKey("epoch"))
            throw new InvalidDataException($"{source}: header '{string.Join(',', header)}' has no 'epoch' column");

        var byEpoch = new SortedDictionary<int, EpochRecord>();
        for (; lineIndex < lines.Length; lineIndex++)
        {
            var line = lines[lineIndex].Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            var lineNumber = lineIndex + 1;
            if (cells.Length > header.Length)
                throw new InvalidDataException($"{source}: line {lineNumber} has {cells.Length} cells, the header has {header.Length} columns");

            double? Number(string name)
            {
                if (!column.TryGetValue(name, out var i) || i >= cells.Length) return null;
                var cell = cells[i].Trim();
                if (cell.Length == 0) return null;
                if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return v;
                switch (cell.ToLowerInvariant())
                {
                    case "nan": return double.NaN;
                    case "inf" or "+inf" or "infinity": return double.PositiveInfinity;
                    case "-inf" or "-infinity": return double.NegativeInfinity;
                }
                throw new InvalidDataException($"{source}: line {lineNumber}, column '{name}': expected a number, found '{cell}'");
            }

            var epoch = Number("epoch");
            if (epoch is not { } e || e < 1 || e > 1_000_000 || e != Math.Floor(e))
                throw new InvalidDataException($"{source}: line {lineNumber}, column 'epoch': expected an epoch number >= 1, found '{cells[column["epoch"]].Trim()}'");
            var step = Number("step");
            if (step is { } s && !(s >= 0 && s == Math.Floor(s) && s < long.MaxValue))
                throw new InvalidDataException($"{source}: line {lineNumber}, column 'step': expected a step count >= 0, found '{s}'");
            byEpoch[(int)e] = new EpochRecord
            {
                Epoch = (int)e,
                Step = step is { } st ? (long)st : null,
                TrainLoss = Number("train_loss"),
                TrainCe = Number("train_ce"),
                TrainCtc = Number("train_ctc"),
                Lr = Number("lr"),
                ValWa = Number("val_wa"),
                ValUa = Number("val_ua"),
                ValWer = Number("val_wer"),
                Seconds = Number("seconds"),
                UtterancesPerSecond = Number("utterances_per_second"),
            };
        }
        return byEpoch.Values.ToList();
    }
}
