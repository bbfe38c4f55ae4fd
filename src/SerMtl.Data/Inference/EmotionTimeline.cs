namespace SerMtl.Inference;

/// <summary>How a long recording is cut into utterances at its pauses (energy over short frames).</summary>
public sealed record TimelineOptions
{
    /// <summary>Length of an analysis frame, in seconds. Default 0.025.</summary>
    public double FrameSeconds { get; init; } = 0.025;

    /// <summary>Step between frames, in seconds. Default 0.010.</summary>
    public double HopSeconds { get; init; } = 0.010;

    /// <summary>A frame is speech when its level is within this many dB of the loudest frame's. Default 35.</summary>
    public double RangeDb { get; init; } = 35;

    /// <summary>...and above this absolute level, in dBFS (so room noise in a quiet file is not speech). Default −55.</summary>
    public double FloorDbfs { get; init; } = -55;

    /// <summary>Quieter stretches shorter than this (seconds) do not split an utterance. Default 0.3.</summary>
    public double MinPauseSeconds { get; init; } = 0.3;

    /// <summary>Utterances shorter than this (seconds, before padding) are dropped as clicks or breaths. Default 0.25.</summary>
    public double MinUtteranceSeconds { get; init; } = 0.25;

    /// <summary>Seconds of context added before and after each utterance (within the recording, not into a neighbour). Default 0.1.</summary>
    public double PaddingSeconds { get; init; } = 0.1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(FrameSeconds > 0 && FrameSeconds <= 1)) throw new ArgumentException($"FrameSeconds must be in (0, 1], got {FrameSeconds}");
        if (!(HopSeconds > 0 && HopSeconds <= FrameSeconds)) throw new ArgumentException($"HopSeconds must be in (0, FrameSeconds], got {HopSeconds}");
        if (!(RangeDb > 0 && double.IsFinite(RangeDb))) throw new ArgumentException($"RangeDb must be a positive number of dB, got {RangeDb}");
        if (!(FloorDbfs <= 0 && double.IsFinite(FloorDbfs))) throw new ArgumentException($"FloorDbfs must be at most 0 dBFS, got {FloorDbfs}");
        if (!(MinPauseSeconds >= 0 && double.IsFinite(MinPauseSeconds))) throw new ArgumentException($"MinPauseSeconds must be >= 0, got {MinPauseSeconds}");
        if (!(MinUtteranceSeconds >= 0 && double.IsFinite(MinUtteranceSeconds))) throw new ArgumentException($"MinUtteranceSeconds must be >= 0, got {MinUtteranceSeconds}");
        if (!(PaddingSeconds >= 0 && double.IsFinite(PaddingSeconds))) throw new ArgumentException($"PaddingSeconds must be >= 0, got {PaddingSeconds}");
    }
}

/// <summary>One utterance of a timeline: where it is, and the emotion and transcript the recognizer finds in it.</summary>
/// <param name="Start">Where the utterance starts in the recording.</param>
/// <param name="End">Where it ends.</param>
/// <param name="Prediction">The prediction for the utterance alone (windowed like any recording when long).</param>
public sealed record EmotionSegment(TimeSpan Start, TimeSpan End, EmotionPrediction Prediction);

/// <summary>A recording cut into utterances at its pauses, one prediction per utterance, in time order.</summary>
/// <param name="Duration">The recording's length.</param>
/// <param name="Segments">The utterances; empty when nothing in the recording is loud enough to be speech.</param>
public sealed record EmotionTimeline(TimeSpan Duration, IReadOnlyList<EmotionSegment> Segments)
{
    /// <summary>What the reader accepted but reported, and a note when no speech was found.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// Finds utterances by frame energy: the RMS level of each frame against the loudest frame and an absolute floor,
/// speech runs joined across pauses shorter than the minimum, short runs dropped, the rest padded. Written here rather
/// than taken from NWaves (served, used in bench/nwaves): NWaves has the frame features but no voice-activity segmenter,
/// and the rule is a few lines over them.
/// </summary>
internal static class SpeechSegmenter
{
    /// <summary>The utterances of <paramref name="samples"/> (mono at <paramref name="sampleRate"/>) as (start, length) in samples.</summary>
    public static List<(int Start, int Length)> Split(ReadOnlySpan<float> samples, int sampleRate, TimelineOptions options)
    {
        var frame = Math.Max(1, (int)Math.Round(options.FrameSeconds * sampleRate));
        var hop = Math.Max(1, (int)Math.Round(options.HopSeconds * sampleRate));
        var utterances = new List<(int Start, int Length)>();
        if (samples.Length == 0) return utterances;
        var frames = samples.Length <= frame ? 1 : (samples.Length - frame + hop - 1) / hop + 1;
        var levels = new double[frames];
        for (var f = 0; f < frames; f++)
        {
            var piece = samples.Slice(f * hop, Math.Min(frame, samples.Length - f * hop));
            double energy = 0;
            foreach (var v in piece) energy += (double)v * v;
            levels[f] = 10 * Math.Log10(energy / piece.Length + 1e-20);                 // dBFS of the frame's RMS
        }
        var threshold = Math.Max(levels.Max() - options.RangeDb, options.FloorDbfs);

        // Runs of speech frames as sample ranges [start, end).
        var runs = new List<(int Start, int End)>();
        for (var f = 0; f < frames; f++)
        {
            if (levels[f] < threshold) continue;
            var (start, end) = (f * hop, Math.Min(samples.Length, f * hop + frame));
            if (runs.Count > 0 && start - runs[^1].End < options.MinPauseSeconds * sampleRate)
                runs[^1] = (runs[^1].Start, Math.Max(runs[^1].End, end));
            else
                runs.Add((start, end));
        }
        var padding = (int)Math.Round(options.PaddingSeconds * sampleRate);
        for (var i = 0; i < runs.Count; i++)
        {
            var (start, end) = runs[i];
            if (end - start < options.MinUtteranceSeconds * sampleRate) continue;
            var previousEnd = utterances.Count > 0 ? utterances[^1].Start + utterances[^1].Length : 0;
            var nextStart = i + 1 < runs.Count ? runs[i + 1].Start : samples.Length;
            start = Math.Max(previousEnd, start - padding);
            end = Math.Min(Math.Min(samples.Length, end + padding), Math.Max(end, nextStart));
            utterances.Add((start, end - start));
        }
        return utterances;
    }
}
