namespace SerMtl.Synthetic;

/// <summary>The audio, transcript and alignment of one rendered utterance.</summary>
internal sealed record RenderedUtterance(string Transcript, float[] Samples, SyntheticSegment[] Segments);

/// <summary>
/// A small source–filter synthesiser: a band-limited sawtooth glottal source at a moving pitch (with per-cycle
/// jitter and shimmer), a one-pole spectral tilt, aspiration noise, two parallel resonances that spell the character
/// (scaled by the speaker's vocal-tract length) and a high noise band for fricated characters.
/// </summary>
/// <remarks>
/// Each character is a steady spectral pattern of 50–125 ms (2.5–6 wav2vec2 frames) with a 15 ms glide from the
/// previous character inside a word and an envelope dip at every character boundary, so repeated letters stay
/// countable for CTC. Words are separated by silent pauses. All randomness comes from one <see cref="Random"/>
/// seeded per utterance, so the output does not depend on thread scheduling.
/// </remarks>
internal static class VoiceSynthesizer
{
    private const int BlockSamples = 16; // control rate: pitch, resonances and envelope are updated every 16 samples (1 ms at 16 kHz)
    private const int MaxWords = 3;
    private const double MinCharSeconds = 0.05;
    private const double MaxCharSeconds = 0.125;
    private const double MinEdgeSeconds = 0.04;
    private const double GlideSeconds = 0.015;
    private const double WordFadeSeconds = 0.006;
    private const double TiltCornerHz = 700;
    private const double UndulationHz = 3.5;
    private const double F1Gain = 1.0;
    private const double F2Gain = 2.0; // F2 sits where the source is weaker; lift it so both resonances show

    public static RenderedUtterance Render(
        SyntheticSpeaker speaker, EmotionProsody prosody, int seed, int sampleRate,
        double minSeconds, double maxSeconds, double noiseRms)
    {
        var rng = new Random(seed);
        var voice = DrawVoice(speaker, prosody, rng);
        var (words, segments) = LayOut(rng, voice, sampleRate, minSeconds, maxSeconds);
        var (accents, charGainDb) = PlanAccents(rng, voice, words, segments, sampleRate);
        var samples = Synthesise(rng, speaker, voice, segments, accents, charGainDb, sampleRate);
        SetLevelAndAddNoise(rng, samples, segments, voice.SpeechLevelDb, noiseRms);
        return new RenderedUtterance(string.Join(' ', words), samples, segments);
    }

    /// <summary>
    /// Utterance-level voice: the emotion's profile, scaled by the speaker's expressiveness and offset by their
    /// timbre, plus a little per-utterance variation (smaller than the differences between emotions).
    /// </summary>
    private static UtteranceVoice DrawVoice(SyntheticSpeaker speaker, EmotionProsody prosody, Random rng)
    {
        var traits = speaker.Traits;
        var level = prosody.PitchLevel * traits.Expressiveness + 0.04 * Normal(rng);
        var slope = prosody.PitchSlope * traits.Expressiveness + 0.05 * Normal(rng);
        var tempo = traits.TempoScale * Math.Exp(0.06 * Normal(rng));
        var speechLevelDb = prosody.SpeechLevelDb + 3 * (rng.NextDouble() - 0.5);
        var undulationPhase = 2 * Math.PI * rng.NextDouble();
        return new UtteranceVoice(
            Prosody: prosody,
            LogPitch: Math.Log(speaker.BasePitchHz) + level,
            PitchSlope: slope,
            AccentHeight: prosody.AccentHeight * traits.Expressiveness,
            UndulationPhase: undulationPhase,
            CharSeconds: prosody.CharSeconds * tempo,
            GapSeconds: prosody.GapSeconds * tempo,
            Jitter: prosody.Jitter + traits.JitterOffset,
            Breath: prosody.Breath + traits.BreathOffset,
            Brightness: Math.Max(0.05, prosody.Brightness + traits.BrightnessOffset),
            SpeechLevelDb: speechLevelDb);
    }

    /// <summary>
    /// Picks the words and lays out every character, pause and edge silence on the sample axis. The total length
    /// is drawn uniformly in [min, max]; the speech sits inside it with silence on both sides.
    /// </summary>
    private static (List<string> Words, SyntheticSegment[] Segments) LayOut(
        Random rng, UtteranceVoice voice, int sampleRate, double minSeconds, double maxSeconds)
    {
        var fs = (double)sampleRate;
        var totalSeconds = minSeconds + (maxSeconds - minSeconds) * rng.NextDouble();
        var total = (int)Math.Round(totalSeconds * fs);
        var words = ChooseWords(rng, totalSeconds - 2 * MinEdgeSeconds, voice.CharSeconds, voice.GapSeconds);
        var items = new List<(char Symbol, double Seconds, int Word)>();
        for (var w = 0; w < words.Count; w++)
        {
            if (w > 0) items.Add((' ', Math.Clamp(voice.GapSeconds * Math.Exp(0.15 * Normal(rng)), 0.04, 0.25), -1));
            foreach (var c in words[w])
                items.Add((c, Math.Clamp(voice.CharSeconds * Math.Exp(0.08 * Normal(rng)), MinCharSeconds, MaxCharSeconds), w));
        }
        var speechSeconds = items.Sum(i => i.Seconds);
        while (speechSeconds > totalSeconds - 2 * MinEdgeSeconds && words.Count > 1)
        {
            // Rare: the random durations overshot; drop the last word and its pause.
            var last = words.Count - 1;
            items.RemoveAll(i => i.Word == last);
            if (items[^1].Symbol == ' ') items.RemoveAt(items.Count - 1);
            words.RemoveAt(last);
            speechSeconds = items.Sum(i => i.Seconds);
        }
        // One word of at most 5 × 125 ms always fits in the shortest allowed utterance (0.8 s).
        if (speechSeconds > totalSeconds - 2 * MinEdgeSeconds)
            throw new InvalidOperationException($"internal: {speechSeconds:F3} s of speech does not fit in {totalSeconds:F3} s");

        var segments = new SyntheticSegment[items.Count + 2];
        var time = (totalSeconds - speechSeconds) * (0.3 + 0.4 * rng.NextDouble()); // leading silence
        var start = (int)Math.Round(time * fs);
        segments[0] = new SyntheticSegment('\0', 0, start);
        for (var i = 0; i < items.Count; i++)
        {
            time += items[i].Seconds;
            var end = (int)Math.Round(time * fs);
            segments[i + 1] = new SyntheticSegment(items[i].Symbol, start, end);
            start = end;
        }
        segments[^1] = new SyntheticSegment('\0', start, total);
        return (words, segments);
    }

    /// <summary>
    /// One pitch accent per word (a pitch bump and a loudness boost on one character); the other characters get
    /// small random loudness changes (larger for angry, whose accents are strongest).
    /// </summary>
    private static (List<PitchAccent> Accents, double[] CharGainDb) PlanAccents(
        Random rng, UtteranceVoice voice, List<string> words, SyntheticSegment[] segments, int sampleRate)
    {
        var accents = new List<PitchAccent>();
        var charGainDb = new double[segments.Length];
        var accented = words.Select(w => rng.Next(w.Length)).ToArray();
        var word = 0;
        var positionInWord = 0;
        for (var i = 1; i < segments.Length - 1; i++)
        {
            var seg = segments[i];
            if (seg.Symbol == ' ')
            {
                word++;
                positionInWord = 0;
                continue;
            }
            if (positionInWord == accented[word])
            {
                accents.Add(new PitchAccent(
                    (seg.Start + seg.End) / 2.0 / sampleRate, 0.6 * seg.Length / sampleRate, voice.AccentHeight * (0.6 + 0.6 * rng.NextDouble())));
                charGainDb[i] = voice.Prosody.AccentGainDb * (0.5 + 0.5 * rng.NextDouble());
            }
            else
            {
                charGainDb[i] = (0.3 * voice.Prosody.AccentGainDb + 0.5) * Normal(rng);
            }
            positionInWord++;
        }
        return (accents, charGainDb);
    }

    /// <summary>Renders the characters (silence elsewhere), before level setting and noise.</summary>
    private static float[] Synthesise(
        Random rng, SyntheticSpeaker speaker, UtteranceVoice voice, SyntheticSegment[] segments,
        List<PitchAccent> accents, double[] charGainDb, int sampleRate)
    {
        var fs = (double)sampleRate;
        var prosody = voice.Prosody;
        var speechStart = segments[1].Start;
        var speechEnd = segments[^2].End;
        var speechLength = Math.Max(1, speechEnd - speechStart);

        // log f0 at time t: baseline and level, a linear contour over the speech, a slow undulation, the accents.
        double LogF0(double t)
        {
            var u = Math.Clamp((t * fs - speechStart) / speechLength, 0, 1);
            var v = voice.LogPitch + voice.PitchSlope * (u - 0.5)
                + prosody.Undulation * Math.Sin(2 * Math.PI * UndulationHz * t + voice.UndulationPhase);
            foreach (var accent in accents)
            {
                var z = (t - accent.Centre) / accent.Width;
                v += accent.Height * Math.Exp(-0.5 * z * z);
            }
            return v;
        }

        var samples = new float[segments[^1].End];
        var scale = speaker.FormantScale;
        var bandwidthScale = speaker.Traits.BandwidthScale;
        var formants = new Biquad[2];
        var frication = new Biquad();
        frication.SetBandPass(SyntheticLexicon.FricationHz * scale, 1600 * bandwidthScale, fs);
        var tiltCoefficient = 1 - Math.Exp(-2 * Math.PI * TiltCornerHz / fs);
        var glide = (int)Math.Round(GlideSeconds * fs);
        var fade = Math.Max(1, (int)Math.Round(WordFadeSeconds * fs));

        double phase = 0, cycleJitter = 1, cycleGain = 1, lowPassed = 0;
        CharacterSound previous = default;
        var wordStart = 0;
        for (var i = 1; i < segments.Length - 1; i++)
        {
            var seg = segments[i];
            if (seg.Symbol == ' ') continue;
            var sound = SyntheticLexicon.Sound(seg.Symbol);
            var firstInWord = segments[i - 1].Symbol is ' ' or '\0';
            if (firstInWord)
            {
                previous = sound;
                wordStart = seg.Start;
            }
            var wordEnd = FindWordEnd(segments, i);
            var gain = Math.Pow(10, charGainDb[i] / 20);
            var length = seg.Length;
            var attack = Math.Min(prosody.AttackSeconds * fs, 0.4 * length);
            var release = Math.Min(prosody.ReleaseSeconds * fs, 0.4 * length);

            double Envelope(int n)
            {
                // Rise from the dip over the attack, fall into the next dip over the release (smoothstep ramps).
                var t = n - seg.Start + 0.5;
                var shape = SmoothStep(Math.Min(1.0, Math.Min(t / attack, (length - t) / release)));
                var env = prosody.DipFloor + (1 - prosody.DipFloor) * shape;
                // Fade in and out at the edges of the word so pauses are silent and without clicks.
                var edge = Math.Min(1.0, Math.Min(n - wordStart + 0.5, wordEnd - n - 0.5) / fade);
                var u = Math.Clamp((n - speechStart) / (double)speechLength, 0, 1);
                var loudness = Math.Pow(10, prosody.LoudnessSlopeDb * (u - 0.5) / 20);
                return Math.Max(0, edge) * env * gain * loudness;
            }

            for (var n0 = seg.Start; n0 < seg.End; n0 += BlockSamples)
            {
                var n1 = Math.Min(n0 + BlockSamples, seg.End);
                var mid = (n0 + n1) / 2;
                // Glide from the previous character's resonances (log-frequency) during the first 15 ms.
                var g = firstInWord ? 1.0 : Math.Min(1.0, (mid - seg.Start) / (double)glide);
                var f1 = Math.Exp(Lerp(Math.Log(previous.F1), Math.Log(sound.F1), g)) * scale;
                var f2 = Math.Exp(Lerp(Math.Log(previous.F2), Math.Log(sound.F2), g)) * scale;
                var voicing = Lerp(previous.Voicing, sound.Voicing, g);
                var fricationGain = Lerp(previous.Frication, sound.Frication, g);
                formants[0].SetBandPass(f1, Bandwidth(f1) * bandwidthScale, fs);
                formants[1].SetBandPass(f2, Bandwidth(f2) * bandwidthScale, fs);
                var increment = Math.Exp(LogF0(mid / fs)) / fs;
                var envStart = Envelope(n0);
                var envStep = (Envelope(n1) - envStart) / (n1 - n0);

                for (var n = n0; n < n1; n++)
                {
                    var dt = increment * cycleJitter;
                    phase += dt;
                    if (phase >= 1)
                    {
                        // A new glottal cycle: draw its period perturbation (jitter) and amplitude (shimmer).
                        phase -= Math.Floor(phase);
                        cycleJitter = 1 + Math.Clamp(voice.Jitter * Normal(rng), -0.25, 0.25);
                        cycleGain = Math.Exp(Math.Clamp(prosody.Shimmer * Normal(rng), -0.7, 0.7));
                    }
                    var source = cycleGain * (2 * phase - 1 - PolyBlep(phase, dt));
                    lowPassed += tiltCoefficient * (source - lowPassed);
                    var excitation = lowPassed + voice.Brightness * (source - lowPassed) + voice.Breath * UniformNoise(rng);
                    var voiced = F1Gain * formants[0].Process(excitation) + F2Gain * formants[1].Process(excitation);
                    var hiss = frication.Process(UniformNoise(rng));
                    var env = envStart + envStep * (n - n0);
                    samples[n] = (float)(env * (voicing * voiced + fricationGain * hiss));
                }
            }
            previous = sound;
        }
        return samples;
    }

    /// <summary>
    /// Scales the speech to its level and adds the background noise. The level is absolute, so after a model's
    /// per-utterance normalisation it survives as the speech-to-noise ratio (quiet sad speech has a higher floor).
    /// </summary>
    private static void SetLevelAndAddNoise(Random rng, float[] samples, SyntheticSegment[] segments, double speechLevelDb, double noiseRms)
    {
        var speechStart = segments[1].Start;
        var speechEnd = segments[^2].End;
        double sumSquares = 0;
        for (var n = speechStart; n < speechEnd; n++) sumSquares += (double)samples[n] * samples[n];
        var rms = Math.Sqrt(sumSquares / Math.Max(1, speechEnd - speechStart));
        var gain = rms > 0 ? Math.Pow(10, speechLevelDb / 20) / rms : 0;
        var peak = 0.0;
        for (var n = speechStart; n < speechEnd; n++) peak = Math.Max(peak, Math.Abs(samples[n] * gain));
        if (peak > 0.9) gain *= 0.9 / peak; // headroom for the noise: never clip
        for (var n = 0; n < samples.Length; n++) samples[n] = (float)(samples[n] * gain + noiseRms * UniformNoise(rng));
    }

    /// <summary>End sample of the word that segment <paramref name="i"/> belongs to.</summary>
    private static int FindWordEnd(SyntheticSegment[] segments, int i)
    {
        while (segments[i + 1].Symbol is not (' ' or '\0')) i++;
        return segments[i].End;
    }

    /// <summary>Up to three random words that fit in <paramref name="budgetSeconds"/> at the given tempo.</summary>
    private static List<string> ChooseWords(Random rng, double budgetSeconds, double charSeconds, double gapSeconds)
    {
        var words = new List<string>();
        var used = 0.0;
        for (var attempt = 0; attempt < 8 && words.Count < MaxWords; attempt++)
        {
            var word = SyntheticLexicon.Words[rng.Next(SyntheticLexicon.Words.Length)];
            // 15 % margin for the random character durations.
            var need = word.Length * Math.Min(MaxCharSeconds, charSeconds * 1.15) + (words.Count > 0 ? gapSeconds * 1.3 : 0);
            if (used + need <= budgetSeconds)
            {
                words.Add(word);
                used += need;
            }
        }
        if (words.Count == 0) words.Add(SyntheticLexicon.Words.MinBy(w => w.Length)!);
        return words;
    }

    private static double Bandwidth(double frequency) => 100 + 0.1 * frequency;

    private static double SmoothStep(double x) => x <= 0 ? 0 : x * x * (3 - 2 * x);

    private static double Lerp(double a, double b, double t) => a + (b - a) * t;

    /// <summary>Zero-mean, unit-variance uniform noise.</summary>
    private static double UniformNoise(Random rng) => (2 * rng.NextDouble() - 1) * 1.7320508075688772;

    /// <summary>Standard normal draw (Box–Muller).</summary>
    internal static double Normal(Random rng)
    {
        var u1 = 1 - rng.NextDouble(); // (0, 1]
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>The voice of one utterance: its emotion's profile made concrete for this speaker and take.</summary>
    private sealed record UtteranceVoice(
        EmotionProsody Prosody,
        double LogPitch,
        double PitchSlope,
        double AccentHeight,
        double UndulationPhase,
        double CharSeconds,
        double GapSeconds,
        double Jitter,
        double Breath,
        double Brightness,
        double SpeechLevelDb);

    /// <summary>A Gaussian bump on the log-f0 contour.</summary>
    private readonly record struct PitchAccent(double Centre, double Width, double Height);

    /// <summary>Band-limiting correction for the sawtooth's discontinuity (polynomial BLEP).</summary>
    private static double PolyBlep(double t, double dt)
    {
        if (t < dt)
        {
            var x = t / dt;
            return x + x - x * x - 1;
        }
        if (t > 1 - dt)
        {
            var x = (t - 1) / dt;
            return x * x + x + x + 1;
        }
        return 0;
    }

    /// <summary>Second-order band-pass with 0 dB peak gain (RBJ cookbook), direct form I.</summary>
    private struct Biquad
    {
        private double _b0, _a1, _a2, _x1, _x2, _y1, _y2;

        public void SetBandPass(double frequency, double bandwidth, double sampleRate)
        {
            var w0 = 2 * Math.PI * frequency / sampleRate;
            var alpha = Math.Sin(w0) * bandwidth / (2 * frequency);
            var a0 = 1 + alpha;
            _b0 = alpha / a0; // b1 = 0, b2 = -b0
            _a1 = -2 * Math.Cos(w0) / a0;
            _a2 = (1 - alpha) / a0;
        }

        public double Process(double x)
        {
            var y = _b0 * (x - _x2) - _a1 * _y1 - _a2 * _y2;
            _x2 = _x1;
            _x1 = x;
            _y2 = _y1;
            _y1 = y;
            return y;
        }
    }
}
