using SerMtl.Data.Corpora;

namespace SerMtl.Data.Protocols;

/// <summary>
/// One train/validation/test split of a corpus. <see cref="Validation"/> is carved from the training side only
/// (see <see cref="ValidationOptions"/>), so model selection never sees <see cref="Test"/>.
/// The three lists are disjoint; each keeps the corpus's sample order.
/// </summary>
/// <param name="Name">Fold name: the held-out speaker (<c>Ses01F</c>), dialog prefix, session (<c>Session1</c>) or <c>FoldN</c>.</param>
/// <param name="Train">Samples to train on.</param>
/// <param name="Validation">Samples for model selection (epoch choice, early stopping); may be empty.</param>
/// <param name="Test">Held-out samples, used only for the final score.</param>
public sealed record Fold(
    string Name,
    IReadOnlyList<SpeechSample> Train,
    IReadOnlyList<SpeechSample> Validation,
    IReadOnlyList<SpeechSample> Test);
