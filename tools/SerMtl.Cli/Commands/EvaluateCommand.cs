using System.CommandLine;
using System.Globalization;
using SerMtl.Data.Corpora;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Modeling;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl evaluate</c>: a saved model's emotion metrics and WER on a corpus or one split of a fold.</summary>
internal sealed class EvaluateCommand : SermtlCommand
{
    private readonly TextWriter? _output;
    private readonly Option<string> _model = CliOption.Required("--model", "DIR|ID", "a model saved by train/cv (its best/ folder) or SerMtlModel.Save: " + ModelArgs.DirOrHubId);
    private readonly CorpusArgs _corpus = new(protocolRequired: false);
    private readonly Option<string?> _fold = CliOption.Text("--fold", "NAME", "with --protocol: evaluate this fold's split (default: the first fold)");
    private readonly Option<string> _split = CliOption.Choice("--split", "the split of the fold", "test", "test", "validation", "train");
    private readonly Option<int> _batchSize = CliOption.Int("--batch-size", "utterances per forward pass", 8, 1, 4096);
    private readonly Option<double?> _maxBatchSeconds = CliOption.Seconds("--max-batch-seconds", "cap the padded audio of a forward pass");
    private readonly Option<string?> _device = TrainingArgs.DeviceOption();
    private readonly Option<int?> _maxUtterances = TrainingArgs.MaxUtterancesOption("evaluate at most N utterances (seeded subset)");
    private readonly Option<string?> _outDir = CliOption.Text("--out", "DIR", "also write DIR/test.json (metrics) and DIR/predictions.tsv");

    public EvaluateCommand(TextWriter? output = null)
        : base("evaluate", "Score a saved model (e.g. OUT/best of train or cv) on a corpus or a fold's split", """
            Runs the model over the utterances (all of the corpus, or one split of a fold) and prints weighted and
            unweighted accuracy, macro F1, per-class precision/recall/F1, the confusion matrix, and the WER/CER of
            the greedy CTC transcripts against the corpus transcripts. The model's labels must cover the corpus's.

            Examples:
              sermtl evaluate --model runs/paper-a0.1/folds/Ses01F/best --iemocap ~/data --protocol paper --fold Ses01F
              sermtl evaluate --model runs/session5/best --manifest other-corpus.csv --labels "neu=neutral, hap=happy, ang=angry, sad=sad"
            """)
    {
        _output = output;
        Add(_model);
        _corpus.AddTo(this);
        foreach (var option in new Option[] { _fold, _split, _batchSize, _maxBatchSeconds, _device, _maxUtterances, _outDir }) Add(option);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var reporter = new ConsoleReporter(_output, interactive: false);
        var modelDir = parse.GetRequiredValue(_model);
        var foldName = parse.GetValue(_fold);
        var split = parse.GetValue(_split);
        var batchSize = parse.GetValue(_batchSize);
        var maxBatchSeconds = parse.GetValue(_maxBatchSeconds);
        var device = TrainingArgs.ParseDevice(parse.GetValue(_device));
        var maxUtterances = parse.GetValue(_maxUtterances);
        var outDir = parse.GetValue(_outDir);
        var data = _corpus.Load(parse, seed: 0);
        if (foldName is not null && data.Folds.Count == 0) throw new UsageException("--fold needs --protocol");

        IReadOnlyList<SpeechSample> samples;
        string name;
        if (data.Folds.Count == 0)
        {
            samples = CorpusArgs.Limit(new Data.Protocols.Fold("all", [], [], data.Corpus.Samples), maxUtterances, 0).Test;
            name = "all";
        }
        else
        {
            var fold = CorpusArgs.Limit(CorpusArgs.SelectFolds(data.Folds, foldName ?? data.Folds[0].Name)[0], maxUtterances, 0);
            samples = split switch { "train" => fold.Train, "validation" => fold.Validation, _ => fold.Test };
            name = $"{fold.Name}-{split}";
        }
        if (samples.Count == 0) throw new InvalidOperationException($"{name}: no utterances to evaluate");

        using var model = SerMtlModel.Load(ModelArgs.Resolve(modelDir, null, cancellationToken), device);
        reporter.WriteLine($"{modelDir}: labels [{string.Join(", ", model.Labels)}]; evaluating {samples.Count} utterances ({name}) on {device}");
        var result = SerEvaluator.Evaluate(model, samples, new EvaluationOptions { BatchSize = batchSize, MaxBatchSeconds = maxBatchSeconds }, cancellationToken);
        Print(reporter, result);
        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir);
            FoldOutcome.From(name, result, null).Save(Path.Combine(outDir, FoldOutcome.FileName));
            CrossValidation.WritePredictions(Path.Combine(outDir, CrossValidation.PredictionsFileName), result);
            reporter.WriteLine($"Wrote {Path.Combine(outDir, FoldOutcome.FileName)} and {CrossValidation.PredictionsFileName}");
        }
        return ExitCodes.Success;
    }

    private static void Print(ConsoleReporter reporter, EvaluationResult r)
    {
        static string P(double v) => double.IsFinite(v) ? (v * 100).ToString("0.00", CultureInfo.InvariantCulture) : "-";
        var c = r.Classification;
        reporter.WriteLine($"utterances {r.Count}  WA {P(c.WeightedAccuracy)}%  UA {P(c.UnweightedAccuracy)}%  macro F1 {P(c.MacroF1)}%  WER {P(r.WordErrorRate)}%  CER {P(r.CharacterErrorRate)}%");
        var width = Math.Max(8, c.Labels.Max(l => l.Length));
        reporter.WriteLine("");
        reporter.WriteLine($"{"class".PadRight(width)}  precision  recall      f1  support");
        foreach (var k in c.PerClass)
            reporter.WriteLine($"{k.Label.PadRight(width)}  {P(k.Precision),9}  {P(k.Recall),6}  {P(k.F1),6}  {k.Support,7}");
        reporter.WriteLine("");
        reporter.WriteLine($"confusion (rows: true, columns: predicted)");
        reporter.WriteLine($"{"".PadRight(width)}  {string.Join("  ", c.Labels.Select(l => l.PadLeft(width)))}");
        var rows = c.Confusion.ToRows();
        for (var t = 0; t < rows.Length; t++)
            reporter.WriteLine($"{c.Labels[t].PadRight(width)}  {string.Join("  ", rows[t].Select(v => v.ToString(CultureInfo.InvariantCulture).PadLeft(width)))}");
    }
}
