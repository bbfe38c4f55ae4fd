namespace SerMtl.Data.Audio;

/// <summary>The front end every entry point uses: read a file, mix down to mono, resample.</summary>
public static class AudioLoader
{
    /// <summary>The sample rate wav2vec 2.0 models expect.</summary>
    public const int ModelSampleRate = 16000;

    /// <summary>Reads <paramref name="path"/> as mono samples at <paramref name="sampleRate"/>.</summary>
    public static float[] LoadMono(string path, int sampleRate = ModelSampleRate)
    {
        var clip = WavReader.Read(path);
        if (clip.SampleRate != sampleRate)
            throw new InvalidDataException($"{path}: sample rate {clip.SampleRate} Hz, expected {sampleRate} Hz");
        return clip.Samples;
    }
}
