using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using SerMtl.Data.Audio;

namespace SerMtl.Batching;

/// <summary>
/// Decoded waveforms by file path, at one sample rate: each file is decoded through <see cref="AudioLoader"/> once
/// and kept in memory while the cache has room (<c>capacityBytes</c>); files beyond it keep only their length and
/// are decoded again when used. Shared by the trainer, the evaluator and cross-validation folds: give one store to
/// every fold's trainer (<see cref="Training.SerTrainerBuilder.WithWaveformStore"/>) so a corpus is decoded once.
/// </summary>
public sealed class WaveformStore
{
    private readonly ConcurrentDictionary<string, float[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _lengths = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _warnings = new(StringComparer.Ordinal);
    private long _cachedBytes;

    /// <summary>What the WAV reader accepted but reported for the files read so far (a truncated recording read as far as it goes), each naming its file, in no particular order.</summary>
    public IReadOnlyCollection<string> Warnings => _warnings.Keys.ToList();

    /// <summary>An empty store of waveforms at <paramref name="sampleRate"/> Hz holding at most <paramref name="capacityBytes"/> in memory.</summary>
    public WaveformStore(int sampleRate, long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRate, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        SampleRate = sampleRate;
        CapacityBytes = capacityBytes;
    }

    /// <summary>The sample rate waveforms are decoded to.</summary>
    public int SampleRate { get; }

    /// <summary>The most bytes of waveforms kept in memory.</summary>
    public long CapacityBytes { get; }

    /// <summary>Bytes of waveforms held in memory.</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>Number of files held in memory.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Samples of <paramref name="path"/> at <see cref="SampleRate"/>, decoding it if it has not been seen.</summary>
    internal int Length(string path) => _lengths.TryGetValue(path, out var n) ? n : Load(path).Length;

    /// <summary>The waveform of <paramref name="path"/> (the cached array itself: do not modify it).</summary>
    /// <exception cref="InvalidDataException">The file cannot be read as audio.</exception>
    internal float[] Load(string path)
    {
        if (_cache.TryGetValue(path, out var cached)) return cached;
        var clip = WavReader.Read(path);
        foreach (var warning in clip.Warnings) _warnings.TryAdd(warning, 0);
        var samples = AudioLoader.Resample(clip, SampleRate);
        _lengths[path] = samples.Length;
        var bytes = (long)samples.Length * sizeof(float);
        if (Interlocked.Add(ref _cachedBytes, bytes) <= CapacityBytes)
        {
            if (!_cache.TryAdd(path, samples)) Interlocked.Add(ref _cachedBytes, -bytes); // another thread won
        }
        else
        {
            Interlocked.Add(ref _cachedBytes, -bytes);
        }
        return samples;
    }

    /// <summary>Decodes every file not seen yet, in parallel, so lengths are known and bad files fail early.</summary>
    /// <exception cref="InvalidDataException">A file cannot be read; the message names it.</exception>
    internal void Prefetch(IEnumerable<string> paths, CancellationToken cancellationToken)
    {
        var pending = paths.Distinct(StringComparer.Ordinal).Where(p => !_lengths.ContainsKey(p)).ToList();
        try
        {
            Parallel.ForEach(pending,
                new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
                path => Load(path));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Report the first bad file as a plain exception, not an aggregate of worker failures.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
