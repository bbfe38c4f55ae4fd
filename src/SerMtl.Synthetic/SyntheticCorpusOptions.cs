namespace SerMtl.Synthetic;

/// <summary>What <see cref="SyntheticCorpus.Generate(SyntheticCorpusOptions?)"/> produces. Every field has a working default.</summary>
/// <remarks>
/// The defaults give 5 sessions × 2 speakers × 4 emotions × 20 = 800 labelled utterances of 1–2 s (plus 20 with
/// out-of-set labels), about 21 minutes of audio, generated in seconds. The same options always give the same
/// samples, whatever the degree of parallelism.
/// </remarks>
public sealed record SyntheticCorpusOptions
{
    /// <summary>Seeds everything: speakers, word choice, prosody, noise.</summary>
    public int Seed { get; init; } = 20210830;

    /// <summary>Number of sessions, each with one female and one male speaker (IEMOCAP has 5). 1–99.</summary>
    public int Sessions { get; init; } = 5;

    /// <summary>Labelled utterances each speaker says per emotion (at least 1).</summary>
    public int UtterancesPerSpeakerPerEmotion { get; init; } = 20;

    /// <summary>
    /// Utterances per speaker written with labels outside the 4-class set (<c>fru</c>, <c>xxx</c>, <c>sur</c>), so
    /// readers must filter them as on the real release. 0 turns them off.
    /// </summary>
    public int OtherLabelUtterancesPerSpeaker { get; init; } = 2;

    /// <summary>Dialogs per session, alternating female- and male-named (<c>Ses01F_impro01</c>, <c>Ses01M_impro01</c>, …). At least 2.</summary>
    public int DialogsPerSession { get; init; } = 4;

    /// <summary>Sample rate of the audio in Hz; at least 16000 (the character sounds reach 6 kHz).</summary>
    public int SampleRate { get; init; } = 16000;

    /// <summary>Shortest utterance in seconds (at least 0.8).</summary>
    public double MinDurationSeconds { get; init; } = 1.0;

    /// <summary>Longest utterance in seconds (at most 30).</summary>
    public double MaxDurationSeconds { get; init; } = 2.0;

    /// <summary>RMS level of the background noise in dB relative to full scale (each session varies it by ±2 dB).</summary>
    public double NoiseLevelDb { get; init; } = -52;

    /// <summary>Threads used to render and write audio; <see langword="null"/> uses every core. Does not change the output.</summary>
    public int? MaxDegreeOfParallelism { get; init; }

    internal void Validate()
    {
        static ArgumentOutOfRangeException Bad(string name, object value, string expected) =>
            new(name, value, $"SyntheticCorpusOptions.{name} is {value}; expected {expected}.");

        if (Sessions is < 1 or > 99) throw Bad(nameof(Sessions), Sessions, "1 to 99");
        if (UtterancesPerSpeakerPerEmotion < 1) throw Bad(nameof(UtterancesPerSpeakerPerEmotion), UtterancesPerSpeakerPerEmotion, "at least 1");
        if (OtherLabelUtterancesPerSpeaker < 0) throw Bad(nameof(OtherLabelUtterancesPerSpeaker), OtherLabelUtterancesPerSpeaker, "0 or more");
        if (DialogsPerSession is < 2 or > 40) throw Bad(nameof(DialogsPerSession), DialogsPerSession, "2 to 40");
        if (SampleRate is < 16000 or > 192000) throw Bad(nameof(SampleRate), SampleRate, "16000 to 192000 Hz");
        if (!(MinDurationSeconds >= 0.8)) throw Bad(nameof(MinDurationSeconds), MinDurationSeconds, "at least 0.8 s");
        if (!(MaxDurationSeconds <= 30)) throw Bad(nameof(MaxDurationSeconds), MaxDurationSeconds, "at most 30 s");
        if (MaxDurationSeconds < MinDurationSeconds)
            throw Bad(nameof(MaxDurationSeconds), MaxDurationSeconds, $"at least MinDurationSeconds ({MinDurationSeconds})");
        if (!double.IsFinite(NoiseLevelDb) || NoiseLevelDb > -20) throw Bad(nameof(NoiseLevelDb), NoiseLevelDb, "a finite level of -20 dB or less");
        if (MaxDegreeOfParallelism is < 1) throw Bad(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "null or at least 1");

        // Ids carry a 3-digit per-speaker index within a dialog.
        var perSpeaker = 4L * UtterancesPerSpeakerPerEmotion + OtherLabelUtterancesPerSpeaker;
        var perDialog = (perSpeaker + DialogsPerSession - 1) / DialogsPerSession;
        if (perDialog > 1000)
            throw new ArgumentOutOfRangeException(nameof(UtterancesPerSpeakerPerEmotion), UtterancesPerSpeakerPerEmotion,
                $"SyntheticCorpusOptions: {perSpeaker} utterances per speaker over {DialogsPerSession} dialogs gives {perDialog} per speaker " +
                "and dialog; IEMOCAP ids allow at most 1000 (000–999). Raise DialogsPerSession.");
    }
}
