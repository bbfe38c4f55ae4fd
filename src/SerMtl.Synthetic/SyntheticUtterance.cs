namespace SerMtl.Synthetic;

/// <summary>One generated utterance: its IEMOCAP identity, labels, transcript and audio.</summary>
public sealed record SyntheticUtterance
{
    internal SyntheticUtterance(
        string id, string dialog, SyntheticSpeaker speaker, SyntheticEmotion? emotion, string rawLabel,
        (double Valence, double Arousal, double Dominance) vad, string transcript, float[] samples, int sampleRate,
        double startSeconds, IReadOnlyList<SyntheticSegment> segments)
    {
        Id = id;
        Dialog = dialog;
        Speaker = speaker;
        Emotion = emotion;
        RawLabel = rawLabel;
        (Valence, Arousal, Dominance) = vad;
        Transcript = transcript;
        Samples = samples;
        SampleRate = sampleRate;
        StartSeconds = startSeconds;
        EndSeconds = Math.Round(startSeconds + (double)samples.Length / sampleRate, 4);
        Segments = segments;
    }

    /// <summary>Utterance id, <c>&lt;dialog&gt;_&lt;F|M&gt;&lt;NNN&gt;</c>; the gender letter of the last segment is the speaker.</summary>
    public string Id { get; }

    /// <summary>Dialog name, e.g. <c>Ses01F_impro01</c> or <c>Ses01M_script01_1</c> (both actors speak in every dialog).</summary>
    public string Dialog { get; }

    /// <summary>The actor who speaks this utterance.</summary>
    public SyntheticSpeaker Speaker { get; }

    /// <summary>The expressed emotion, or <see langword="null"/> for the few utterances written with a label outside the 4-class set.</summary>
    public SyntheticEmotion? Emotion { get; }

    /// <summary>The IEMOCAP label written for it: <c>neu</c>, <c>hap</c>, <c>exc</c>, <c>ang</c>, <c>sad</c>, or an out-of-set label such as <c>fru</c>.</summary>
    public string RawLabel { get; }

    /// <summary>Valence on IEMOCAP's 1–5 scale.</summary>
    public double Valence { get; }

    /// <summary>Arousal (activation) on IEMOCAP's 1–5 scale.</summary>
    public double Arousal { get; }

    /// <summary>Dominance on IEMOCAP's 1–5 scale.</summary>
    public double Dominance { get; }

    /// <summary>What is said, in the CTC alphabet: upper-case A–Z, apostrophe, single spaces between words.</summary>
    public string Transcript { get; }

    /// <summary>Mono samples at <see cref="SampleRate"/> (nominally within [-1, 1]).</summary>
    public float[] Samples { get; }

    /// <summary>Samples per second.</summary>
    public int SampleRate { get; }

    /// <summary>Start time within the dialog, in seconds (4 decimals, as in the release).</summary>
    public double StartSeconds { get; }

    /// <summary>End time within the dialog, in seconds (4 decimals).</summary>
    public double EndSeconds { get; }

    /// <summary>Length of the audio.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Samples.Length / SampleRate);

    /// <summary>Where each character and pause lies in <see cref="Samples"/> (the ground-truth alignment).</summary>
    internal IReadOnlyList<SyntheticSegment> Segments { get; }
}

/// <summary>A span of samples holding one character, a word gap (<c>' '</c>) or leading/trailing silence (<c>'\0'</c>).</summary>
/// <param name="Symbol">The character rendered, <c>' '</c> for a pause between words, <c>'\0'</c> for edge silence.</param>
/// <param name="Start">First sample.</param>
/// <param name="End">One past the last sample.</param>
internal readonly record struct SyntheticSegment(char Symbol, int Start, int End)
{
    public int Length => End - Start;
}
