// Fine-tunes wav2vec 2.0 with the multi-task loss (CE + 0.1·CTC) on one cross-validation fold and saves the model.
//
//   dotnet run --project samples/FineTune -- BACKBONE_DIR (IEMOCAP_ROOT | MANIFEST.csv) OUT_DIR [EPOCHS]
//
// BACKBONE_DIR is a HuggingFace-layout wav2vec2 directory (e.g. facebook/wav2vec2-base: config.json + weights).
// With IEMOCAP, the fold leaves Session 5 out; with a manifest (path,label[,transcript][,speaker]), one speaker-disjoint
// fold of five. The validation split comes from the training speakers; the test fold is only used at the end.
using SerMtl.Data.Corpora;
using SerMtl.Data.Iemocap;
using SerMtl.Data.Protocols;
using SerMtl.Modeling;
using SerMtl.Training;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: FineTune BACKBONE_DIR (IEMOCAP_ROOT | MANIFEST.csv) OUT_DIR [EPOCHS]");
    return 2;
}
var (backbone, data, outDir) = (args[0], args[1], args[2]);
var epochs = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 100;

Fold fold;
IReadOnlyList<string> labels;
if (File.Exists(data))
{
    var corpus = ManifestDataset.Load(data).ToCorpus();
    (fold, labels) = (Folds.KFoldBySpeaker(corpus, k: 5)[0], corpus.Labels);
}
else
{
    var iemocap = IemocapDataset.Load(data);
    (fold, labels) = (iemocap.Folds(IemocapProtocol.Session).Single(f => f.Name == "Session5"), iemocap.ToCorpus().Labels);
}

using var model = SerMtlModel.FromPretrained(backbone, new SerMtlModelOptions { Labels = labels });
var trainer = SerTrainer.For(model)          // the paper's defaults: AdamW, lr 5e-5, warm-up 0.1, effective batch 8
    .WithAlpha(0.1)
    .WithEpochs(epochs)
    .WithFrozenFeatureEncoder()
    .WithCheckpoints(Path.Combine(outDir, "checkpoints"))   // run again to resume after an interruption
    .WithProgress(new Progress<TrainingProgress>(p => Console.Write($"\repoch {p.Epoch}/{p.Epochs} {p.Phase} {p.Done}/{p.Total} loss {p.Loss:F3}   ")))
    .Build();

var training = trainer.Train(fold);
var test = trainer.Evaluate(fold.Test);
Console.WriteLine();
Console.WriteLine($"best epoch {training.BestEpoch}; test WA {test.WeightedAccuracy:P2}, UA {test.UnweightedAccuracy:P2}, WER {test.WordErrorRate:F3}");
model.Save(Path.Combine(outDir, "model"));
return 0;
