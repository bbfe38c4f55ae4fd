namespace SerMtl.Synthetic;

/// <summary>The four emotions the synthetic corpus expresses (the standard IEMOCAP 4-class set).</summary>
public enum SyntheticEmotion
{
    /// <summary>Mid pitch, flat contour, medium tempo; written with the raw label <c>neu</c>.</summary>
    Neutral,

    /// <summary>High pitch with a wide rising contour, moderately fast; written as <c>hap</c> or <c>exc</c> (alternately).</summary>
    Happy,

    /// <summary>High pitch, wide range with sharp accents, fast, harsh (jitter, shimmer, bright); written as <c>ang</c>.</summary>
    Angry,

    /// <summary>Low pitch, narrow falling contour, slow, breathy and quiet; written as <c>sad</c>.</summary>
    Sad,
}
