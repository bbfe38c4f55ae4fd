using System.Globalization;
using SerMtl.Data.Corpora;
using SerMtl.Evaluation;
using SerMtl.Modeling;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl evaluate</c>: a saved model's emotion metrics and WER on a corpus or one split of a fold.</summary>
internal sealed class EvaluateCommand(TextWriter? output = null) : ICliCommand
{
    public string Name => "evaluate";

    public string Summary => "Score a saved model (e.g. OUT/best of train or cv) on a corpus or a fold's split";

    public string Help => $"""
        Usage: sermtl evaluate --model DIR (--iemocap ROOT | --manifest FILE) [--protocol P --fold NAME [--split S]] [options]

        Runs the model over the utterances (all of the corpus, or one split of a fold) and prints weighted and
        unweighted accuracy, macro F1, per-class precision/recall/F1, the confusion matrix, and the WER/CER of
        the greedy CTC transcripts against the corpus transcripts. The model's labels must cover the corpus's.

        Options:
          --model DIR             a model saved by train/cv (its best/ folder) or SerMtlModel.Save (required)
        {CorpusArgs.Help}
          --fold NAME             with --protocol: evaluate this fold's split (default: the first fold)
          --split S               test (default), validation or train
          --batch-size N          utterances per forward pass (default 8)
          --max-batch-seconds S   cap the padded audio of a forward pass
          --device D              cpu, cuda or cuda:N (default cuda when available)
          --max-utterances N      evaluate at most N utterances (seeded subset)
          --out DIR               also write DIR/test.json (metrics) and DIR/predictions.tsv

        Examples:
          sermtl evaluate --model runs/paper-a0.1/folds/Ses01F/best --iemocap ~/data --protocol paper --fold Ses01F
          sermtl evaluate --model runs/session5/best --manifest other-corpus.csv --labels "neu=neutral, hap=happy, ang=angry, sad=sad"
        """;

    public int Run(CliArgs args, CancellationToken cancellationToken)
    {
        var reporter = new ConsoleReporter(output, interactive: false);
        var modelDir = args.Required("model");
        var foldName = args.Option("fold");
        var split = args.Choice("split", "test", "test", "validation", "train");
        var batchSize = args.Int("batch-size", 8, 1, 4096);
        var maxBatchSeconds = TrainingArgs.OptionalSeconds(args, "max-batch-seconds");
        var device = TrainingArgs.ParseDevice(args.Option("device"));
        var maxUtterances = TrainingArgs.MaxUtterances(args);
        var outDir = args.Option("out");
        var data = CorpusArgs.Load(args, seed: 0, protocolRequired: false);
        if (args.Positionals() is { Count: > 0 } extra) throw new UsageException($"unexpected argument '{extra[0]}'");
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

        using var model = SerMtlModel.Load(modelDir, device);
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
