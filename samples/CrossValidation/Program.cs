using System.Globalization;
using SerMtl.Data.Corpora;
using SerMtl.Data.Protocols;
using SerMtl.Experiments;
using SerMtl.Modeling;
using SerMtl.Reporting;
using static TorchSharp.torch;

// Leave-one-speaker-out cross-validation of a corpus listed in a manifest (path,label,speaker,transcript), each fold
// fine-tuning a fresh model on the backbone with the paper's recipe. The run directory is the one 'sermtl cv --manifest
// MANIFEST --protocol speaker --backbone BACKBONE --epochs EPOCHS --out OUT_DIR' writes: run.json, results.json,
// folds/<fold>/{epochs.csv, best/, test.json, predictions.tsv}, report.html. Run it again to resume.
if (args.Length is < 3 or > 4 || (args.Length == 4 && !int.TryParse(args[3], CultureInfo.InvariantCulture, out _)))
{
    Console.Error.WriteLine("usage: CrossValidation MANIFEST.csv BACKBONE_DIR OUT_DIR [EPOCHS]");
    return 2;
}
var (manifest, backbone, output) = (args[0], args[1], args[2]);
var epochs = args.Length == 4 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 30;

var corpus = ManifestDataset.Load(manifest).ToCorpus();
var folds = Folds.LeaveOneSpeakerOut(corpus, ValidationOptions.Default);   // validation: 10 % of each fold's training side
var settings = new RunManifest("speaker", 0.1, corpus.Labels, new Dictionary<string, string>
{
    ["backbone"] = Path.GetFullPath(backbone),
    ["epochs"] = epochs.ToString(CultureInfo.InvariantCulture),
});
var run = new CrossValidationRun(output, settings, fold =>
{
    random.manual_seed(0);                             // the heads start the same in every fold and every rerun
    return SerMtlModel.FromPretrained(backbone, new SerMtlModelOptions { Labels = corpus.Labels });
})
{
    FoldOrder = folds.Select(f => f.Name).ToList(),
    ConfigureTrainer = (trainer, fold) => trainer.WithAlpha(settings.Alpha).WithEpochs(epochs).WithDevice(cuda.is_available() ? CUDA : CPU),
};

var result = run.Run(folds);                           // refuses an OUT_DIR that holds a run of other settings
var report = ReportWriter.Write(output);
foreach (var fold in result.Folds)
    Console.WriteLine($"{fold.Name,-10} WA {fold.Test.WeightedAccuracy:P2}  UA {fold.Test.UnweightedAccuracy:P2}  WER {fold.WordErrorRate:P2}");
Console.WriteLine($"{"pooled",-10} WA {result.Pooled.WeightedAccuracy:P2}  UA {result.Pooled.UnweightedAccuracy:P2}  WER {result.PooledWordErrorRate:P2}");
Console.WriteLine($"wrote {run.ResultsPath} and {report.HtmlPath}");
return 0;
