namespace SerMtl.Data.Audio;

/// <summary>
/// The front end every entry point uses: read a WAV file, mix it down to mono and resample it to the model's rate
/// with <see cref="Resampler"/>. Pure managed code; no native dependencies.
/// </summary>
public static class AudioLoader
{
    /// <summary>The sample rate wav2vec 2.0 models expect.</summary>
    public const int ModelSampleRate = 16000;

    /// <summary>Reads <paramref name="path"/> as mono samples at <paramref name="sampleRate"/> (resampling when the file's rate differs).</summary>
    /// <exception cref="InvalidDataException">The file is not a readable WAV file; the message names it and says why.</exception>
    public static float[] LoadMono(string path, int sampleRate = ModelSampleRate) =>
        Resample(WavReader.Read(path), sampleRate);

    /// <summary>Reads a WAV stream as mono samples at <paramref name="sampleRate"/>; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The stream is not readable WAV data; the message names it and says why.</exception>
    public static float[] LoadMono(Stream stream, string name, int sampleRate = ModelSampleRate) =>
        Resample(WavReader.Read(stream, name), sampleRate);

    /// <summary>
    /// The clip's samples at <see cref="ModelSampleRate"/>. A clip already at 16 kHz is returned as is
    /// (the same array, not a copy).
    /// </summary>
    public static float[] ToMono16k(AudioClip clip) => Resample(clip, ModelSampleRate);

    /// <summary>The clip's samples at <paramref name="sampleRate"/>; the same array when the rate already matches.</summary>
    public static float[] Resample(AudioClip clip, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(clip);
        return Resampler.Resample(clip.Samples, clip.SampleRate, sampleRate);
    }
}
