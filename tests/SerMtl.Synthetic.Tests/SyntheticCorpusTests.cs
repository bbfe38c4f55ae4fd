using System.Globalization;
using System.Text.RegularExpressions;
using SerMtl.Data.Audio;
using SerMtl.Synthetic;

namespace SerMtl.Synthetic.Tests;

public class SyntheticCorpusTests
{
    private static readonly SyntheticCorpusOptions s_small = new()
    {
        Sessions = 2,
        UtterancesPerSpeakerPerEmotion = 3,
        OtherLabelUtterancesPerSpeaker = 2,
        DialogsPerSession = 2,
    };

    private static readonly Lazy<SyntheticCorpus> s_smallCorpus = new(() => SyntheticCorpus.Generate(s_small));

    // The shapes issue 3 describes for the release's files.
    private static readonly Regex s_summaryLine = new(
        @"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(Ses\d\d[FM]_[a-z0-9_]+_[FM]\d{3})\t([a-z]{3})\t\[(\d\.\d{4}), (\d\.\d{4}), (\d\.\d{4})\]$");
    private static readonly Regex s_transcriptLine = new(@"^(Ses\d\d[FM]_[a-z0-9_]+_[FM](?:\d{3}|XX\d)) \[(\d{3}\.\d{4})-(\d{3}\.\d{4})\]: (.+)$");
    private static readonly Regex s_evaluatorLine = new(@"^[CA]-[EFM]\d:\t.+;\t\(.*\)$");
    private static readonly Regex s_dialogName = new(@"^Ses\d\d[FM]_(impro\d\d|script\d\d_\d)$");

    [Fact]
    public void Generate_Defaults_TenSpeakersFourEmotionsBothHappyLabels()
    {
        var options = new SyntheticCorpusOptions { UtterancesPerSpeakerPerEmotion = 2 };
        var corpus = SyntheticCorpus.Generate(options);

        Assert.Equal(["Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F", "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M"],
            corpus.Speakers.Select(s => s.Id));
        var labelled = corpus.Utterances.Where(u => u.Emotion is not null).ToArray();
        Assert.Equal(10 * 4 * 2, labelled.Length);
        Assert.Equal(10 * options.OtherLabelUtterancesPerSpeaker, corpus.Utterances.Count - labelled.Length);
        foreach (var group in labelled.GroupBy(u => (u.Speaker.Id, u.Emotion))) Assert.Equal(2, group.Count());
        var happy = labelled.Where(u => u.Emotion == SyntheticEmotion.Happy).Select(u => u.RawLabel).Distinct().Order();
        Assert.Equal(["exc", "hap"], happy);
        Assert.All(labelled.Where(u => u.Emotion != SyntheticEmotion.Happy), u =>
            Assert.Equal(u.Emotion switch { SyntheticEmotion.Neutral => "neu", SyntheticEmotion.Angry => "ang", _ => "sad" }, u.RawLabel));
        Assert.All(corpus.Utterances.Where(u => u.Emotion is null), u => Assert.Contains(u.RawLabel, new[] { "fru", "xxx", "sur" }));
    }

    [Fact]
    public void Generate_Speakers_FemaleHigherPitchAndShorterVocalTract()
    {
        var speakers = s_smallCorpus.Value.Speakers;

        var female = speakers.Where(s => s.Gender == 'F').ToArray();
        var male = speakers.Where(s => s.Gender == 'M').ToArray();
        Assert.True(female.Min(s => s.BasePitchHz) > male.Max(s => s.BasePitchHz));
        Assert.True(female.Min(s => s.FormantScale) > male.Max(s => s.FormantScale));
    }

    [Fact]
    public void Generate_SameSeed_IdenticalSamples_WhateverTheParallelism()
    {
        var a = s_smallCorpus.Value;
        var b = SyntheticCorpus.Generate(s_small with { MaxDegreeOfParallelism = 1 });

        Assert.Equal(a.Utterances.Select(u => (u.Id, u.RawLabel, u.Transcript, u.StartSeconds)), b.Utterances.Select(u => (u.Id, u.RawLabel, u.Transcript, u.StartSeconds)));
        for (var i = 0; i < a.Utterances.Count; i++) Assert.Equal(a.Utterances[i].Samples, b.Utterances[i].Samples);
    }

    [Fact]
    public void Generate_DifferentSeed_DifferentCorpus()
    {
        var a = s_smallCorpus.Value;
        var b = SyntheticCorpus.Generate(s_small with { Seed = s_small.Seed + 1 });

        Assert.NotEqual(a.Utterances.Select(u => u.Transcript), b.Utterances.Select(u => u.Transcript));
        Assert.NotEqual(a.Speakers[0].BasePitchHz, b.Speakers[0].BasePitchHz);
    }

    [Fact]
    public void Generate_Transcripts_UseOnlyTheCtcAlphabet_AndVocabularyCoversIt()
    {
        var words = new Regex(@"^[A-Z']+( [A-Z']+){0,2}$");

        Assert.All(s_smallCorpus.Value.Utterances, u => Assert.Matches(words, u.Transcript));
        Assert.All(s_smallCorpus.Value.Utterances, u => Assert.All(u.Transcript.Split(' '), w => Assert.Contains(w, SyntheticCorpus.Vocabulary)));
        var letters = SyntheticCorpus.Vocabulary.SelectMany(w => w).Distinct().Order().ToArray();
        Assert.Equal("'ABCDEFGHIJKLMNOPQRSTUVWXYZ", new string(letters));
    }

    [Fact]
    public void Generate_Durations_WithinTheRequestedRange()
    {
        var options = s_small with { MinDurationSeconds = 1.2, MaxDurationSeconds = 1.6 };
        var corpus = SyntheticCorpus.Generate(options);

        Assert.All(corpus.Utterances, u =>
        {
            Assert.Equal(16000, u.SampleRate);
            Assert.InRange(u.Samples.Length, (int)Math.Floor(1.2 * 16000), (int)Math.Ceiling(1.6 * 16000));
        });
        Assert.All(s_smallCorpus.Value.Utterances, u => Assert.InRange(u.Duration.TotalSeconds, 1.0 - 1e-4, 2.0 + 1e-4));
    }

    [Fact]
    public void Generate_Samples_FiniteAndNeverClipped()
    {
        Assert.All(s_smallCorpus.Value.Utterances, u =>
        {
            Assert.All(u.Samples, v => Assert.True(float.IsFinite(v)));
            Assert.InRange(u.Samples.Max(Math.Abs), 0.01f, 0.95f);
        });
    }

    [Fact]
    public void Generate_Segments_SpellTheTranscript_AndLastTwoToSixFrames()
    {
        Assert.All(s_smallCorpus.Value.Utterances, u =>
        {
            var segments = u.Segments;
            Assert.Equal(0, segments[0].Start);
            Assert.Equal(u.Samples.Length, segments[^1].End);
            for (var i = 1; i < segments.Count; i++) Assert.Equal(segments[i - 1].End, segments[i].Start);
            Assert.Equal(u.Transcript, new string(segments.Where(s => s.Symbol != '\0').Select(s => s.Symbol).ToArray()));
            // wav2vec2 frames are 20 ms; CTC needs at least two per character.
            Assert.All(segments.Where(s => s.Symbol is not (' ' or '\0')), s => Assert.InRange(s.Length, 0.05 * 16000 - 1, 0.125 * 16000 + 1));
        });
    }

    [Fact]
    public void Generate_Dialogs_IemocapNames_BothSpeakersInEach_IdsCarryTheSpeaker()
    {
        var corpus = s_smallCorpus.Value;

        Assert.All(corpus.Utterances, u =>
        {
            Assert.Matches(s_dialogName, u.Dialog);
            Assert.StartsWith(u.Dialog + "_", u.Id);
            Assert.Matches(@"_[FM]\d{3}$", u.Id);
            Assert.Equal(u.Speaker.Gender, u.Id[^4]);
            Assert.Equal(u.Speaker.Session.ToString("00", CultureInfo.InvariantCulture), u.Id[3..5]);
        });
        Assert.Equal(corpus.Utterances.Count, corpus.Utterances.Select(u => u.Id).Distinct().Count());
        foreach (var dialog in corpus.Utterances.GroupBy(u => u.Dialog))
            Assert.Equal(["F", "M"], dialog.Select(u => u.Speaker.Gender.ToString()).Distinct().Order());
        // Both female- and male-named dialogs in every session (the paper protocol's folds).
        foreach (var session in corpus.Utterances.GroupBy(u => u.Speaker.Session))
            Assert.Equal(['F', 'M'], session.Select(u => u.Dialog[5]).Distinct().Order());
    }

    [Fact]
    public void Generate_InvalidOptions_NameTheOption()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticCorpus.Generate(new SyntheticCorpusOptions { SampleRate = 8000 }));
        Assert.Contains("SampleRate", error.Message);
        error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            SyntheticCorpus.Generate(new SyntheticCorpusOptions { MinDurationSeconds = 2, MaxDurationSeconds = 1.5 }));
        Assert.Contains("MaxDurationSeconds", error.Message);
        error = Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticCorpus.Generate(new SyntheticCorpusOptions { Sessions = 0 }));
        Assert.Contains("Sessions", error.Message);
        error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            SyntheticCorpus.Generate(new SyntheticCorpusOptions { UtterancesPerSpeakerPerEmotion = 1000, DialogsPerSession = 2 }));
        Assert.Contains("1000", error.Message);
    }

    [Fact]
    public void WriteIemocapLayout_FilesHaveTheReleaseFormat()
    {
        using var dir = new TempDir();
        var corpus = s_smallCorpus.Value;

        var release = corpus.WriteIemocapLayout(dir.Path);

        Assert.Equal(Path.Combine(dir.Path, "IEMOCAP_full_release"), release);
        var byId = corpus.Utterances.ToDictionary(u => u.Id);
        var summarised = new HashSet<string>();
        foreach (var session in new[] { 1, 2 })
        {
            var sessionDir = Path.Combine(release, $"Session{session}");
            var evaluation = Path.Combine(sessionDir, "dialog", "EmoEvaluation");
            foreach (var sub in new[] { "Categorical", "Attribute", "Self-evaluation" }) Assert.True(Directory.Exists(Path.Combine(evaluation, sub)), sub);
            var dialogs = Directory.GetFiles(evaluation, "*.txt").Select(f => Path.GetFileNameWithoutExtension(f)!).Order().ToArray();
            Assert.Equal([$"Ses0{session}F_impro01", $"Ses0{session}M_impro01"], dialogs);

            foreach (var dialog in dialogs)
            {
                var lines = File.ReadAllLines(Path.Combine(evaluation, dialog + ".txt"));
                Assert.Equal("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", lines[0]);
                Assert.Equal("", lines[1]);
                var genders = new List<char>();
                for (var i = 2; i < lines.Length; i++)
                {
                    // Each turn: a summary line, evaluator lines, then a blank line.
                    var m = s_summaryLine.Match(lines[i]);
                    Assert.True(m.Success, $"{dialog}.txt line {i + 1}: '{lines[i]}' is not a summary line");
                    var u = byId[m.Groups[3].Value];
                    Assert.Equal(dialog, u.Dialog);
                    Assert.Equal(u.RawLabel, m.Groups[4].Value);
                    Assert.Equal(u.StartSeconds, double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
                    Assert.Equal(u.EndSeconds, double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
                    Assert.InRange(u.EndSeconds - u.StartSeconds - u.Duration.TotalSeconds, -1e-4, 1e-4);
                    Assert.Equal(u.Valence, double.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture), 4);
                    Assert.InRange(u.Valence, 1, 5);
                    genders.Add(u.Id[^4]);
                    summarised.Add(u.Id);
                    for (i++; lines[i].Length > 0; i++) Assert.Matches(s_evaluatorLine, lines[i]);
                }
                Assert.Equal(genders.Order(), genders); // female turns first, as in the release

                var transcripts = File.ReadAllLines(Path.Combine(sessionDir, "dialog", "transcriptions", dialog + ".txt"));
                var previousStart = 0.0;
                var unlabelled = 0;
                foreach (var line in transcripts)
                {
                    var m = s_transcriptLine.Match(line);
                    Assert.True(m.Success, $"{dialog} transcription '{line}' has the wrong shape");
                    var start = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                    Assert.True(start >= previousStart, "transcription lines are in time order");
                    previousStart = start;
                    if (!byId.TryGetValue(m.Groups[1].Value, out var u))
                    {
                        Assert.Matches(@"_[FM]XX\d$", m.Groups[1].Value);
                        unlabelled++;
                        continue;
                    }
                    Assert.Equal(u.StartSeconds, start);
                    // What a CTC normaliser makes of the written text is the transcript.
                    var normalised = Regex.Replace(m.Groups[4].Value.ToUpperInvariant(), "[^A-Z' ]", "");
                    Assert.Equal(u.Transcript, normalised);
                    Assert.NotEqual(u.Transcript, m.Groups[4].Value); // written in sentence case with punctuation
                }
                Assert.Equal(1, unlabelled);
            }
        }
        Assert.Equal(byId.Keys.Order(), summarised.Order());

        foreach (var u in corpus.Utterances)
        {
            var wav = Path.Combine(release, $"Session{u.Speaker.Session}", "sentences", "wav", u.Dialog, u.Id + ".wav");
            var clip = WavReader.Read(wav);
            Assert.Equal(u.SampleRate, clip.SampleRate);
            Assert.Equal(u.Samples.Length, clip.Samples.Length);
            for (var i = 0; i < clip.Samples.Length; i += 97) Assert.Equal(u.Samples[i], clip.Samples[i], 1e-4);
        }
        Assert.Empty(Directory.GetFiles(release, "*.wav", SearchOption.AllDirectories).Select(Path.GetFileNameWithoutExtension).Except(byId.Keys));
    }

    [Fact]
    public void WriteIemocapLayout_SameSeed_IdenticalBytes()
    {
        using var first = new TempDir();
        using var second = new TempDir();
        var a = SyntheticCorpus.Generate(s_small).WriteIemocapLayout(first.Path);
        var b = SyntheticCorpus.Generate(s_small with { MaxDegreeOfParallelism = 1 }).WriteIemocapLayout(second.Path);

        var filesA = Directory.GetFiles(a, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(a, f)).Order(StringComparer.Ordinal).ToArray();
        var filesB = Directory.GetFiles(b, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(b, f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(filesA, filesB);
        Assert.Contains(filesA, f => f.EndsWith(".wav", StringComparison.Ordinal));
        foreach (var file in filesA) Assert.True(File.ReadAllBytes(Path.Combine(a, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, file))), file);
    }

    [Fact]
    public void WriteIemocapLayout_ExistingCorpus_NeedsOverwrite()
    {
        using var dir = new TempDir();
        var corpus = SyntheticCorpus.Generate(s_small with { Sessions = 1, UtterancesPerSpeakerPerEmotion = 1 });
        var release = corpus.WriteIemocapLayout(dir.Path);
        var stale = Path.Combine(release, "Session1", "stale.txt");
        File.WriteAllText(stale, "left from an earlier run");

        var error = Assert.Throws<IOException>(() => corpus.WriteIemocapLayout(dir.Path));
        Assert.Contains("overwrite", error.Message);

        corpus.WriteIemocapLayout(dir.Path, overwrite: true);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(Path.Combine(release, "SERMTL_SYNTHETIC.txt")));
    }

    [Fact]
    public void WriteIemocapLayout_ForeignFolder_IsNeverReplaced()
    {
        using var dir = new TempDir();
        var release = Path.Combine(dir.Path, "IEMOCAP_full_release");
        Directory.CreateDirectory(Path.Combine(release, "Session1"));
        var precious = Path.Combine(release, "Session1", "real.txt");
        File.WriteAllText(precious, "real data");
        var corpus = SyntheticCorpus.Generate(s_small with { Sessions = 1, UtterancesPerSpeakerPerEmotion = 1 });

        var error = Assert.Throws<IOException>(() => corpus.WriteIemocapLayout(dir.Path, overwrite: true));

        Assert.Contains("not a synthetic corpus", error.Message);
        Assert.Equal("real data", File.ReadAllText(precious));
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("sermtl-synth-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
