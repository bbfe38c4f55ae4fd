namespace SerMtl.Data.Corpora;

/// <summary>
/// One labelled utterance, independent of the corpus it came from: what the trainer and the protocols consume.
/// </summary>
/// <param name="Id">Unique id within its corpus (IEMOCAP: the utterance id, e.g. <c>Ses01F_impro01_M003</c>).</param>
/// <param name="AudioPath">Full path of the audio file.</param>
/// <param name="Speaker">The person speaking (IEMOCAP: <c>Ses01M</c>); empty when the corpus does not say.</param>
/// <param name="Label">The class label, one of the corpus's <see cref="SpeechCorpus.Labels"/>.</param>
/// <param name="Transcript">What is said, as written in the corpus (not normalised), or null when unknown.</param>
/// <param name="Session">Recording session when the corpus has them (IEMOCAP: <c>Session1</c>…<c>Session5</c>), else null.</param>
/// <param name="Dialog">Dialog or recording the utterance was cut from (IEMOCAP: <c>Ses01F_impro01</c>), else null.</param>
public sealed record SpeechSample(
    string Id,
    string AudioPath,
    string Speaker,
    string Label,
    string? Transcript = null,
    string? Session = null,
    string? Dialog = null);
