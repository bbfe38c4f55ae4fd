using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SerMtl.Data.Iemocap;
using SerMtl.Data.Protocols;
using SerMtl.Evaluation;
using SerMtl.Experiments;
using SerMtl.Inference;
using SerMtl.Modeling;
using SerMtl.Reporting;
using SerMtl.Synthetic;
using SerMtl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Cli.Commands;

/// <summary>
/// The whole pipeline on generated data, offline and on CPU: a synthetic corpus written in the IEMOCAP layout, read
/// back by the real reader, a small wav2vec2 trained from scratch with CE + α·CTC, tested on held-out speakers.
/// </summary>
internal sealed class DemoCommand : SermtlCommand
{
    // Pass mark of --check: pooled weighted accuracy on the held-out speakers (chance is 0.25).
    private const double PassWeightedAccuracy = 0.6;
    private const string TestFold = "Session5";

    private readonly TextWriter? _output;
    private readonly Option<string> _outDir = new("--out") { HelpName = "DIR", Description = "output folder", DefaultValueFactory = _ => "sermtl-demo" };
    private readonly Option<int> _epochs = CliOption.Int("--epochs", "training epochs", 20, 1, 10_000);
    private readonly Option<int> _utterances = CliOption.Int("--utterances", "utterances per speaker per emotion", 20, 2, 1000);
    private readonly Option<int> _seed = CliOption.Int("--seed", "training seed; the corpus has its own fixed seed", 1, 0);
    private readonly Option<int> _threads = CliOption.Int("--threads", "torch threads (default: all cores)", Environment.ProcessorCount, 1, 1024);
    private readonly Option<bool> _check = CliOption.Flag("--check", $"exit with code 1 when the held-out weighted accuracy is below {PassWeightedAccuracy}");

    public DemoCommand(TextWriter? output = null)
        : base("demo", "Generate a synthetic corpus, train a small model from scratch, test it on held-out speakers", """
            Runs the whole SerMtl pipeline on CPU without downloading anything:
              1. generates a deterministic synthetic corpus (5 sessions x 2 speakers; 4 emotions expressed through
                 prosody; transcripts rendered as character-specific spectral patterns) in the IEMOCAP_full_release
                 layout under OUT/corpus, and reads it back with the real IEMOCAP reader;
              2. trains a small wav2vec 2.0 from scratch with L = CE + 0.1*CTC on sessions 1-4 (validation carved from
                 their speakers), keeping the epoch with the best validation UA;
              3. tests on the held-out Session 5 speakers and writes OUT/results.json (the 'cv' schema),
                 OUT/report.html, OUT/model/ (a saved SerMtl model) and a prediction for one held-out file.

            Example:
              dotnet run --project tools/SerMtl.Cli -- demo --out /tmp/demo
            """)
    {
        _output = output;
        foreach (var option in new Option[] { _outDir, _epochs, _utterances, _seed, _threads, _check }) Add(option);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = _output;
        var writer = output ?? Console.Out;
        var outDir = Path.GetFullPath(parse.GetValue(_outDir)!);
        var epochs = parse.GetValue(_epochs);
        var perEmotion = parse.GetValue(_utterances);
        var seed = parse.GetValue(_seed);
        var threads = parse.GetValue(_threads);
        var check = parse.GetValue(_check);
        torch.set_num_threads(threads);
        var clock = Stopwatch.StartNew();

        // 1. Corpus: generated, written in the IEMOCAP layout, read back with the real reader and protocol.
        var corpusDir = Path.Combine(outDir, "corpus");
        var synthetic = SyntheticCorpus.Generate(new SyntheticCorpusOptions { UtterancesPerSpeakerPerEmotion = perEmotion });
        synthetic.WriteIemocapLayout(corpusDir, overwrite: true);
        var dataset = IemocapDataset.Load(corpusDir);
        var corpus = dataset.ToCorpus();
        var fold = dataset.Folds(IemocapProtocol.Session, validation: new ValidationOptions { Seed = seed }).Single(f => f.Name == TestFold);
        writer.WriteLine($"corpus: {corpus.Samples.Count} utterances from {synthetic.Speakers.Count} synthetic speakers " +
            $"({synthetic.Utterances.Sum(u => u.Duration.TotalSeconds) / 60:F1} min) in {corpusDir}");
        writer.WriteLine($"fold {fold.Name}: train {fold.Train.Count}, validation {fold.Validation.Count}, test {fold.Test.Count} (held-out speakers: " +
            $"{string.Join(", ", fold.Test.Select(s => s.Speaker).Distinct().Order(StringComparer.Ordinal))})");

        // 2. Train a small model from scratch (no pretrained weights exist offline).
        var config = DemoConfig;
        var runDir = Path.Combine(outDir, "run");
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        var labels = corpus.Labels;
        var reporter = new ConsoleReporter(output, verbose: false);
        var manifest = new RunManifest("session", 0.1, labels, new Dictionary<string, string>
        {
            ["data"] = "synthetic", ["epochs"] = epochs.ToString(CultureInfo.InvariantCulture), ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        });
        var cv = new CrossValidationRun(runDir, manifest, unusedFold =>
        {
            _ = random.manual_seed(seed);
            return SerMtlModel.CreateFromScratch(config, new SerMtlModelOptions { Labels = labels, Pooling = Pooling.Mean });
        })
        {
            Logger = reporter,
            ExtraSettings = new Dictionary<string, string> { ["device"] = "cpu" },
            ConfigureTrainer = (builder, f) => builder
                .WithAlpha(0.1).WithLearningRate(1e-3).WithEpochs(epochs).WithBatchSize(8)
                .WithFrozenFeatureEncoder(false).WithAdamW(0.9, 0.98).WithWeightDecay(0.01).WithWarmupRatio(0.1)
                .WithGradientClipping(1.0).WithSeed(seed).WithDevice(CPU)
                .WithLogger(reporter)
                .WithCallbacks(new EpochPrinter(writer)),
        };
        var result = cv.Run([fold], cancellationToken);

        // 3. Results in the cv schema (written by the run; copied to the top), the report, the model and one prediction.
        File.Copy(cv.ResultsPath, Path.Combine(outDir, RunResults.FileName), overwrite: true);
        var report = ReportWriter.Write(runDir, Path.Combine(outDir, "report.html"));

        var modelDir = Path.Combine(outDir, "model");
        using (var best = SerMtlModel.Load(Path.Combine(CrossValidation.FoldDirectory(runDir, fold.Name), "best")))
            best.Save(modelDir);

        writer.WriteLine();
        CvCommand.Summarize(reporter, result);
        var outcome = result.Folds.Single();
        writer.WriteLine($"character error rate {outcome.CharacterErrorRate:P1} on held-out transcripts");
        writer.WriteLine("confusion (rows: truth, columns: predicted):");
        writer.WriteLine($"{"",-9}" + string.Concat(labels.Select(l => $"{l,9}")));
        var rows = outcome.Test.Confusion.ToRows();
        for (var i = 0; i < labels.Count; i++)
            writer.WriteLine($"{labels[i],-9}" + string.Concat(rows[i].Select(c => $"{c,9}")));

        var heldOut = fold.Test[fold.Test.Count / 2];
        using (var recognizer = EmotionRecognizer.Load(modelDir))
        {
            var p = recognizer.Predict(heldOut.AudioPath);
            writer.WriteLine();
            writer.WriteLine($"prediction for {Path.GetFileName(heldOut.AudioPath)} (speaker {heldOut.Speaker}, truth {heldOut.Label}, transcript '{heldOut.Transcript}'):");
            writer.WriteLine($"  {p.Label} ({p.Confidence:P0}); transcript '{p.Transcript}'; " +
                string.Join(", ", p.Probabilities.Select(kv => $"{kv.Key} {kv.Value:F2}")));
        }

        // 4. Deployment: the model as ONNX (float32 and int8), run by ONNX Runtime on the held-out utterances.
        var deployment = OnnxDeployment.Check(modelDir, outDir, fold.Test.Select(s => s.AudioPath).ToList());
        writer.WriteLine();
        deployment.Print(writer);

        writer.WriteLine();
        writer.WriteLine($"wrote {Path.Combine(outDir, RunResults.FileName)}, {report.HtmlPath}, {modelDir}/, {deployment.Float32Path} in {clock.Elapsed.TotalMinutes:F1} min");
        writer.WriteLine("next: predict with 'sermtl predict --model " + modelDir + " FILE.wav', or reproduce the paper on real data:");
        writer.WriteLine("  sermtl cv --iemocap ~/data/IEMOCAP_full_release --protocol paper --backbone ~/models/wav2vec2-base --alpha 0.1 --device cuda --out runs/paper-a0.1");

        var wa = result.Pooled.WeightedAccuracy;
        if (check && !(wa >= PassWeightedAccuracy))
        {
            Console.Error.WriteLine($"sermtl demo: held-out weighted accuracy {wa:F3} is below {PassWeightedAccuracy}");
            return ExitCodes.Failure;
        }
        if (check && deployment.Problem is { } problem)
        {
            Console.Error.WriteLine($"sermtl demo: {problem}");
            return ExitCodes.Failure;
        }
        return ExitCodes.Success;
    }

    /// <summary>A small wav2vec 2.0 that trains from scratch on 2 CPU cores in minutes: 4 conv layers (320 samples per frame), 2 transformer layers of 128.</summary>
    internal static Wav2Vec2Config DemoConfig { get; } = new()
    {
        ConvDim = [64, 64, 64, 64],
        ConvKernel = [10, 8, 4, 4],
        ConvStride = [5, 4, 4, 4],
        FeatExtractNorm = FeatureNorm.Group,
        HiddenSize = 128,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        IntermediateSize = 256,
        NumConvPosEmbeddings = 32,
        NumConvPosEmbeddingGroups = 8,
        HiddenDropout = 0.1,
        AttentionDropout = 0.1,
        ActivationDropout = 0.1,
        FinalDropout = 0.1,
        FeatProjDropout = 0,
        LayerDrop = 0,
        ApplySpecAugment = false,
        MaskTimeProb = 0,
    };

    /// <summary>
    /// The demo model exported as ONNX, float32 and int8, and run by ONNX Runtime on the held-out utterances beside the
    /// TorchSharp engine: float32 must give every label TorchSharp gives (probabilities within 1e-4), int8 the float32
    /// label on at least 99 % of them.
    /// </summary>
    internal sealed record OnnxDeployment(string Float32Path, long Float32Bytes, string Int8Path, long Int8Bytes, int Count,
        int Float32Agree, double Float32MaxDifference, int Int8Agree, double Int8MaxDifference)
    {
        public const double Int8Agreement = 0.99;

        public static OnnxDeployment Check(string modelDir, string outDir, IReadOnlyList<string> files)
        {
            var float32 = Onnx.OnnxExporter.Export(modelDir, Path.Combine(outDir, "model.onnx"));
            var int8 = Onnx.OnnxExporter.Export(modelDir, Path.Combine(outDir, "model-int8.onnx"), new Onnx.OnnxExportOptions { Int8 = true });
            IReadOnlyList<EmotionPrediction> torchResults, f32Results, int8Results;
            using (var recognizer = EmotionRecognizer.Load(modelDir)) torchResults = recognizer.PredictBatch(files);
            using (var recognizer = OnnxEmotionRecognizer.Load(float32.Path)) f32Results = recognizer.PredictBatch(files);
            using (var recognizer = OnnxEmotionRecognizer.Load(int8.Path)) int8Results = recognizer.PredictBatch(files);
            static (int Agree, double MaxDifference) Compare(IReadOnlyList<EmotionPrediction> a, IReadOnlyList<EmotionPrediction> b) =>
                (a.Zip(b).Count(p => p.First.Label == p.Second.Label),
                 a.Zip(b).SelectMany(p => p.First.Probabilities.Select(kv => (double)Math.Abs(kv.Value - p.Second.Probabilities[kv.Key]))).DefaultIfEmpty().Max());
            var (f32Agree, f32Max) = Compare(torchResults, f32Results);
            var (int8Agree, int8Max) = Compare(f32Results, int8Results);
            return new OnnxDeployment(float32.Path, float32.Bytes, int8.Path, int8.Bytes, files.Count, f32Agree, f32Max, int8Agree, int8Max);
        }

        /// <summary>Why the deployment check fails, or null.</summary>
        public string? Problem =>
            Float32Agree != Count || Float32MaxDifference > 1e-4
                ? $"ONNX float32 gave {Count - Float32Agree} of {Count} held-out labels differently from TorchSharp (largest probability difference {Float32MaxDifference:G2})"
            : Int8Agree < Int8Agreement * Count
                ? $"ONNX int8 agreed with float32 on {Int8Agree} of {Count} held-out labels, fewer than {Int8Agreement:P0}"
            : null;

        public void Print(TextWriter writer)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ONNX Runtime: {Path.GetFileName(Float32Path)} ({Float32Bytes / 1e6:0.00} MB) gives TorchSharp's label on {Float32Agree}/{Count} held-out utterances (largest probability difference {Float32MaxDifference:0.0e0})"));
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"              {Path.GetFileName(Int8Path)} ({Int8Bytes / 1e6:0.00} MB) gives the float32 label on {Int8Agree}/{Count} ({(double)Int8Agree / Count:P1}; largest probability difference {Int8MaxDifference:0.000})"));
        }
    }

    /// <summary>Prints one line per epoch.</summary>
    private sealed class EpochPrinter(TextWriter writer) : TrainingCallbacks
    {
        public override void OnEpochEnd(EpochSummary summary)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {summary.Epoch,3}: loss {summary.TrainLoss:F3} (CE {summary.TrainCe:F3}, CTC {summary.TrainCtc:F1}) | validation WA {summary.ValidationWeightedAccuracy:F3} UA {summary.ValidationUnweightedAccuracy:F3} CER {summary.ValidationCer:F3}{(summary.IsBest ? " *" : "")} | {summary.Seconds:F0} s"));
        }
    }
}
