using System.CommandLine;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Reporting;
using SerMtl.Training;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl train</c>: fine-tune on one fold's training split and test on its test split.</summary>
internal sealed class TrainCommand : SermtlCommand
{
    private readonly TextWriter? _output;
    private readonly CorpusArgs _corpus = new();
    private readonly TrainingArgs _training = new();
    private readonly Option<string?> _fold = CliOption.Text("--fold", "NAME", "the fold to train on (default: the first of the protocol)");
    private readonly Option<string> _outDir = CliOption.Required("--out", "DIR", "the run directory");

    public TrainCommand(TextWriter? output = null)
        : base("train", "Fine-tune on one split (a fold of a protocol), keep the best epoch, test it (resumable)", """
            Trains one model on the training split of fold NAME (default: the protocol's first fold), picks the
            epoch by validation UA (validation is carved from the training side), tests it on the fold's test
            split and writes
              OUT/best/                  the kept model ('sermtl evaluate --model OUT/best', SerMtlModel.Load)
              OUT/epochs.csv             per-epoch losses, learning rate, validation WA/UA/WER, speed
              OUT/results.json           test WA, UA, macro F1, WER, confusion (one fold), OUT/report.html
              OUT/test.json, OUT/predictions.tsv, OUT/checkpoint.safetensors (resumable)
            Run the same command again to resume an interrupted run; Ctrl+C saves a checkpoint first.

            Examples:
              sermtl train --iemocap ~/data/IEMOCAP_full_release --protocol session --fold Session5 \
                           --backbone ~/models/wav2vec2-base --device cuda --out runs/session5
              sermtl train --manifest my-corpus.csv --protocol speaker --fold spk07 --backbone ~/models/wav2vec2-base \
                           --alpha 0 --epochs 10 --out runs/spk07
            """)
    {
        _output = output;
        _corpus.AddTo(this);
        _training.AddTo(this);
        Add(_fold);
        Add(_outDir);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var reporter = new ConsoleReporter(_output);
        var outDir = Path.GetFullPath(parse.GetRequiredValue(_outDir));
        var foldName = parse.GetValue(_fold);
        var setup = _training.Parse(parse);
        var data = _corpus.Load(parse, setup.Options.Seed);
        setup = setup with { Backbone = ModelArgs.Resolve(setup.Backbone, null, cancellationToken) }; // a Hub id is fetched once, here
        var fold = CorpusArgs.Limit(CorpusArgs.SelectFolds(data.Folds, foldName ?? data.Folds[0].Name)[0], setup.MaxUtterances, setup.Options.Seed);

        var recipe = new Dictionary<string, string>(setup.Recipe)
        {
            ["data"] = data.Source,
            ["validation"] = CorpusArgs.Describe(data.Validation),
            ["fold"] = fold.Name,
        };
        var run = new RunManifest(data.Protocol, setup.Options.Alpha, data.Corpus.Labels, recipe);
        run.SaveOrCheck(outDir);
        reporter.WriteLine($"{data.Corpus.Name}, fold {fold.Name}: {fold.Train.Count} train, {fold.Validation.Count} validation, {fold.Test.Count} test utterances; device {setup.Device}; output {outDir}");

        using var model = CvCommand.CreateModel(setup, data.Corpus.Labels);
        var epochLog = Path.Combine(outDir, EpochLog.FileName);
        var trainer = SerTrainer.For(model).WithOptions(setup.Options).WithDevice(setup.Device)
            .WithLogger(reporter).WithProgress(reporter).WithCallbacks(new EpochLogWriter(epochLog))
            .WithCheckpoints(outDir, setup.Options.CheckpointEverySteps)
            .Build();
        var training = trainer.Train(fold, cancellationToken);
        RunFiles.RewriteEpochLog(epochLog, training.Epochs);

        var test = trainer.Evaluate(fold.Test, cancellationToken);
        var outcome = FoldOutcome.From(fold.Name, test, training.BestEpoch);
        outcome.Save(Path.Combine(outDir, FoldOutcome.FileName));
        CrossValidation.WritePredictions(Path.Combine(outDir, CrossValidation.PredictionsFileName), test);
        RunFiles.Results(run, [outcome], new Dictionary<string, string> { ["device"] = setup.Device.ToString() })
            .Save(Path.Combine(outDir, RunResults.FileName));
        var report = ReportWriter.Write(outDir);
        reporter.WriteLine("");
        CvCommand.Summarize(reporter, CrossValidationResult.Pool([outcome]));
        reporter.WriteLine($"Best epoch {training.BestEpoch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(last; no validation)"}; model in {training.BestModelDirectory ?? outDir}; wrote {report.HtmlPath}");
        return ExitCodes.Success;
    }
}
