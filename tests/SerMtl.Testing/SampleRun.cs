using SerMtl.Experiments;

namespace SerMtl.Testing;

/// <summary>
/// Writes a plausible cross-validation run through the same APIs the trainer uses (RunResults.Save,
/// EpochLog.Append): WER falls quickly, accuracy climbs later, losses decay; confusion matrices and metrics agree.
/// </summary>
public static class SampleRun
{
    public static readonly string[] Labels = ["neutral", "happy", "angry", "sad"];

    public static RunResults Create(string dir, int folds = 2, int epochs = 10, string protocol = "session", bool topLevelLog = false)
    {
        var random = new Random(1234);
        var foldResults = new List<FoldResult>();
        var pooled = new int[4, 4];
        for (var f = 0; f < folds; f++)
        {
            var name = $"Session{f + 1}";
            var log = topLevelLog ? Path.Combine(dir, EpochLog.FileName) : EpochLog.PathForFold(dir, name);
            var best = 1;
            var bestUa = 0.0;
            for (var e = 1; e <= epochs; e++)
            {
                var wer = 0.3 + 0.7 * Math.Exp(-(e - 1) / (epochs / 6.0)) + random.NextDouble() * 0.01;
                var ua = 0.3 + 0.45 / (1 + Math.Exp(-(e - epochs * 0.4) / (epochs / 10.0))) + random.NextDouble() * 0.01;
                if (ua > bestUa) (best, bestUa) = (e, ua);
                var ce = 1.4 * Math.Exp(-e / (epochs / 2.5)) + 0.3;
                var ctc = 250 * Math.Exp(-e / (epochs / 5.0)) + 30;
                EpochLog.Append(log, new EpochRecord
                {
                    Epoch = e, Step = e * 100L, TrainLoss = ce + 0.1 * ctc, TrainCe = ce, TrainCtc = ctc, Lr = 5e-5,
                    ValWa = ua - 0.01, ValUa = ua, ValWer = wer, Seconds = 60, UtterancesPerSecond = 70,
                });
            }
            int[][] confusion = [[80, 8, 6, 6], [10, 70, 12, 8], [4, 6, 85, 5], [5, 5, 8, 82]];
            confusion[0][0] += f; // folds differ a little
            for (var r = 0; r < 4; r++)
                for (var c = 0; c < 4; c++)
                    pooled[r, c] += confusion[r][c];
            foldResults.Add(Metrics(confusion, name, best));
        }
        var pooledMatrix = Enumerable.Range(0, 4).Select(r => Enumerable.Range(0, 4).Select(c => pooled[r, c]).ToArray()).ToArray();
        var p = Metrics(pooledMatrix, "pooled", null);
        var results = new RunResults
        {
            Protocol = protocol,
            Alpha = 0.1,
            Labels = Labels,
            Folds = foldResults,
            Pooled = new FoldMetrics
            {
                Test = p.Test, WeightedAccuracy = p.WeightedAccuracy, UnweightedAccuracy = p.UnweightedAccuracy, MacroF1 = p.MacroF1,
                Wer = foldResults.Average(x => x.Wer!.Value), Confusion = p.Confusion,
            },
            Settings = new Dictionary<string, string> { ["lr"] = "5e-05", ["epochs"] = epochs.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        results.Save(Path.Combine(dir, RunResults.FileName));
        return results;
    }

    private static FoldResult Metrics(int[][] m, string name, int? best)
    {
        var n = m.Length;
        var total = m.Sum(r => r.Sum());
        var correct = Enumerable.Range(0, n).Sum(i => m[i][i]);
        var recall = Enumerable.Range(0, n).Select(i => m[i][i] / (double)m[i].Sum()).ToArray();
        var precision = Enumerable.Range(0, n).Select(i => m[i][i] / (double)m.Sum(r => r[i])).ToArray();
        var f1 = Enumerable.Range(0, n).Average(i => 2 * precision[i] * recall[i] / (precision[i] + recall[i]));
        return new FoldResult
        {
            Name = name, Test = total, WeightedAccuracy = correct / (double)total, UnweightedAccuracy = recall.Average(),
            MacroF1 = f1, Wer = 0.3, Confusion = m, BestEpoch = best,
        };
    }
}
