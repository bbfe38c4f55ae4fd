using SerMtl.Synthetic;
using Xunit.Abstractions;

namespace SerMtl.Synthetic.Tests;

/// <summary>
/// Evidence that the corpus is learnable the way the demo needs: emotion cues survive per-utterance normalisation
/// and carry over to speakers never seen in training, and characters have speaker-independent spectra.
/// </summary>
public class SyntheticCorpusLearnabilityTests(ITestOutputHelper output)
{
    private static readonly Lazy<SyntheticCorpus> s_corpus = new(() =>
        SyntheticCorpus.Generate(new SyntheticCorpusOptions { UtterancesPerSpeakerPerEmotion = 10, OtherLabelUtterancesPerSpeaker = 0 }));

    [Fact]
    public void ProsodicFeatures_NearestCentroid_ClassifiesHeldOutSpeakers()
    {
        var corpus = s_corpus.Value;
        var labelled = corpus.Utterances.Where(u => u.Emotion is not null).ToArray();
        var features = new double[labelled.Length][];
        Parallel.For(0, labelled.Length, i => features[i] = EmotionCueFeatures.Extract(labelled[i].Samples));

        foreach (var emotion in Enum.GetValues<SyntheticEmotion>())
        {
            var rows = Enumerable.Range(0, labelled.Length).Where(i => labelled[i].Emotion == emotion).Select(i => features[i]).ToArray();
            output.WriteLine($"{emotion,-8} " + string.Join("  ", EmotionCueFeatures.Names.Select((n, j) => $"{n}={rows.Average(r => r[j]):F3}")));
        }

        // Leave one session (its two speakers) out, train on the other eight speakers.
        var sessions = corpus.Speakers.Select(s => s.Session).Distinct().ToArray();
        var accuracies = new List<double>();
        var confusion = new int[4, 4]; // [true, predicted]
        foreach (var held in sessions)
        {
            var train = Enumerable.Range(0, labelled.Length).Where(i => labelled[i].Speaker.Session != held).ToArray();
            var test = Enumerable.Range(0, labelled.Length).Where(i => labelled[i].Speaker.Session == held).ToArray();
            var classifier = NearestCentroid.Fit(train.Select(i => features[i]).ToArray(), train.Select(i => (int)labelled[i].Emotion!.Value).ToArray(), 4);
            var correct = 0;
            foreach (var i in test)
            {
                var predicted = classifier.Predict(features[i]);
                confusion[(int)labelled[i].Emotion!.Value, predicted]++;
                if (predicted == (int)labelled[i].Emotion!.Value) correct++;
            }
            accuracies.Add((double)correct / test.Length);
            output.WriteLine($"held-out Session{held}: accuracy {accuracies[^1]:F3} ({correct}/{test.Length})");
        }
        output.WriteLine($"mean {accuracies.Average():F3}, min {accuracies.Min():F3}; confusion (rows true, columns predicted; N H A S):");
        for (var t = 0; t < 4; t++) output.WriteLine(string.Join(" ", Enumerable.Range(0, 4).Select(p => $"{confusion[t, p],4}")));
        Assert.All(accuracies, a => Assert.True(a >= 0.8, $"held-out accuracy {a:F3} < 0.8"));
    }

    [Fact]
    public void CharacterSpectra_NearestCentroid_RecognisesCharactersOfHeldOutSpeakers()
    {
        // Spectrum at the middle of each character (past the glide from the previous one).
        var corpus = s_corpus.Value;
        var rows = corpus.Utterances
            .SelectMany(u => u.Segments.Where(s => s.Symbol is not (' ' or '\0')).Select(s => (u, s)))
            .ToArray();
        var features = new double[rows.Length][];
        Parallel.For(0, rows.Length, i =>
        {
            var (u, s) = rows[i];
            features[i] = BandSpectrum.At(u.Samples, (s.Start + s.End) / 2, u.SampleRate);
        });
        var symbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'";
        var heldOut = corpus.Speakers[^1].Session;
        var train = Enumerable.Range(0, rows.Length).Where(i => rows[i].u.Speaker.Session != heldOut).ToArray();
        var test = Enumerable.Range(0, rows.Length).Where(i => rows[i].u.Speaker.Session == heldOut).ToArray();
        Assert.Equal(symbols.Length, train.Select(i => rows[i].s.Symbol).Distinct().Count());
        var classifier = NearestCentroid.Fit(train.Select(i => features[i]).ToArray(), train.Select(i => symbols.IndexOf(rows[i].s.Symbol)).ToArray(), symbols.Length);
        var correct = test.Count(i => classifier.Predict(features[i]) == symbols.IndexOf(rows[i].s.Symbol));
        var accuracy = (double)correct / test.Length;
        output.WriteLine($"character accuracy on held-out Session{heldOut}: {accuracy:F3} ({correct}/{test.Length}; chance {1.0 / symbols.Length:F3})");
        Assert.True(accuracy >= 0.9, $"character accuracy {accuracy:F3} < 0.9");
    }
}

/// <summary>Nearest class mean after standardising each feature with the training set's mean and deviation.</summary>
internal sealed class NearestCentroid
{
    private readonly double[] _mean;
    private readonly double[] _scale;
    private readonly double[][] _centroids;

    private NearestCentroid(double[] mean, double[] scale, double[][] centroids) => (_mean, _scale, _centroids) = (mean, scale, centroids);

    public static NearestCentroid Fit(double[][] x, int[] y, int classes)
    {
        var d = x[0].Length;
        var mean = Enumerable.Range(0, d).Select(j => x.Average(r => r[j])).ToArray();
        var scale = Enumerable.Range(0, d).Select(j => Math.Sqrt(x.Average(r => (r[j] - mean[j]) * (r[j] - mean[j]))) + 1e-9).ToArray();
        var centroids = new double[classes][];
        for (var c = 0; c < classes; c++)
        {
            var rows = Enumerable.Range(0, x.Length).Where(i => y[i] == c).ToArray();
            centroids[c] = Enumerable.Range(0, d).Select(j => rows.Average(i => (x[i][j] - mean[j]) / scale[j])).ToArray();
        }
        return new NearestCentroid(mean, scale, centroids);
    }

    public int Predict(double[] features)
    {
        var z = features.Select((v, j) => (v - _mean[j]) / _scale[j]).ToArray();
        var best = 0;
        var bestDistance = double.PositiveInfinity;
        for (var c = 0; c < _centroids.Length; c++)
        {
            var distance = z.Select((v, j) => (v - _centroids[c][j]) * (v - _centroids[c][j])).Sum();
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = c;
            }
        }
        return best;
    }
}

/// <summary>Log band energies of a 32 ms Hann window (24 log-spaced bands, 100 Hz–7.5 kHz), mean log removed.</summary>
internal static class BandSpectrum
{
    private const int Window = 512;
    private static readonly double[] s_hann = Enumerable.Range(0, Window).Select(n => 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / Window)).ToArray();
    private static readonly double[] s_cos = Enumerable.Range(0, Window).Select(n => Math.Cos(2 * Math.PI * n / Window)).ToArray();
    private static readonly double[] s_sin = Enumerable.Range(0, Window).Select(n => Math.Sin(2 * Math.PI * n / Window)).ToArray();

    public static double[] At(float[] samples, int centre, int sampleRate)
    {
        var start = Math.Clamp(centre - Window / 2, 0, Math.Max(0, samples.Length - Window));
        var edges = Enumerable.Range(0, 25).Select(b => 100 * Math.Pow(75, b / 24.0)).ToArray();
        var power = new double[Window / 2 + 1];
        for (var k = 1; k <= Window / 2; k++)
        {
            double re = 0, im = 0;
            for (var n = 0; n < Window; n++)
            {
                var v = s_hann[n] * samples[start + n];
                var index = k * n % Window;
                re += v * s_cos[index];
                im -= v * s_sin[index];
            }
            power[k] = re * re + im * im;
        }
        var bands = new double[24];
        for (var b = 0; b < 24; b++)
        {
            var lo = (int)Math.Floor(edges[b] * Window / sampleRate);
            var hi = Math.Max(lo + 1, (int)Math.Ceiling(edges[b + 1] * Window / sampleRate));
            double e = 0;
            for (var k = lo; k < hi && k <= Window / 2; k++) e += power[k];
            bands[b] = Math.Log(e / (hi - lo) + 1e-9);
        }
        var mean = bands.Average();
        return bands.Select(v => v - mean).ToArray();
    }
}
