using SerMtl.Data.Corpora;

namespace SerMtl.Data.Iemocap;

/// <summary>Options for <see cref="IemocapDataset.Load"/>.</summary>
public sealed record IemocapOptions
{
    /// <summary>
    /// What to do when a labelled utterance has no wav file or no transcription line.
    /// Default: <see cref="MissingFilePolicy.Error"/>; with <see cref="MissingFilePolicy.Skip"/> the utterance is
    /// left out and listed in <see cref="IemocapDataset.Skipped"/>.
    /// </summary>
    public MissingFilePolicy MissingFiles { get; init; } = MissingFilePolicy.Error;
}
