namespace SerMtl.Data.Protocols;

/// <summary>How a fold's validation set is carved from its training side.</summary>
public enum ValidationStrategy
{
    /// <summary>No validation set: every non-test sample trains.</summary>
    None,

    /// <summary>
    /// A seeded <see cref="ValidationOptions.Fraction"/> of the training utterances, stratified by speaker and,
    /// within a speaker, by label: every training speaker contributes about the same share. The validation
    /// speakers are also training speakers, so it measures fit on known voices.
    /// </summary>
    UtteranceFraction,

    /// <summary>
    /// Every utterance of <see cref="ValidationOptions.Speakers"/> training speakers (chosen by seed among those
    /// not in the test fold): a speaker-independent estimate, like the test fold, at the cost of training data.
    /// </summary>
    HoldOutSpeakers,
}

/// <summary>
/// How each fold carves a validation set from its training samples — never from its test samples. The default is
/// <see cref="ValidationStrategy.UtteranceFraction"/> with 10 % and seed 0, which works for any corpus and protocol.
/// </summary>
public sealed record ValidationOptions
{
    /// <summary>The strategy. Default: <see cref="ValidationStrategy.UtteranceFraction"/>.</summary>
    public ValidationStrategy Strategy { get; init; } = ValidationStrategy.UtteranceFraction;

    /// <summary>Share of training utterances for <see cref="ValidationStrategy.UtteranceFraction"/>, in (0, 1). Default 0.1.</summary>
    public double Fraction { get; init; } = 0.1;

    /// <summary>Number of training speakers held out for <see cref="ValidationStrategy.HoldOutSpeakers"/>. Default 1.</summary>
    public int Speakers { get; init; } = 1;

    /// <summary>Seed of the selection; the same seed, corpus and fold always give the same split. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>The defaults: 10 % of training utterances, stratified by speaker, seed 0.</summary>
    public static ValidationOptions Default { get; } = new();

    /// <summary>No validation set.</summary>
    public static ValidationOptions None { get; } = new() { Strategy = ValidationStrategy.None };

    internal void Validate()
    {
        if (!Enum.IsDefined(Strategy)) throw new ArgumentOutOfRangeException(nameof(Strategy), Strategy, "unknown validation strategy");
        if (Strategy == ValidationStrategy.UtteranceFraction && !(Fraction > 0 && Fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(Fraction), Fraction, "the validation fraction must be in (0, 1)");
        if (Strategy == ValidationStrategy.HoldOutSpeakers && Speakers < 1)
            throw new ArgumentOutOfRangeException(nameof(Speakers), Speakers, "hold out at least one speaker");
    }
}
