using System.Diagnostics;
using NWaves.Signals;
using SerMtl.Data.Audio;

// Passband ripple and stopband rejection of SerMtl's resampler and NWaves' Resampler, tone by tone.
const int To = 16000;
static double Tone(double[] x, double f, int rate, int from, int to)
{
    double re = 0, im = 0;
    for (var i = from; i < to; i++) { re += x[i] * Math.Cos(2 * Math.PI * f * i / rate); im += x[i] * Math.Sin(2 * Math.PI * f * i / rate); }
    return 2 * Math.Sqrt(re * re + im * im) / (to - from);
}
static double Rms(double[] x, int from, int to) => Math.Sqrt(x.Skip(from).Take(to - from).Sum(v => v * v) / (to - from));
static float[] Sine(double f, int rate, int n) => Enumerable.Range(0, n).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * f * i / rate))).ToArray();

var nwaves = new NWaves.Operations.Resampler();
var engines = new (string Name, Func<float[], int, float[]> Run)[]
{
    ("SerMtl", (x, from) => Resampler.Resample(x, from, To)),
    ("NWaves", (x, from) => nwaves.Resample(new DiscreteSignal(from, x), To).Samples),
};
foreach (var from in new[] { 44100, 48000, 22050, 8000 })
{
    foreach (var (name, run) in engines)
    {
        double worstPass = 0, worstStop = double.NegativeInfinity; double passAt = 0, stopAt = 0;
        var clock = Stopwatch.StartNew();
        var maxPass = Math.Min(from, To) / 2 * 0.9;
        for (var f = 50.0; f <= maxPass; f += 150)
        {
            var y = run(Sine(f, from, from), from).Select(v => (double)v).ToArray();
            var gain = Tone(y, f, To, y.Length / 4, 3 * y.Length / 4) / 0.5;
            var db = Math.Abs(20 * Math.Log10(gain));
            if (db > worstPass) { worstPass = db; passAt = f; }
        }
        if (from > To)
        {
            for (var f = To / 2 * 1.1; f < from / 2.0 - 50; f += 211)
            {
                var y = run(Sine(f, from, from), from).Select(v => (double)v).ToArray();
                var db = 20 * Math.Log10(Rms(y, y.Length / 4, 3 * y.Length / 4) * Math.Sqrt(2) / 0.5 + 1e-12);
                if (db > worstStop) { worstStop = db; stopAt = f; }
            }
        }
        var speed = Stopwatch.StartNew();
        var tenSeconds = Sine(440, from, from * 10);
        for (var k = 0; k < 3; k++) run(tenSeconds, from);
        Console.WriteLine($"{from,6} -> 16000 {name,-6}: passband (to {maxPass:F0} Hz) worst |gain| {worstPass:F3} dB at {passAt:F0} Hz; " +
            (from > To ? $"stopband (>= 8800 Hz) worst alias {worstStop:F1} dB at {stopAt:F0} Hz; " : "") + $"10 s clip {speed.Elapsed.TotalMilliseconds / 3:F0} ms");
    }
}

// Lying headers through NWaves' WaveFile.
static byte[] Wav(int channels, int bits, int dataBytesDeclared, int dataBytesPresent, int fmtSize = 16)
{
    var ms = new MemoryStream(); var w = new BinaryWriter(ms);
    w.Write("RIFF"u8); w.Write(36 + dataBytesPresent); w.Write("WAVEfmt "u8); w.Write(fmtSize);
    w.Write((short)1); w.Write((short)channels); w.Write(16000); w.Write(16000 * channels * bits / 8); w.Write((short)(channels * bits / 8)); w.Write((short)bits);
    w.Write("data"u8); w.Write(dataBytesDeclared); w.Write(new byte[dataBytesPresent]);
    return ms.ToArray();
}
var cases = new (string, byte[])[]
{
    ("data chunk declares 2 GB, 100 bytes present", Wav(1, 16, int.MaxValue - 8, 100)),
    ("data chunk declares 38400, 34028 present (truncated)", Wav(1, 16, 38400, 34028)),
    ("0 channels", Wav(0, 16, 100, 100)),
    ("65535 channels", Wav(65535, 16, 100, 100)),
    ("0 bits per sample", Wav(1, 0, 100, 100)),
    ("fmt chunk declares 2 GB", Wav(1, 16, 100, 100, int.MaxValue - 8)),
};
foreach (var (what, bytes) in cases)
{
    var before = GC.GetTotalAllocatedBytes(true);
    string nw, ours;
    try { var wf = new NWaves.Audio.WaveFile(new MemoryStream(bytes)); nw = $"read: {wf.Signals.Count} channel(s), {wf.Signals[0].Length} samples"; }
    catch (Exception e) { nw = $"{e.GetType().Name}: {e.Message}"; }
    var allocated = (GC.GetTotalAllocatedBytes(true) - before) / 1e6;
    try { var clip = WavReader.Read(new MemoryStream(bytes), "x.wav"); ours = $"read: {clip.Samples.Length} samples (mono mix)"; }
    catch (Exception e) { ours = $"{e.GetType().Name}: {e.Message}"; }
    Console.WriteLine($"{what}:\n  NWaves ({allocated:F1} MB allocated): {nw}\n  SerMtl: {ours}");
}
