using SerMtl.Data.Audio;

namespace SerMtl.Inference;

/// <summary>
/// A speech emotion recognizer, whichever engine runs it: <c>EmotionRecognizer</c> (TorchSharp, SerMtl.Core) or
/// <c>OnnxEmotionRecognizer</c> (ONNX Runtime, SerMtl.OnnxRuntime). Every method may be called from several threads.
/// </summary>
public interface IEmotionRecognizer : IDisposable
{
    /// <summary>The emotion labels in the model's order; for a regression model the names of its scores.</summary>
    IReadOnlyList<string> Labels { get; }

    /// <summary>True when the model gives named scores rather than class probabilities.</summary>
    bool IsRegression { get; }

    /// <summary>The sample rate the model runs at (input at other rates is resampled to it).</summary>
    int SampleRate { get; }

    /// <summary>The fewest samples (at <see cref="SampleRate"/>) a recording must have.</summary>
    int MinimumSamples { get; }

    /// <summary>Predicts the emotion and transcript of a WAV file.</summary>
    EmotionPrediction Predict(string wavPath);

    /// <summary>Predicts the emotion and transcript of WAV data read from the stream's current position.</summary>
    EmotionPrediction Predict(Stream wav, string? name = null);

    /// <summary>Predicts the emotion and transcript of mono samples in [-1, 1] at <paramref name="sampleRate"/> Hz.</summary>
    EmotionPrediction Predict(ReadOnlySpan<float> samples, int sampleRate);

    /// <summary>Predicts the emotion and transcript of an audio clip.</summary>
    EmotionPrediction Predict(AudioClip clip);

    /// <summary>Predicts several WAV files in padded batches; results in input order, as one-at-a-time calls give them.</summary>
    IReadOnlyList<EmotionPrediction> PredictBatch(IReadOnlyList<string> wavPaths);

    /// <summary>Predicts several clips in padded batches; results in input order, as one-at-a-time calls give them.</summary>
    IReadOnlyList<EmotionPrediction> PredictBatch(IReadOnlyList<AudioClip> clips);

    /// <summary>Asynchronous requests admitted at once; one more is refused with <see cref="RecognizerOverloadedException"/>.</summary>
    int QueueCapacity { get; }

    /// <summary>Asynchronous requests admitted and not yet finished.</summary>
    int QueueDepth { get; }

    /// <summary>Predicts a WAV file without blocking the caller, through the bounded queue.</summary>
    Task<EmotionPrediction> PredictAsync(string wavPath, CancellationToken cancellationToken = default);

    /// <summary>Predicts WAV data read asynchronously from a stream, through the bounded queue.</summary>
    Task<EmotionPrediction> PredictAsync(Stream wav, string? name = null, CancellationToken cancellationToken = default);

    /// <summary>Cuts a WAV file into utterances at its pauses and predicts each (start, end, emotion, transcript).</summary>
    EmotionTimeline PredictTimeline(string wavPath, TimelineOptions? options = null);

    /// <summary>Cuts WAV data read asynchronously from a stream into utterances and predicts each, through the bounded queue.</summary>
    Task<EmotionTimeline> PredictTimelineAsync(Stream wav, string? name = null, TimelineOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Predicts mono samples at <paramref name="sampleRate"/> Hz without blocking the caller, through the bounded queue.</summary>
    Task<EmotionPrediction> PredictAsync(ReadOnlyMemory<float> samples, int sampleRate, CancellationToken cancellationToken = default);
}
