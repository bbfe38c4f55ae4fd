using System.Globalization;
using System.Text;
using SerMtl.Data.Tests.Audio;

namespace SerMtl.Data.Tests.Iemocap;

/// <summary>One labelled turn for <see cref="IemocapTree"/>.</summary>
internal sealed record TreeUtterance(
    string Id,
    string Label,
    double Start = 1.5,
    double End = 3.25,
    double V = 2.5,
    double A = 3.0,
    double D = 3.5,
    string? Text = "Hello there.",
    bool Wav = true);

/// <summary>
/// Writes a small IEMOCAP_full_release-shaped tree: EmoEvaluation files with headers, evaluator lines and the
/// Categorical/Attribute/Self-evaluation subfolders, transcriptions with unlabelled FXX/MXX and id-less lines,
/// tiny wav files, and macOS "._" companions full of binary junk.
/// </summary>
internal sealed class IemocapTree
{
    private readonly SortedDictionary<string, List<TreeUtterance>> _dialogs = new(StringComparer.Ordinal);

    public bool Crlf { get; set; }

    public bool MacOsJunk { get; set; } = true;

    /// <summary>Dialogs whose transcription file is not written.</summary>
    public HashSet<string> NoTranscriptFile { get; } = [];

    /// <summary>Extra raw lines appended to a dialog's transcription file.</summary>
    public Dictionary<string, List<string>> ExtraTranscriptLines { get; } = [];

    /// <summary>Extra raw lines appended to a dialog's EmoEvaluation file.</summary>
    public Dictionary<string, List<string>> ExtraEmoLines { get; } = [];

    public IemocapTree Add(string dialog, params TreeUtterance[] utterances)
    {
        if (!_dialogs.TryGetValue(dialog, out var list)) _dialogs[dialog] = list = [];
        list.AddRange(utterances);
        return this;
    }

    /// <summary>
    /// Two sessions, four dialogs (improvised and scripted, an F-dialog and an M-dialog per session), every
    /// IEMOCAP label kind including ones outside the 4-class set.
    /// </summary>
    public static IemocapTree Standard() => new IemocapTree()
        .Add("Ses01F_impro01",
            new("Ses01F_impro01_F000", "neu", 6.2901, 8.2357, 2.5, 2.5, 2.5, "Excuse me."),
            new("Ses01F_impro01_F001", "exc", Text: "[LAUGHTER] Yeah, sure!"),
            new("Ses01F_impro01_M000", "ang", Text: "Do you have your forms?"),
            new("Ses01F_impro01_M001", "fru"),
            new("Ses01F_impro01_M002", "xxx"))
        .Add("Ses01M_script01_1",
            new("Ses01M_script01_1_F000", "sad", Text: ""),
            new("Ses01M_script01_1_M000", "hap"),
            new("Ses01M_script01_1_M001", "sad"))
        .Add("Ses02F_impro02",
            new("Ses02F_impro02_F000", "neu"),
            new("Ses02F_impro02_M000", "sad"))
        .Add("Ses02M_script02_1b",
            new("Ses02M_script02_1b_F000", "ang"),
            new("Ses02M_script02_1b_M000", "hap"),
            new("Ses02M_script02_1b_M001", "sur"));

    /// <summary>Writes the release into <paramref name="releaseDirectory"/> and returns it.</summary>
    public string Write(string releaseDirectory)
    {
        var wav = WavBuilder.Pcm16Mono([0.1f, -0.1f, 0.2f, 0f]);
        foreach (var (dialog, utterances) in _dialogs)
        {
            var session = int.Parse(dialog.AsSpan(3, 2), CultureInfo.InvariantCulture);
            var sessionDir = Path.Combine(releaseDirectory, $"Session{session}");
            var emo = Path.Combine(sessionDir, "dialog", "EmoEvaluation");
            foreach (var sub in new[] { "Categorical", "Attribute", "Self-evaluation" }) Directory.CreateDirectory(Path.Combine(emo, sub));
            // Subfolder files have their own formats; one even starts a line with '[' that is no summary line.
            WriteLines(Path.Combine(emo, "Categorical", $"{dialog}_e1_cat.txt"), [$"{utterances[0].Id} :Neutral state; ()", "[not a summary line"]);
            WriteLines(Path.Combine(emo, "Attribute", $"{dialog}_e3_atr.txt"), [$"{utterances[0].Id} :act 2; val 3; dom 2; ()"]);

            var emoLines = new List<string> { "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", "" };
            foreach (var u in utterances)
            {
                emoLines.Add(string.Create(CultureInfo.InvariantCulture, $"[{u.Start:0.0000} - {u.End:0.0000}]\t{u.Id}\t{u.Label}\t[{u.V:0.0000}, {u.A:0.0000}, {u.D:0.0000}]"));
                emoLines.Add("C-E1:\tNeutral;\t()");
                emoLines.Add("C-E2:\tAnger; Frustration;\t(angry)");
                emoLines.Add("A-E1:\tval 3; act 2; dom  2;\t()");
                emoLines.Add("");
            }
            if (ExtraEmoLines.TryGetValue(dialog, out var extraEmo)) emoLines.AddRange(extraEmo);
            WriteLines(Path.Combine(emo, dialog + ".txt"), emoLines);

            var tx = Path.Combine(sessionDir, "dialog", "transcriptions");
            Directory.CreateDirectory(tx);
            if (!NoTranscriptFile.Contains(dialog))
            {
                var lines = new List<string>
                {
                    $"{dialog}_MXX0 [000.1000-000.9000]: [LAUGHTER] That's what they say.",
                    $"{dialog}_FXX0 [001.0000-001.5000]: Yeah.",
                    $"{dialog}_FXX0 [002.0000-002.5000]: Duplicate unlabelled lines happen.",
                    "M: a line without an id",
                    "",
                };
                foreach (var u in utterances.Where(u => u.Text is not null))
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"{u.Id} [{u.Start:000.0000}-{u.End:000.0000}]: {u.Text}"));
                if (ExtraTranscriptLines.TryGetValue(dialog, out var extra)) lines.AddRange(extra);
                WriteLines(Path.Combine(tx, dialog + ".txt"), lines);
            }

            var wavDir = Path.Combine(sessionDir, "sentences", "wav", dialog);
            Directory.CreateDirectory(wavDir);
            foreach (var u in utterances.Where(u => u.Wav)) File.WriteAllBytes(Path.Combine(wavDir, u.Id + ".wav"), wav);

            if (MacOsJunk)
            {
                // AppleDouble resource forks: binary, named like the real files with a "._" prefix.
                byte[] junk = [0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00, 0x5B, 0xFF, 0x0A, 0x5B, 0x00];
                File.WriteAllBytes(Path.Combine(emo, "._" + dialog + ".txt"), junk);
                File.WriteAllBytes(Path.Combine(tx, "._" + dialog + ".txt"), junk);
                File.WriteAllBytes(Path.Combine(wavDir, "._" + utterances[0].Id + ".wav"), junk);
            }
        }
        if (MacOsJunk) Directory.CreateDirectory(Path.Combine(releaseDirectory, "._Session1"));
        return releaseDirectory;
    }

    private void WriteLines(string path, IEnumerable<string> lines)
    {
        var eol = Crlf ? "\r\n" : "\n";
        File.WriteAllText(path, string.Concat(lines.Select(l => l + eol)), new UTF8Encoding(false));
    }
}
