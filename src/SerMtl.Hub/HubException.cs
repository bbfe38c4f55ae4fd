namespace SerMtl.Hub;

/// <summary>Why a file could not be had from the Hub or the cache.</summary>
public enum HubErrorKind
{
    /// <summary>The repository is gated: accept its conditions on the Hub and set a token (HF_TOKEN).</summary>
    GatedRepository,

    /// <summary>No such repository, or a private one the token (if any) cannot see.</summary>
    RepositoryNotFound,

    /// <summary>No such branch, tag or commit in the repository.</summary>
    RevisionNotFound,

    /// <summary>The repository has no file of that name at that revision.</summary>
    FileNotFound,

    /// <summary>The Hub could not be reached, and the file is not in the cache.</summary>
    NoNetwork,

    /// <summary>Offline (HF_HUB_OFFLINE) and the file is not in the cache.</summary>
    NotCached,

    /// <summary>The download did not match the checksum the Hub gave for it (it was discarded).</summary>
    ChecksumMismatch,

    /// <summary>The Hub answered in a way this client does not understand.</summary>
    UnexpectedResponse,
}

/// <summary>A Hub or cache failure, with a message that says what to do about it.</summary>
public sealed class HubException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HubException(HubErrorKind kind, string message, Exception? inner = null) : base(message, inner) => Kind = kind;

    /// <summary>What went wrong.</summary>
    public HubErrorKind Kind { get; }
}

/// <summary>Progress of one file's download.</summary>
/// <param name="Model">The model.</param>
/// <param name="FileName">The file, relative to the repository.</param>
/// <param name="Bytes">Bytes on disk so far (a resumed download starts above 0).</param>
/// <param name="TotalBytes">The file's size when the Hub gave it, else null.</param>
public sealed record HubDownloadProgress(HubModelId Model, string FileName, long Bytes, long? TotalBytes);
