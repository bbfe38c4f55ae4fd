using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// Waveforms made into one model input: each normalised as the HF feature extractor does (zero mean and unit
/// variance over its own samples when <see cref="FeatureExtractorConfig.DoNormalize"/>), right-padded with
/// <see cref="FeatureExtractorConfig.PaddingValue"/> to the longest, with the valid sample counts alongside. The
/// lengths made here are the ones the model and heads use downstream.
/// </summary>
public sealed class WaveformBatch : IDisposable
{
    private WaveformBatch(Tensor waveforms, Tensor lengths, long[] sampleCounts)
    {
        Waveforms = waveforms;
        Lengths = lengths;
        SampleCounts = sampleCounts;
    }

    /// <summary>The padded, preprocessed waveforms [B, S] float32.</summary>
    public Tensor Waveforms { get; }

    /// <summary>Valid samples per utterance [B] int64.</summary>
    public Tensor Lengths { get; }

    /// <summary>Valid samples per utterance, on the host.</summary>
    public IReadOnlyList<long> SampleCounts { get; }

    /// <summary>Number of utterances.</summary>
    public int Count => SampleCounts.Count;

    /// <summary>Preprocesses and pads <paramref name="waveforms"/> (mono samples at the model's rate) onto <paramref name="device"/> (CPU when null).</summary>
    /// <exception cref="ArgumentException">The list is empty, a waveform is empty, or a waveform holds NaN or infinite samples.</exception>
    public static WaveformBatch Create(IReadOnlyList<float[]> waveforms, FeatureExtractorConfig? config = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(waveforms);
        config ??= new FeatureExtractorConfig();
        config.Validate();
        if (waveforms.Count == 0) throw new ArgumentException("no waveforms to batch", nameof(waveforms));
        for (var i = 0; i < waveforms.Count; i++)
        {
            if (waveforms[i] is null) throw new ArgumentException($"waveform {i} is null", nameof(waveforms));
            if (waveforms[i].Length == 0) throw new ArgumentException($"waveform {i} is empty", nameof(waveforms));
        }

        var batch = waveforms.Count;
        var longest = waveforms.Max(w => w.Length);
        var data = new float[(long)batch * longest];
        if (config.PaddingValue != 0) Array.Fill(data, config.PaddingValue);
        var counts = new long[batch];
        for (var i = 0; i < batch; i++)
        {
            var row = data.AsSpan(i * longest, waveforms[i].Length);
            if (config.DoNormalize) Normalize(waveforms[i], row, config.NormalizeEpsilon, i);
            else CopyChecked(waveforms[i], row, i);
            counts[i] = waveforms[i].Length;
        }
        return new WaveformBatch(
            tensor(data, [batch, longest], ScalarType.Float32, device),
            tensor(counts, ScalarType.Int64, device),
            counts);
    }

    /// <summary>(x - mean) / sqrt(var + eps) with the population variance, accumulated in double.</summary>
    private static void Normalize(ReadOnlySpan<float> x, Span<float> destination, double eps, int index)
    {
        double sum = 0;
        foreach (var v in x) sum += v;
        if (!double.IsFinite(sum)) throw new ArgumentException($"waveform {index} holds NaN or infinite samples");
        var mean = sum / x.Length;
        double squares = 0;
        foreach (var v in x) squares += (v - mean) * (v - mean);
        var scale = 1.0 / Math.Sqrt(squares / x.Length + eps);
        for (var i = 0; i < x.Length; i++) destination[i] = (float)((x[i] - mean) * scale);
    }

    private static void CopyChecked(ReadOnlySpan<float> x, Span<float> destination, int index)
    {
        foreach (var v in x)
            if (!float.IsFinite(v)) throw new ArgumentException($"waveform {index} holds NaN or infinite samples");
        x.CopyTo(destination);
    }

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        Waveforms.Dispose();
        Lengths.Dispose();
    }
}
