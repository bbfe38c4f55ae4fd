namespace SerMtl.Inference;

/// <summary>The emotion and transcript a recognizer (<see cref="IEmotionRecognizer"/>) finds in one recording.</summary>
/// <remarks>
/// For a recording split into windows (longer than the recognizer's maximum window, 20 s by default),
/// <see cref="Probabilities"/> is the duration-weighted mean of the windows' probabilities, <see cref="Label"/> its
/// most likely class, and <see cref="Transcript"/> the windows' transcripts joined in order, each window
/// contributing the frames nearer its own centre than a neighbour's, so the overlap is not transcribed twice.
/// </remarks>
/// <param name="Label">The most likely emotion; empty for a regression model (see <see cref="Scores"/>).</param>
/// <param name="Probabilities">The probability of every emotion label, in the model's label order; they sum to 1. Empty for a regression model.</param>
/// <param name="Transcript">The CTC head's greedy transcript (upper-case characters and spaces; empty when nothing was recognised).</param>
/// <param name="Duration">The recording's length.</param>
/// <param name="Windows">The per-window results of a long recording, in time order; empty when it was predicted whole.</param>
public sealed record EmotionPrediction(
    string Label,
    IReadOnlyDictionary<string, float> Probabilities,
    string Transcript,
    TimeSpan Duration,
    IReadOnlyList<EmotionWindow> Windows)
{
    /// <summary>The probability of <see cref="Label"/>; NaN for a regression model.</summary>
    public float Confidence => Probabilities.Count == 0 ? float.NaN : Probabilities[Label];

    /// <summary>
    /// A regression model's named scores (e.g. arousal, dominance, valence), in its output order; for a long recording
    /// the duration-weighted mean of the windows'. Empty for a classifier.
    /// </summary>
    public IReadOnlyDictionary<string, float> Scores { get; init; } = EmptyScores.Instance;

    /// <summary>What the input's reader accepted but reported, each naming the file (e.g. a truncated WAV read as far as it goes).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>An empty label → value map.</summary>
internal static class EmptyScores
{
    public static IReadOnlyDictionary<string, float> Instance { get; } = new Dictionary<string, float>();
}

/// <summary>The prediction for one window of a long recording.</summary>
/// <param name="Start">Where the window starts in the recording.</param>
/// <param name="Duration">The window's length.</param>
/// <param name="Label">The most likely emotion in this window.</param>
/// <param name="Probabilities">The probability of every emotion label in this window, in the model's label order.</param>
/// <param name="Transcript">The greedy transcript of the whole window (overlap included).</param>
public sealed record EmotionWindow(
    TimeSpan Start,
    TimeSpan Duration,
    string Label,
    IReadOnlyDictionary<string, float> Probabilities,
    string Transcript)
{
    /// <summary>The probability of <see cref="Label"/>; NaN for a regression model.</summary>
    public float Confidence => Probabilities.Count == 0 ? float.NaN : Probabilities[Label];

    /// <summary>A regression model's named scores in this window; empty for a classifier.</summary>
    public IReadOnlyDictionary<string, float> Scores { get; init; } = EmptyScores.Instance;
}
