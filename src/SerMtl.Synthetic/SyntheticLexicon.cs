namespace SerMtl.Synthetic;

/// <summary>The words utterances are made of and the sound of every character.</summary>
internal static class SyntheticLexicon
{
    /// <summary>Short words that together use every letter A–Z and the apostrophe.</summary>
    public static readonly string[] Words =
    [
        "YES", "NO", "GO", "SUN", "SKY", "BLUE", "RED", "FOX", "JAM", "ZIP", "QUIZ", "WAX", "HOME", "KING", "MAP",
        "VAN", "DOG", "CAT", "OK", "HI", "TOP", "JUMP", "FIVE", "LOW", "WE", "IT'S", "I'M", "DON'T", "BIG", "YOU",
    ];

    /// <summary>The characters that have a sound (space is a pause, not a sound).</summary>
    public const string Symbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'";

    private static readonly double[] s_firstFormants = [320, 500, 780, 1200];
    private static readonly double[] s_secondFormants = [1600, 2100, 2800, 3700];

    /// <summary>Centre of the noise band of fricated characters before speaker scaling, Hz.</summary>
    public const double FricationHz = 6000;

    /// <summary>The sound of <paramref name="symbol"/> (one of <see cref="Symbols"/>).</summary>
    /// <remarks>
    /// Characters sit on a 4 × 4 grid of two resonances (F1, F2), like vowels; the second half of the alphabet also
    /// carries a noise band around 5.2 kHz, like voiced fricatives. Neighbouring grid values are ≥ 1.35× apart, more
    /// than the ±8 % speaker formant scaling, so every character keeps its own spectral shape on every speaker.
    /// </remarks>
    public static CharacterSound Sound(char symbol)
    {
        var k = Symbols.IndexOf(symbol);
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(symbol), symbol, $"no sound for '{symbol}'; expected one of {Symbols}");
        var fricated = k >= 16;
        return new CharacterSound(s_firstFormants[k % 4], s_secondFormants[k / 4 % 4], fricated ? 0.5 : 1.0, fricated ? 0.55 : 0.0);
    }
}

/// <summary>The spectral pattern of one character.</summary>
/// <param name="F1">First resonance, Hz (before speaker scaling).</param>
/// <param name="F2">Second resonance, Hz (before speaker scaling).</param>
/// <param name="Voicing">Gain of the harmonic (pitched) part.</param>
/// <param name="Frication">Gain of the high noise band.</param>
internal readonly record struct CharacterSound(double F1, double F2, double Voicing, double Frication);
