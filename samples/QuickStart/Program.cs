using SerMtl.Inference;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: QuickStart MODEL_DIR FILE.wav");
    return 2;
}

using var recognizer = EmotionRecognizer.Load(args[0]);  // a model saved by 'sermtl train', 'cv' or 'demo'
var prediction = recognizer.Predict(args[1]);              // any WAV; resampled to 16 kHz as needed

Console.WriteLine($"{prediction.Label} ({prediction.Confidence:P0}) \"{prediction.Transcript}\"");
foreach (var (label, probability) in prediction.Probabilities)
    Console.WriteLine($"  {label,-10} {probability:F3}");
return 0;
