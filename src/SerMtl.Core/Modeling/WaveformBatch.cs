using SerMtl.Inference;
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
        var padded = PaddedWaveforms.Create(waveforms, config.DoNormalize, config.NormalizeEpsilon, config.PaddingValue);
        return new WaveformBatch(
            tensor(padded.Samples, [padded.Count, padded.Length], ScalarType.Float32, device),
            tensor(padded.Lengths, ScalarType.Int64, device),
            padded.Lengths);
    }

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        Waveforms.Dispose();
        Lengths.Dispose();
    }
}
