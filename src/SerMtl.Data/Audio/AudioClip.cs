namespace SerMtl.Data.Audio;

/// <summary>Mono audio samples in [-1, 1] at a sample rate.</summary>
/// <param name="Samples">Mono samples (multi-channel input is mixed down).</param>
/// <param name="SampleRate">Samples per second.</param>
public sealed record AudioClip(float[] Samples, int SampleRate)
{
    /// <summary>Length in seconds.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Samples.Length / SampleRate);

    /// <summary>What the reader accepted but a caller should know (e.g. a truncated file read as far as it goes), each naming the file.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
