namespace SerMtl.Data.Iemocap;

/// <summary>Whether an IEMOCAP dialog was improvised or performed from a script.</summary>
public enum IemocapDialogKind
{
    /// <summary>An improvised scenario (<c>_impro</c> in the dialog name).</summary>
    Improvised,

    /// <summary>A scripted play (<c>_script</c> in the dialog name).</summary>
    Scripted,
}

/// <summary>A speaker's gender as encoded in IEMOCAP ids.</summary>
public enum Gender
{
    /// <summary>Female (<c>F</c>).</summary>
    Female,

    /// <summary>Male (<c>M</c>).</summary>
    Male,
}

/// <summary>One labelled IEMOCAP utterance (a "turn" of the release's EmoEvaluation files).</summary>
/// <param name="Id">Utterance id, e.g. <c>Ses01F_impro01_M003</c>.</param>
/// <param name="Session">Session number, 1–5.</param>
/// <param name="Dialog">Dialog name, e.g. <c>Ses01F_impro01</c> or <c>Ses01F_script01_1</c>.</param>
/// <param name="Kind">Improvised or scripted.</param>
/// <param name="Speaker">
/// The actor speaking: session and the gender letter of the id's <em>last</em> segment
/// (<c>Ses01F_impro01_M003</c> → <c>Ses01M</c>). The letter in the dialog name only says who wore the
/// motion-capture markers; both actors of the session speak in every dialog.
/// </param>
/// <param name="Gender">The speaker's gender.</param>
/// <param name="Start">Start time in the dialog recording, seconds.</param>
/// <param name="End">End time in the dialog recording, seconds.</param>
/// <param name="RawLabel">The consensus label as written (<c>neu</c>, <c>hap</c>, <c>exc</c>, <c>ang</c>, <c>sad</c>, <c>fru</c>, <c>xxx</c>, …).</param>
/// <param name="Valence">Mean valence rating (1–5).</param>
/// <param name="Arousal">Mean arousal (activation) rating (1–5).</param>
/// <param name="Dominance">Mean dominance rating (1–5).</param>
/// <param name="Transcript">The transcription line's text, as written (not normalised).</param>
/// <param name="WavPath">Full path of <c>SessionN/sentences/wav/&lt;dialog&gt;/&lt;id&gt;.wav</c>.</param>
public sealed record IemocapUtterance(
    string Id,
    int Session,
    string Dialog,
    IemocapDialogKind Kind,
    string Speaker,
    Gender Gender,
    double Start,
    double End,
    string RawLabel,
    double Valence,
    double Arousal,
    double Dominance,
    string Transcript,
    string WavPath);
