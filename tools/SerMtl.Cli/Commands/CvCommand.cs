using System.CommandLine;
using SerMtl.Data.Protocols;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Modeling;
using SerMtl.Reporting;
using static TorchSharp.torch;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl cv</c>: the paper's cross-validation, one fresh model per fold, resumable.</summary>
internal sealed class CvCommand : SermtlCommand
{
    private readonly TextWriter? _output;
    private readonly CorpusArgs _corpus = new();
    private readonly TrainingArgs _training = new();
    private readonly Option<string?> _folds = CliOption.Text("--folds", "A,B", "run only these folds (default: all, in protocol order)");
    private readonly Option<int?> _foldIndex = CliOption.OptionalInt("--fold-index",
        "run only the K-th fold (0-based, protocol order), e.g. $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX of a job array", 0, 100000, "K");
    private readonly Option<bool> _keepCheckpoints = CliOption.Flag("--keep-checkpoints", "keep each finished fold's resumable checkpoint (3x the model size)");
    private readonly Option<string> _outDir = CliOption.Required("--out", "DIR", "the run directory");

    public CvCommand(TextWriter? output = null)
        : base("cv", "Cross-validate: fine-tune a fresh model per fold, test it, pool the folds (resumable)", """
            For each fold of the protocol: builds a model on the backbone (CTC head from its lm_head when it has
            one), fine-tunes it on the fold's training split with L = CE + alpha*CTC, keeps the epoch with the best
            validation UA (validation comes from the training side, never the test fold), and tests it. Writes
              OUT/results.json                  per-fold and pooled WA, UA, macro F1, WER, confusion (pooled WA counts
                                                every test utterance once, pooled WER is the mean of fold WERs)
              OUT/report.html                   curves and confusion matrices (sermtl report)
              OUT/folds/<fold>/epochs.csv       per-epoch losses, learning rate, validation WA/UA/WER, speed
              OUT/folds/<fold>/best/            the kept model (loadable by 'sermtl evaluate' and the library)
              OUT/folds/<fold>/test.json        the fold's test result; predictions.tsv beside it
              OUT/folds/<fold>/checkpoint.safetensors   while the fold trains (kept with --keep-checkpoints)
            Run the same command again to resume: finished folds are kept, an interrupted fold continues from its
            last checkpoint. Ctrl+C saves a checkpoint first. Folds are independent: run subsets with --folds or
            --fold-index in several processes or machines (same options; one run directory each, or one shared
            directory), then combine them with 'sermtl cv aggregate'.

            Examples:
              sermtl cv --iemocap ~/data/IEMOCAP_full_release --protocol paper --backbone ~/models/wav2vec2-base \
                        --alpha 0.1 --device cuda --out runs/paper-a0.1
              sermtl cv --iemocap ~/data --protocol session --backbone ~/models/wav2vec2-base --folds Session1,Session2 \
                        --out runs/session
              sermtl cv --manifest ravdess.csv --protocol kfold:5 --backbone ~/models/wav2vec2-base --alpha 0 --out runs/ravdess
            """)
    {
        _output = output;
        _corpus.AddTo(this);
        _training.AddTo(this);
        foreach (var option in new Option[] { _folds, _foldIndex, _keepCheckpoints, _outDir }) Add(option);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = _output;
        var reporter = new ConsoleReporter(output, verbose: false);
        var outDir = Path.GetFullPath(parse.GetRequiredValue(_outDir));
        var foldSpec = parse.GetValue(_folds);
        var foldIndex = parse.GetValue(_foldIndex);
        if (foldSpec is not null && foldIndex is not null) throw new UsageException("give --folds or --fold-index, not both");
        var keepCheckpoints = parse.GetValue(_keepCheckpoints);
        var setup = _training.Parse(parse);
        var data = _corpus.Load(parse, setup.Options.Seed);
        setup = setup with { Backbone = ModelArgs.Resolve(setup.Backbone, null, cancellationToken) }; // a Hub id is fetched once, here
        if (foldIndex >= data.Folds.Count)
            throw new UsageException($"--fold-index {foldIndex} is past the last fold: protocol {data.Protocol} has {data.Folds.Count} (0..{data.Folds.Count - 1})");
        var chosen = foldIndex is { } k ? [data.Folds[k]] : CorpusArgs.SelectFolds(data.Folds, foldSpec);
        var folds = chosen.Select(f => CorpusArgs.Limit(f, setup.MaxUtterances, setup.Options.Seed)).ToList();

        var recipe = new Dictionary<string, string>(setup.Recipe)
        {
            ["data"] = data.Source,
            ["validation"] = CorpusArgs.Describe(data.Validation),
        };
        var run = new RunManifest(data.Protocol, setup.Options.Alpha, data.Corpus.Labels, recipe);
        reporter.WriteLine($"{data.Corpus.Name}: {data.Corpus.Samples.Count} utterances, labels [{string.Join(", ", data.Corpus.Labels)}], " +
            $"protocol {data.Protocol}: {folds.Count} of {data.Folds.Count} folds; device {setup.Device}; output {outDir}");
        if (data.Skipped.Count > 0) reporter.WriteLine($"skipped (missing files): {data.Skipped.Count}");

        var cv = new CrossValidationRun(outDir, run, fold => CreateModel(setup, data.Corpus.Labels))
        {
            Logger = reporter,
            KeepCheckpoints = keepCheckpoints,
            FoldOrder = data.Folds.Select(f => f.Name).ToList(),
            ExtraSettings = new Dictionary<string, string> { ["device"] = setup.Device.ToString() },
            ConfigureTrainer = (builder, fold) =>
            {
                reporter.Prefix = $"fold {fold.Name}";
                builder.WithOptions(setup.Options).WithDevice(setup.Device).WithLogger(reporter).WithProgress(reporter);
            },
            FoldTrained = (_, _) => reporter.Prefix = null,
        };
        var result = cv.Run(folds, cancellationToken);

        var report = ReportWriter.Write(outDir);
        reporter.WriteLine("");
        Summarize(reporter, result);
        reporter.WriteLine($"Wrote {Path.Combine(outDir, RunResults.FileName)} and {report.HtmlPath}");
        return ExitCodes.Success;
    }

    /// <summary>The backbone with fresh heads; torch is seeded first so the heads start the same on every run.</summary>
    internal static SerMtlModel CreateModel(TrainingSetup setup, IReadOnlyList<string> labels)
    {
        _ = random.manual_seed(setup.Options.Seed);
        return SerMtlModel.FromPretrained(setup.Backbone, new SerMtlModelOptions { Labels = labels, Pooling = setup.Pooling });
    }

    internal static void Summarize(ConsoleReporter reporter, CrossValidationResult result)
    {
        static string P(double v) => double.IsFinite(v) ? (v * 100).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "-";
        reporter.WriteLine($"{"fold",-12} {"test",6} {"WA %",7} {"UA %",7} {"F1 %",7} {"WER %",7}");
        foreach (var f in result.Folds)
            reporter.WriteLine($"{f.Name,-12} {f.Test.Total,6} {P(f.Test.WeightedAccuracy),7} {P(f.Test.UnweightedAccuracy),7} {P(f.Test.MacroF1),7} {P(f.WordErrorRate),7}");
        reporter.WriteLine($"{"pooled",-12} {result.Pooled.Total,6} {P(result.Pooled.WeightedAccuracy),7} {P(result.Pooled.UnweightedAccuracy),7} {P(result.Pooled.MacroF1),7} {P(result.PooledWordErrorRate),7}");
    }
}
