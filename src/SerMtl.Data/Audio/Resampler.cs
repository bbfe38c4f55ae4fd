using System.Collections.Concurrent;

namespace SerMtl.Data.Audio;

/// <summary>
/// Band-limited sample-rate conversion between any two rates: a Kaiser-windowed sinc low-pass applied in
/// polyphase form for the rational ratio <c>to/from</c> reduced by their gcd.
/// </summary>
/// <remarks>
/// The low-pass is designed against the lower of the two Nyquist frequencies: flat (ripple far below 0.01 dB)
/// up to 90 % of it, at least 90 dB down from the Nyquist frequency on, so content above the output's Nyquist
/// does not alias and upsampling does not create images. The kernel is symmetric, so there is no delay:
/// output sample <c>j</c> is the signal at time <c>j / toRate</c>. Output length is
/// <c>round(n · to / from)</c>. Filters are cached per rate pair; the class is thread-safe.
/// </remarks>
public static class Resampler
{
    private static readonly ConcurrentDictionary<(int From, int To), PolyphaseFilter> Cache = new();
    private const int MaxCachedFilters = 32;

    /// <summary>
    /// Resamples <paramref name="samples"/> from <paramref name="fromRate"/> to <paramref name="toRate"/> Hz.
    /// When the rates are equal the input array itself is returned, untouched.
    /// </summary>
    public static float[] Resample(float[] samples, int fromRate, int toRate)
    {
        ArgumentNullException.ThrowIfNull(samples);
        CheckRates(fromRate, toRate);
        return fromRate == toRate ? samples : FilterFor(fromRate, toRate).Apply(samples);
    }

    /// <summary>Resamples <paramref name="samples"/> from <paramref name="fromRate"/> to <paramref name="toRate"/> Hz into a new array.</summary>
    public static float[] Resample(ReadOnlySpan<float> samples, int fromRate, int toRate)
    {
        CheckRates(fromRate, toRate);
        return fromRate == toRate ? samples.ToArray() : FilterFor(fromRate, toRate).Apply(samples);
    }

    /// <summary>The number of samples <see cref="Resample(float[], int, int)"/> returns: <c>round(n · to / from)</c>, halves rounded up.</summary>
    public static int OutputLength(int inputLength, int fromRate, int toRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputLength);
        CheckRates(fromRate, toRate);
        var length = ((long)inputLength * toRate * 2 + fromRate) / (2L * fromRate);
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(inputLength), $"{inputLength} samples at {fromRate} Hz make {length} samples at {toRate} Hz, more than an array holds");
        return (int)length;
    }

    private static void CheckRates(int fromRate, int toRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fromRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(toRate);
    }

    internal static PolyphaseFilter FilterFor(int fromRate, int toRate)
    {
        if (Cache.TryGetValue((fromRate, toRate), out var filter)) return filter;
        if (Cache.Count >= MaxCachedFilters) Cache.Clear();
        return Cache.GetOrAdd((fromRate, toRate), key => new PolyphaseFilter(key.From, key.To));
    }
}
