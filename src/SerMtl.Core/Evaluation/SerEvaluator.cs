using SerMtl.Batching;
using SerMtl.Data.Corpora;
using SerMtl.Data.Evaluation;
using SerMtl.Modeling;
using SerMtl.Text;
using static TorchSharp.torch;

namespace SerMtl.Evaluation;

/// <summary>Options of <see cref="SerEvaluator.Evaluate"/>.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Utterances per forward pass. Default 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Upper bound on the padded audio of one forward pass, in seconds; null (default): no bound.</summary>
    public double? MaxBatchSeconds { get; init; }

    /// <summary>Decoded waveforms kept in memory while evaluating, in bytes (as <c>TrainingOptions.AudioCacheBytes</c> for training). Default 4 GiB.</summary>
    public long AudioCacheBytes { get; init; } = 4L << 30;
}

/// <summary>Runs a model over labelled utterances and scores its emotions and transcripts.</summary>
public static class SerEvaluator
{
    /// <summary>
    /// Predicts every sample (evaluation mode, no gradients, on the model's device, in batches of similar length) and
    /// computes the emotion metrics over the model's labels and the WER/CER of the greedy CTC transcripts against the
    /// samples' transcripts normalised for the model's vocabulary. The model's training mode is restored.
    /// </summary>
    /// <exception cref="ArgumentException">No samples, a label the model does not know, or audio shorter than the model's receptive field.</exception>
    /// <exception cref="InvalidDataException">An audio file cannot be read.</exception>
    public static EvaluationResult Evaluate(SerMtlModel model, IReadOnlyList<SpeechSample> samples, EvaluationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(samples);
        options ??= new EvaluationOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options.BatchSize));
        if (options.MaxBatchSeconds is { } s && !(s > 0 && double.IsFinite(s)))
            throw new ArgumentOutOfRangeException(nameof(options), s, "MaxBatchSeconds must be null or a finite number of seconds > 0");
        ArgumentOutOfRangeException.ThrowIfNegative(options.AudioCacheBytes, nameof(options.AudioCacheBytes));
        var store = new WaveformStore(model.Backbone.Preprocessing.SamplingRate, options.AudioCacheBytes);
        var set = UtteranceSet.Prepare("evaluation", samples, model, store, cancellationToken);
        return EvaluateSet(model, set, store, options.BatchSize, MaxSamples(options.MaxBatchSeconds, store.SampleRate), cancellationToken);
    }

    /// <summary>Seconds to samples, or null.</summary>
    internal static long? MaxSamples(double? seconds, int sampleRate) => seconds is { } s ? (long)Math.Ceiling(s * sampleRate) : null;

    internal static EvaluationResult EvaluateSet(SerMtlModel model, UtteranceSet set, WaveformStore store, int batchSize, long? maxBatchSamples,
        CancellationToken cancellationToken, IProgress<(int Done, int Total)>? progress = null)
    {
        if (set.Count == 0) throw new ArgumentException($"no {set.Name} samples to evaluate", nameof(set));
        var predicted = new int[set.Count];
        var probabilities = new float[set.Count][];
        var transcripts = new string[set.Count];
        var batches = BatchPlanner.Evaluation(set.Items.Select(u => u.SampleCount).ToArray(), batchSize, maxBatchSamples);
        var classes = model.Labels.Count;
        var device = model.Device;
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var done = 0;
            foreach (var batch in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var inputs = WaveformBatch.Create(batch.Select(i => store.Load(set.Items[i].Sample.AudioPath)).ToList(), model.Backbone.Preprocessing, device);
                using var output = model.Forward(inputs);
                var probs = nn.functional.softmax(output.EmotionLogits.to(ScalarType.Float32), -1).cpu().data<float>().ToArray(); // [B * C]
                var texts = CtcGreedyDecoder.Decode(output.CtcLogits, output.FrameLengths, model.Vocabulary);
                for (var j = 0; j < batch.Length; j++)
                {
                    var row = probs.AsSpan(j * classes, classes).ToArray();
                    probabilities[batch[j]] = row;
                    predicted[batch[j]] = ArgMax(row);
                    transcripts[batch[j]] = texts[j];
                }
                done += batch.Length;
                progress?.Report((done, set.Count));
            }
        }
        finally
        {
            model.train(wasTraining);
        }

        var words = new EditCounts(0, 0);
        var characters = new EditCounts(0, 0);
        var predictions = new UtterancePrediction[set.Count];
        for (var i = 0; i < set.Count; i++)
        {
            var u = set.Items[i];
            if (u.Reference is { } reference)
            {
                words += ErrorRates.WordEdits(reference, transcripts[i]);
                characters += ErrorRates.CharacterEdits(reference, transcripts[i]);
            }
            predictions[i] = new UtterancePrediction(u.Sample.Id, u.Sample.Label, model.Labels[predicted[i]], probabilities[i], u.Reference, transcripts[i]);
        }
        var metrics = ClassificationMetrics.Compute(model.Labels, set.Items.Select((u, i) => (u.LabelId, predicted[i])));
        return new EvaluationResult(metrics, words, characters, predictions);
    }

    private static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
