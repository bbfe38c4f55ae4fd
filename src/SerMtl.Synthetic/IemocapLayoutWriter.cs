using System.Globalization;
using System.Text;
using SerMtl.Data.Audio;

namespace SerMtl.Synthetic;

/// <summary>Writes a <see cref="SyntheticCorpus"/> in the folder layout and text formats of IEMOCAP_full_release.</summary>
internal static class IemocapLayoutWriter
{
    public const string ReleaseFolder = "IEMOCAP_full_release";
    public const string MarkerFile = "SERMTL_SYNTHETIC.txt";

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static string Write(SyntheticCorpus corpus, string root, bool overwrite, ParallelOptions parallelism)
    {
        var release = Path.GetFullPath(Path.Combine(root, ReleaseFolder));
        PrepareReleaseFolder(release, overwrite);

        WriteText(Path.Combine(release, MarkerFile),
            "Synthetic corpus written by SerMtl.Synthetic.SyntheticCorpus in the IEMOCAP_full_release layout.\n" +
            "It is NOT IEMOCAP: the audio is synthesised speech-like sound with emotions carried by prosody.\n" +
            Invariant($"seed {corpus.Options.Seed}, sessions {corpus.Options.Sessions}, ") +
            Invariant($"{corpus.Options.UtterancesPerSpeakerPerEmotion} utterances per speaker and emotion, {corpus.Options.SampleRate} Hz.\n"));

        foreach (var dialog in corpus.Dialogs)
        {
            var session = Path.Combine(release, Invariant($"Session{dialog.Session}"));
            var evaluation = Path.Combine(session, "dialog", "EmoEvaluation");
            foreach (var sub in new[] { "Categorical", "Attribute", "Self-evaluation" }) Directory.CreateDirectory(Path.Combine(evaluation, sub));
            Directory.CreateDirectory(Path.Combine(session, "dialog", "transcriptions"));
            Directory.CreateDirectory(Path.Combine(session, "sentences", "wav", dialog.Name));

            WriteText(Path.Combine(evaluation, dialog.Name + ".txt"), EvaluationFile(dialog));
            WriteText(Path.Combine(session, "dialog", "transcriptions", dialog.Name + ".txt"), TranscriptionFile(dialog));
            // Per-evaluator files the reader must ignore (same line shapes as the release's).
            var categorical = new StringBuilder();
            var attribute = new StringBuilder();
            foreach (var u in dialog.Turns)
            {
                categorical.Append(Invariant($"{u.Id} :{CategoryWord(u.RawLabel)}; ()\n"));
                attribute.Append(Invariant($"{u.Id} :act {Math.Round(u.Arousal)}; val {Math.Round(u.Valence)}; dom {Math.Round(u.Dominance)}; ()\n"));
            }
            WriteText(Path.Combine(evaluation, "Categorical", dialog.Name + "_e1_cat.txt"), categorical.ToString());
            WriteText(Path.Combine(evaluation, "Attribute", dialog.Name + "_e1_atr.txt"), attribute.ToString());
        }

        var all = corpus.Dialogs.SelectMany(d => d.Turns.Select(u => (d, u))).ToArray();
        Parallel.For(0, all.Length, parallelism, i =>
        {
            var (dialog, u) = all[i];
            var path = Path.Combine(release, Invariant($"Session{dialog.Session}"), "sentences", "wav", dialog.Name, u.Id + ".wav");
            WavWriter.Write(path, u.Samples, u.SampleRate);
        });
        return release;
    }

    /// <summary>
    /// The summary file: a header and a blank line, then for each turn (female turns first, then male, each by id)
    /// its summary line, evaluator lines and a blank line — the order and shapes of the release's files.
    /// </summary>
    internal static string EvaluationFile(SyntheticDialog dialog)
    {
        var text = new StringBuilder("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n");
        var ordered = dialog.Turns.OrderBy(u => u.Id[^4]).ThenBy(u => u.Id, StringComparer.Ordinal);
        foreach (var u in ordered)
        {
            text.Append(Invariant($"[{u.StartSeconds:F4} - {u.EndSeconds:F4}]\t{u.Id}\t{u.RawLabel}\t[{u.Valence:F4}, {u.Arousal:F4}, {u.Dominance:F4}]\n"));
            var word = CategoryWord(u.RawLabel);
            text.Append(Invariant($"C-E1:\t{word};\t()\n"));
            text.Append(Invariant($"C-E2:\t{word};\t()\n"));
            text.Append(Invariant($"C-E4:\t{word}; Other;\t(synthetic)\n"));
            text.Append(Invariant($"C-{u.Speaker.Gender}1:\t{word};\t()\n"));
            text.Append(Invariant($"A-E1:\tval {Math.Round(u.Valence)}; act {Math.Round(u.Arousal)}; dom  {Math.Round(u.Dominance)};\t()\n"));
            text.Append(Invariant($"A-E2:\tval {Math.Round(u.Valence)}; act {Math.Round(u.Arousal)}; dom  {Math.Round(u.Dominance)};\t()\n"));
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The transcription file: every line in time order, <c>id [start-end]: Text.</c> with 3-digit seconds.</summary>
    internal static string TranscriptionFile(SyntheticDialog dialog)
    {
        var lines = dialog.Turns.Select(u => (u.StartSeconds, u.EndSeconds, u.Id, Text: WrittenText(u.Transcript))).ToList();
        if (dialog.Unlabelled is { } extra) lines.Add((extra.StartSeconds, extra.EndSeconds, extra.Id, extra.Text));
        var text = new StringBuilder();
        foreach (var (start, end, id, said) in lines.OrderBy(l => l.Item1))
            text.Append(Invariant($"{id} [{start:000.0000}-{end:000.0000}]: {said}\n"));
        return text.ToString();
    }

    /// <summary>"IT'S A DOG" → "It's a dog." (the release's transcripts are in sentence case with punctuation).</summary>
    internal static string WrittenText(string transcript)
    {
        var words = transcript.ToLowerInvariant().Split(' ');
        for (var i = 0; i < words.Length; i++)
        {
            if (i == 0 || words[i] == "i" || words[i].StartsWith("i'", StringComparison.Ordinal))
                words[i] = char.ToUpperInvariant(words[i][0]) + words[i][1..];
        }
        return string.Join(' ', words) + ".";
    }

    private static string CategoryWord(string label) => label switch
    {
        "neu" => "Neutral",
        "hap" => "Happiness",
        "exc" => "Excited",
        "ang" => "Anger",
        "sad" => "Sadness",
        "fru" => "Frustration",
        "sur" => "Surprise",
        _ => "Other",
    };

    private static void PrepareReleaseFolder(string release, bool overwrite)
    {
        if (File.Exists(release)) throw new IOException($"{release}: exists and is a file, expected a folder to write the corpus in");
        if (!Directory.Exists(release) || !Directory.EnumerateFileSystemEntries(release).Any())
        {
            Directory.CreateDirectory(release);
            return;
        }
        if (!File.Exists(Path.Combine(release, MarkerFile)))
            throw new IOException($"{release}: exists, is not empty and is not a synthetic corpus (no {MarkerFile}); refusing to write into it");
        if (!overwrite)
            throw new IOException($"{release}: a synthetic corpus is already there; pass overwrite: true to replace it");
        Directory.Delete(release, recursive: true);
        Directory.CreateDirectory(release);
    }

    private static void WriteText(string path, string text) => File.WriteAllText(path, text, s_utf8);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
