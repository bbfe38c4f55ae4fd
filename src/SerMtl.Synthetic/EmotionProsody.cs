namespace SerMtl.Synthetic;

/// <summary>How an emotion shapes the voice, relative to the speaker's neutral baseline.</summary>
/// <remarks>
/// Models normalise every utterance to zero mean and unit variance, so absolute loudness is gone by the time they
/// see it; what survives is pitch (level, range, contour), tempo, voice quality (jitter, shimmer, breathiness,
/// spectral tilt), the loudness envelope (accents, articulation depth, a fall over the utterance) and the speech
/// level relative to the fixed background noise. Each emotion differs from every other in several of these.
/// </remarks>
/// <param name="PitchLevel">Log-f0 offset from the speaker's baseline (0.26 ≈ ×1.3).</param>
/// <param name="PitchSlope">Log-f0 change from the start to the end of the speech (positive rises).</param>
/// <param name="AccentHeight">Log-f0 height of the pitch accent on one character per word.</param>
/// <param name="Undulation">Log-f0 amplitude of a slow (3.5 Hz) pitch undulation.</param>
/// <param name="CharSeconds">Mean duration of a character.</param>
/// <param name="GapSeconds">Mean pause between words.</param>
/// <param name="Jitter">Relative standard deviation of each glottal period.</param>
/// <param name="Shimmer">Log standard deviation of each glottal pulse's amplitude.</param>
/// <param name="Breath">Level of aspiration noise relative to the voice.</param>
/// <param name="Brightness">High-frequency emphasis of the source (0 dark, 1 neutral tilt, above 1 pressed).</param>
/// <param name="DipFloor">Envelope level between characters (low: crisp articulation; high: slurred).</param>
/// <param name="AttackSeconds">Rise time of each character's envelope from the dip (short: crisp onsets).</param>
/// <param name="ReleaseSeconds">Fall time of each character's envelope into the next dip.</param>
/// <param name="AccentGainDb">Loudness boost of accented characters.</param>
/// <param name="LoudnessSlopeDb">Loudness change from the start to the end of the speech.</param>
/// <param name="SpeechLevelDb">Speech RMS relative to full scale, before per-utterance variation.</param>
internal sealed record EmotionProsody(
    double PitchLevel,
    double PitchSlope,
    double AccentHeight,
    double Undulation,
    double CharSeconds,
    double GapSeconds,
    double Jitter,
    double Shimmer,
    double Breath,
    double Brightness,
    double DipFloor,
    double AttackSeconds,
    double ReleaseSeconds,
    double AccentGainDb,
    double LoudnessSlopeDb,
    double SpeechLevelDb)
{
    public static readonly EmotionProsody Neutral = new(
        PitchLevel: 0, PitchSlope: -0.06, AccentHeight: 0.04, Undulation: 0.01, CharSeconds: 0.082, GapSeconds: 0.09,
        Jitter: 0.006, Shimmer: 0.04, Breath: 0.04, Brightness: 0.6, DipFloor: 0.35, AttackSeconds: 0.012, ReleaseSeconds: 0.015,
        AccentGainDb: 1, LoudnessSlopeDb: -1, SpeechLevelDb: -22);

    public static readonly EmotionProsody Happy = new(
        PitchLevel: 0.24, PitchSlope: 0.28, AccentHeight: 0.14, Undulation: 0.06, CharSeconds: 0.070, GapSeconds: 0.07,
        Jitter: 0.01, Shimmer: 0.05, Breath: 0.04, Brightness: 0.8, DipFloor: 0.4, AttackSeconds: 0.010, ReleaseSeconds: 0.014,
        AccentGainDb: 3, LoudnessSlopeDb: 1, SpeechLevelDb: -19);

    public static readonly EmotionProsody Angry = new(
        PitchLevel: 0.32, PitchSlope: -0.18, AccentHeight: 0.2, Undulation: 0.03, CharSeconds: 0.060, GapSeconds: 0.055,
        Jitter: 0.035, Shimmer: 0.18, Breath: 0.02, Brightness: 1.4, DipFloor: 0.15, AttackSeconds: 0.006, ReleaseSeconds: 0.010,
        AccentGainDb: 6, LoudnessSlopeDb: 0, SpeechLevelDb: -16);

    public static readonly EmotionProsody Sad = new(
        PitchLevel: -0.16, PitchSlope: -0.14, AccentHeight: 0.015, Undulation: 0, CharSeconds: 0.108, GapSeconds: 0.16,
        Jitter: 0.012, Shimmer: 0.06, Breath: 0.3, Brightness: 0.25, DipFloor: 0.6, AttackSeconds: 0.025, ReleaseSeconds: 0.030,
        AccentGainDb: 0.5, LoudnessSlopeDb: -6, SpeechLevelDb: -28);

    public static EmotionProsody For(SyntheticEmotion emotion) => emotion switch
    {
        SyntheticEmotion.Neutral => Neutral,
        SyntheticEmotion.Happy => Happy,
        SyntheticEmotion.Angry => Angry,
        SyntheticEmotion.Sad => Sad,
        _ => throw new ArgumentOutOfRangeException(nameof(emotion), emotion, "unknown emotion"),
    };
}
