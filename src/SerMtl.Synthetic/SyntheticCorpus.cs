namespace SerMtl.Synthetic;

/// <summary>
/// A deterministic synthetic emotional-speech corpus shaped like IEMOCAP: sessions with one female and one male
/// actor, dialogs in which both speak, four emotions expressed through prosody, and transcripts a CTC head can learn.
/// </summary>
/// <remarks>
/// <para>
/// Each utterance is 1–3 short words (from a 30-word list that uses every letter and the apostrophe); every
/// character is rendered as its own steady spectral pattern (two character-specific resonances on a harmonic source
/// at the current pitch, some with a high noise band) lasting 50–125 ms, and words are separated by short pauses.
/// Emotions change pitch level, range and contour, tempo, jitter and shimmer, breathiness, spectral tilt and the
/// loudness envelope relative to each speaker's baseline — cues that survive per-utterance normalisation.
/// </para>
/// <para>
/// It exists so the whole pipeline can be run and shown to learn without downloading anything; it is not a model
/// of real emotional speech. <see cref="WriteIemocapLayout"/> writes it as an <c>IEMOCAP_full_release</c> folder so the
/// real reader and evaluation protocols run on it unchanged.
/// </para>
/// </remarks>
public sealed class SyntheticCorpus
{
    private static readonly SyntheticEmotion[] s_emotions =
        [SyntheticEmotion.Neutral, SyntheticEmotion.Happy, SyntheticEmotion.Angry, SyntheticEmotion.Sad];
    private static readonly string[] s_otherLabels = ["fru", "xxx", "sur"];

    private SyntheticCorpus(SyntheticCorpusOptions options, IReadOnlyList<SyntheticSpeaker> speakers,
        IReadOnlyList<SyntheticUtterance> utterances, IReadOnlyList<SyntheticDialog> dialogs)
    {
        Options = options;
        Speakers = speakers;
        Utterances = utterances;
        Dialogs = dialogs;
    }

    /// <summary>The options it was generated with.</summary>
    public SyntheticCorpusOptions Options { get; }

    /// <summary>The speakers, session by session, female first (<c>Ses01F</c>, <c>Ses01M</c>, <c>Ses02F</c>, …).</summary>
    public IReadOnlyList<SyntheticSpeaker> Speakers { get; }

    /// <summary>Every utterance (labelled and out-of-set), ordered by id.</summary>
    public IReadOnlyList<SyntheticUtterance> Utterances { get; }

    internal IReadOnlyList<SyntheticDialog> Dialogs { get; }

    /// <summary>The words transcripts are drawn from (upper case; they use every letter A–Z and the apostrophe).</summary>
    public static IReadOnlyList<string> Vocabulary => SyntheticLexicon.Words;

    /// <summary>Generates the corpus in memory.</summary>
    /// <param name="options">What to generate; <see langword="null"/> for the defaults (800 labelled utterances of 1–2 s).</param>
    /// <returns>The corpus; the same options always give identical samples.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message names it and the allowed range).</exception>
    public static SyntheticCorpus Generate(SyntheticCorpusOptions? options = null)
    {
        options ??= new SyntheticCorpusOptions();
        options.Validate();

        var speakers = new List<SyntheticSpeaker>();
        for (var session = 1; session <= options.Sessions; session++)
        {
            foreach (var gender in "FM")
                speakers.Add(DrawSpeaker(session, gender, new Random(SeedMixer.Mix(options.Seed, 1, session, gender))));
        }

        // Plan every utterance (labels and seeds) first; rendering is then independent per utterance.
        var plans = new List<UtterancePlan>();
        foreach (var speaker in speakers)
        {
            for (var e = 0; e < s_emotions.Length; e++)
            {
                for (var k = 0; k < options.UtterancesPerSpeakerPerEmotion; k++)
                {
                    var emotion = s_emotions[e];
                    var label = emotion switch
                    {
                        SyntheticEmotion.Neutral => "neu",
                        SyntheticEmotion.Happy => k % 2 == 0 ? "hap" : "exc",
                        SyntheticEmotion.Angry => "ang",
                        _ => "sad",
                    };
                    plans.Add(new UtterancePlan(speaker, emotion, label, SeedMixer.Mix(options.Seed, 2, speaker.Session, speaker.Gender, e, k)));
                }
            }
            for (var k = 0; k < options.OtherLabelUtterancesPerSpeaker; k++)
                plans.Add(new UtterancePlan(speaker, null, s_otherLabels[k % s_otherLabels.Length],
                    SeedMixer.Mix(options.Seed, 3, speaker.Session, speaker.Gender, k)));
        }

        var rendered = new RenderedUtterance[plans.Count];
        var noise = speakers.Select(s => s.Session).Distinct().ToDictionary(
            s => s, s => Math.Pow(10, (options.NoiseLevelDb + 4 * (new Random(SeedMixer.Mix(options.Seed, 4, s)).NextDouble() - 0.5)) / 20));
        Parallel.For(0, plans.Count, Parallelism(options), i =>
        {
            var plan = plans[i];
            rendered[i] = VoiceSynthesizer.Render(plan.Speaker, EmotionProsody.For(plan.Emotion ?? SyntheticEmotion.Neutral), plan.Seed,
                options.SampleRate, options.MinDurationSeconds, options.MaxDurationSeconds, noise[plan.Speaker.Session]);
        });

        var (utterances, dialogs) = ArrangeDialogs(options, plans, rendered);
        return new SyntheticCorpus(options, speakers, utterances, dialogs);
    }

    /// <summary>
    /// Writes the corpus as <c><paramref name="root"/>/IEMOCAP_full_release</c>: per session
    /// <c>dialog/EmoEvaluation/&lt;dialog&gt;.txt</c> (header, summary lines <c>[start - end]\tid\tlabel\t[V, A, D]</c>,
    /// evaluator lines, blank lines, and the <c>Categorical/</c>, <c>Attribute/</c>, <c>Self-evaluation/</c> subfolders),
    /// <c>dialog/transcriptions/&lt;dialog&gt;.txt</c> (<c>id [start-end]: Text.</c>, with one unlabelled <c>FXX</c>/<c>MXX</c>
    /// line per dialog) and <c>sentences/wav/&lt;dialog&gt;/&lt;id&gt;.wav</c> (mono 16-bit PCM), as in the real release.
    /// </summary>
    /// <param name="root">Folder to create <c>IEMOCAP_full_release</c> in (created if missing).</param>
    /// <param name="overwrite">
    /// Replace an existing <c>IEMOCAP_full_release</c> there. Only a folder this method wrote (it leaves a
    /// <c>SERMTL_SYNTHETIC.txt</c> marker) is ever deleted; a real release is never touched.
    /// </param>
    /// <returns>The full path of the <c>IEMOCAP_full_release</c> folder.</returns>
    /// <exception cref="IOException">The folder exists and is not empty, and <paramref name="overwrite"/> is false or it is not a synthetic corpus.</exception>
    public string WriteIemocapLayout(string root, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        return IemocapLayoutWriter.Write(this, root, overwrite, Parallelism(Options));
    }

    private static ParallelOptions Parallelism(SyntheticCorpusOptions options) =>
        new() { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount };

    private static SyntheticSpeaker DrawSpeaker(int session, char gender, Random rng)
    {
        double Uniform(double lo, double hi) => lo + (hi - lo) * rng.NextDouble();
        // Within a gender, speakers vary by ±10 % in pitch and ±3 % in formants — less than the emotion effects.
        var pitch = gender == 'F' ? Uniform(180, 220) : Uniform(112, 138);
        var formantScale = gender == 'F' ? Uniform(1.03, 1.09) : Uniform(0.93, 0.98);
        var traits = new VoiceTraits(
            BandwidthScale: Uniform(0.9, 1.15),
            BrightnessOffset: Uniform(-0.1, 0.1),
            BreathOffset: Uniform(0, 0.04),
            JitterOffset: Uniform(0, 0.003),
            Expressiveness: Uniform(0.85, 1.15),
            TempoScale: Uniform(0.93, 1.07));
        return new SyntheticSpeaker(session, gender, pitch, formantScale, traits);
    }

    /// <summary>
    /// Deals each speaker's utterances over the session's dialogs, numbers them per speaker within each dialog, and
    /// lays the turns of both speakers out on the dialog's time line.
    /// </summary>
    private static (List<SyntheticUtterance>, List<SyntheticDialog>) ArrangeDialogs(
        SyntheticCorpusOptions options, List<UtterancePlan> plans, RenderedUtterance[] rendered)
    {
        var utterances = new List<SyntheticUtterance>(plans.Count);
        var dialogs = new List<SyntheticDialog>();
        foreach (var session in plans.Select(p => p.Speaker.Session).Distinct())
        {
            var rng = new Random(SeedMixer.Mix(options.Seed, 5, session));
            var names = Enumerable.Range(0, options.DialogsPerSession).Select(d => DialogName(session, d)).ToArray();
            var turns = names.Select(_ => new List<int>()).ToArray();
            foreach (var gender in "FM")
            {
                var mine = Enumerable.Range(0, plans.Count).Where(i => plans[i].Speaker.Session == session && plans[i].Speaker.Gender == gender).ToArray();
                rng.Shuffle(mine);
                var offset = rng.Next(names.Length);
                for (var j = 0; j < mine.Length; j++) turns[(j + offset) % names.Length].Add(mine[j]);
            }
            for (var d = 0; d < names.Length; d++)
            {
                var order = turns[d].ToArray();
                rng.Shuffle(order);
                var counters = new Dictionary<char, int> { ['F'] = 0, ['M'] = 0 };
                var time = 1 + 3 * rng.NextDouble();
                var unlabelledAfter = order.Length == 0 ? -1 : rng.Next(order.Length);
                SyntheticDialog.UnlabelledLine? unlabelled = null;
                var dialogUtterances = new List<SyntheticUtterance>();
                for (var t = 0; t < order.Length; t++)
                {
                    var plan = plans[order[t]];
                    var audio = rendered[order[t]];
                    var gender = plan.Speaker.Gender;
                    var id = FormattableString.Invariant($"{names[d]}_{gender}{counters[gender]++:000}");
                    var start = Math.Round(time, 4);
                    var utterance = new SyntheticUtterance(id, names[d], plan.Speaker, plan.Emotion, plan.RawLabel,
                        Vad(plan.RawLabel, rng), audio.Transcript, audio.Samples, options.SampleRate, start, audio.Segments);
                    dialogUtterances.Add(utterance);
                    time = utterance.EndSeconds + 0.2 + rng.NextDouble();
                    if (t == unlabelledAfter)
                    {
                        // Back-channel lines in the real transcripts carry FXX/MXX ids and have no label or audio.
                        var who = rng.Next(2) == 0 ? 'F' : 'M';
                        var s = Math.Round(time, 4);
                        var e = Math.Round(s + 0.4 + 0.4 * rng.NextDouble(), 4);
                        unlabelled = new SyntheticDialog.UnlabelledLine($"{names[d]}_{who}XX0", s, e, "Mm, hmm.");
                        time = e + 0.2 + rng.NextDouble();
                    }
                }
                utterances.AddRange(dialogUtterances);
                dialogs.Add(new SyntheticDialog(names[d], session, dialogUtterances, unlabelled));
            }
        }
        utterances.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return (utterances, dialogs);
    }

    /// <summary>Ses01F_impro01, Ses01M_impro01, Ses01F_script01_1, Ses01M_script01_1, Ses01F_impro02, …</summary>
    private static string DialogName(int session, int index)
    {
        var gender = index % 2 == 0 ? 'F' : 'M';
        var pair = index / 2;
        var kind = pair % 2 == 0
            ? FormattableString.Invariant($"impro{pair / 2 + 1:00}")
            : FormattableString.Invariant($"script{pair / 2 / 3 + 1:00}_{pair / 2 % 3 + 1}");
        return FormattableString.Invariant($"Ses{session:00}{gender}_{kind}");
    }

    /// <summary>Valence, arousal, dominance typical of the label, moved by up to one evaluator step (1/3).</summary>
    private static (double, double, double) Vad(string label, Random rng)
    {
        var (v, a, d) = label switch
        {
            "neu" => (2.5, 2.5, 2.5),
            "hap" => (4.0, 3.0, 3.0),
            "exc" => (4.0, 11 / 3.0, 10 / 3.0),
            "ang" => (5 / 3.0, 4.0, 4.0),
            "sad" => (5 / 3.0, 2.0, 2.0),
            "fru" => (2.0, 10 / 3.0, 10 / 3.0),
            "sur" => (10 / 3.0, 11 / 3.0, 8 / 3.0),
            _ => (2.5, 3.0, 3.0),
        };
        double Step(double x) => Math.Round(Math.Clamp(x + (rng.Next(3) - 1) / 3.0, 1, 5), 4);
        return (Step(v), Step(a), Step(d));
    }

    private sealed record UtterancePlan(SyntheticSpeaker Speaker, SyntheticEmotion? Emotion, string RawLabel, int Seed);
}

/// <summary>One dialog: its labelled turns in time order and an optional unlabelled back-channel line.</summary>
internal sealed record SyntheticDialog(
    string Name, int Session, IReadOnlyList<SyntheticUtterance> Turns, SyntheticDialog.UnlabelledLine? Unlabelled)
{
    /// <summary>A transcript line with an <c>FXX</c>/<c>MXX</c> id: no label, no audio.</summary>
    internal sealed record UnlabelledLine(string Id, double StartSeconds, double EndSeconds, string Text);
}

/// <summary>Derives independent, stable seeds from the corpus seed and a path of integers (SplitMix64 steps).</summary>
/// <remarks><see cref="string.GetHashCode()"/> is randomised per process, so it must never feed a seed.</remarks>
internal static class SeedMixer
{
    public static int Mix(int seed, params int[] path)
    {
        var h = (ulong)(uint)seed;
        foreach (var p in path) h = Step(h ^ (ulong)(uint)p * 0xD6E8FEB86659FD93UL);
        return (int)(Step(h) >> 33);
    }

    private static ulong Step(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
