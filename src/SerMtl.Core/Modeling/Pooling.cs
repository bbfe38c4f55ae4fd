namespace SerMtl.Modeling;

/// <summary>How the emotion head turns frame-level hidden states into one utterance vector (valid frames only).</summary>
public enum Pooling
{
    /// <summary>Sum over valid frames, as the paper writes it (Cai et al., 2021). The default.</summary>
    Sum,

    /// <summary>Mean over valid frames, as the authors' released code does.</summary>
    Mean,
}
