namespace SerMtl.Data.Corpora;

/// <summary>What a corpus reader does when a labelled utterance's audio file (or transcript) is missing.</summary>
public enum MissingFilePolicy
{
    /// <summary>Fail with an error that lists the missing files (the default: a silently smaller corpus skews results).</summary>
    Error,

    /// <summary>Leave the utterance out and report it in the reader's <c>Skipped</c> list.</summary>
    Skip,
}

/// <summary>An utterance a reader left out under <see cref="MissingFilePolicy.Skip"/>, and why.</summary>
/// <param name="Id">The utterance id.</param>
/// <param name="Reason">What was missing, with the path that was looked for.</param>
public sealed record SkippedSample(string Id, string Reason);
