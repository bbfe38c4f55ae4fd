namespace SerMtl.Data.Audio;

/// <summary>Mono audio samples in [-1, 1] at a sample rate.</summary>
/// <param name="Samples">Mono samples (multi-channel input is mixed down).</param>
/// <param name="SampleRate">Samples per second.</param>
public sealed record AudioClip(float[] Samples, int SampleRate)
{
    /// <summary>Length in seconds.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Samples.Length / SampleRate);
}

/// <summary>Reads RIFF/WAVE files.</summary>
public static class WavReader
{
    /// <summary>Reads <paramref name="path"/> as mono float samples.</summary>
    public static AudioClip Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a WAV stream; <paramref name="name"/> names it in errors.</summary>
    public static AudioClip Read(Stream stream, string name)
    {
        // Minimal placeholder: canonical 16-bit PCM mono only (the full reader replaces this).
        using var reader = new BinaryReader(stream, System.Text.Encoding.ASCII, leaveOpen: true);
        if (new string(reader.ReadChars(4)) != "RIFF") throw new InvalidDataException($"{name}: not a RIFF file");
        reader.ReadUInt32();
        if (new string(reader.ReadChars(4)) != "WAVE") throw new InvalidDataException($"{name}: not a WAVE file");
        int rate = 0, channels = 0, bits = 0;
        while (true)
        {
            var id = new string(reader.ReadChars(4));
            var size = reader.ReadUInt32();
            if (id == "fmt ")
            {
                var body = reader.ReadBytes((int)size);
                channels = BitConverter.ToUInt16(body, 2);
                rate = BitConverter.ToInt32(body, 4);
                bits = BitConverter.ToUInt16(body, 14);
            }
            else if (id == "data")
            {
                if (channels != 1 || bits != 16) throw new InvalidDataException($"{name}: only 16-bit mono PCM is supported");
                var data = reader.ReadBytes((int)size);
                var samples = new float[data.Length / 2];
                for (var i = 0; i < samples.Length; i++) samples[i] = BitConverter.ToInt16(data, 2 * i) / 32768f;
                return new AudioClip(samples, rate);
            }
            else
            {
                reader.ReadBytes((int)(size + (size & 1)));
            }
        }
    }
}
