namespace SerMtl.Inference;

/// <summary>
/// Waveforms made into one model input on the host: each normalised as the HF feature extractor does (zero mean and
/// unit variance over its own samples, when asked), right-padded to the longest, with the valid sample counts. Engines
/// wrap <see cref="Samples"/> and <see cref="Lengths"/> as their tensors.
/// </summary>
public sealed class PaddedWaveforms
{
    private PaddedWaveforms(float[] samples, long[] lengths, int length)
    {
        Samples = samples;
        Lengths = lengths;
        Length = length;
    }

    /// <summary>The epsilon HF's feature extractor adds to the variance when normalising.</summary>
    public const double NormalizeEpsilon = 1e-7;

    /// <summary>The padded waveforms, row-major [<see cref="Count"/>, <see cref="Length"/>].</summary>
    public float[] Samples { get; }

    /// <summary>Valid samples of each waveform.</summary>
    public long[] Lengths { get; }

    /// <summary>Number of waveforms.</summary>
    public int Count => Lengths.Length;

    /// <summary>Samples per row: the longest waveform's length.</summary>
    public int Length { get; }

    /// <summary>Preprocesses and pads <paramref name="waveforms"/>.</summary>
    /// <param name="waveforms">Mono samples at the model's rate.</param>
    /// <param name="normalize">Scale each to zero mean and unit variance (population variance, accumulated in double).</param>
    /// <param name="epsilon">Added to the variance when normalising (<see cref="NormalizeEpsilon"/>).</param>
    /// <param name="paddingValue">Value of the padded samples.</param>
    /// <exception cref="ArgumentException">The list is empty, a waveform is null or empty, holds NaN or infinite samples, or the batch would exceed an array's size.</exception>
    public static PaddedWaveforms Create(IReadOnlyList<float[]> waveforms, bool normalize = true, double epsilon = NormalizeEpsilon, float paddingValue = 0f)
    {
        ArgumentNullException.ThrowIfNull(waveforms);
        if (waveforms.Count == 0) throw new ArgumentException("no waveforms to batch", nameof(waveforms));
        for (var i = 0; i < waveforms.Count; i++)
        {
            if (waveforms[i] is null) throw new ArgumentException($"waveform {i} is null", nameof(waveforms));
            if (waveforms[i].Length == 0) throw new ArgumentException($"waveform {i} is empty", nameof(waveforms));
        }
        var longest = waveforms.Max(w => w.Length);
        var total = (long)waveforms.Count * longest;
        if (total > Array.MaxLength)
            throw new ArgumentException($"{waveforms.Count} waveforms padded to {longest} samples are {total} samples, more than one array holds; use smaller batches", nameof(waveforms));
        var data = new float[total];
        if (paddingValue != 0) Array.Fill(data, paddingValue);
        var lengths = new long[waveforms.Count];
        for (var i = 0; i < waveforms.Count; i++)
        {
            var row = data.AsSpan(i * longest, waveforms[i].Length);
            if (normalize) Normalize(waveforms[i], row, epsilon, i);
            else CopyChecked(waveforms[i], row, i);
            lengths[i] = waveforms[i].Length;
        }
        return new PaddedWaveforms(data, lengths, longest);
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
}
