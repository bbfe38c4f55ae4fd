namespace SerMtl.Synthetic;

/// <summary>One synthetic actor: an IEMOCAP-style speaker (one female and one male per session) with a fixed voice.</summary>
/// <remarks>
/// Speakers differ in baseline pitch, vocal-tract length (formant scale), timbre and how strongly they express
/// emotion. Within a gender these differences are smaller than the emotion effects, so emotions stay recognisable
/// on speakers a model has never heard.
/// </remarks>
public sealed record SyntheticSpeaker
{
    internal SyntheticSpeaker(int session, char gender, double basePitchHz, double formantScale, VoiceTraits traits)
    {
        Session = session;
        Gender = gender;
        BasePitchHz = basePitchHz;
        FormantScale = formantScale;
        Traits = traits;
    }

    /// <summary>IEMOCAP speaker id: session and gender letter, e.g. <c>Ses01F</c>.</summary>
    public string Id => FormattableString.Invariant($"Ses{Session:00}{Gender}");

    /// <summary>Session number, from 1.</summary>
    public int Session { get; }

    /// <summary><c>'F'</c> (female) or <c>'M'</c> (male), the letter IEMOCAP uses in utterance ids.</summary>
    public char Gender { get; }

    /// <summary>Neutral speaking pitch in Hz (female speakers higher than male).</summary>
    public double BasePitchHz { get; }

    /// <summary>Multiplier on every resonance frequency (a shorter vocal tract gives a value above 1).</summary>
    public double FormantScale { get; }

    internal VoiceTraits Traits { get; }
}

/// <summary>Per-speaker timbre and expressiveness, drawn once per speaker.</summary>
/// <param name="BandwidthScale">Multiplier on resonance bandwidths.</param>
/// <param name="BrightnessOffset">Added to the emotion's spectral brightness.</param>
/// <param name="BreathOffset">Added to the emotion's aspiration-noise level.</param>
/// <param name="JitterOffset">Added to the emotion's relative period jitter.</param>
/// <param name="Expressiveness">Multiplier on the emotion's pitch level, slope and accent deviations from neutral.</param>
/// <param name="TempoScale">Multiplier on character and pause durations.</param>
internal sealed record VoiceTraits(
    double BandwidthScale,
    double BrightnessOffset,
    double BreathOffset,
    double JitterOffset,
    double Expressiveness,
    double TempoScale);
