using System.CommandLine;
using SerMtl.Data.Audio;
using SerMtl.Modeling;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl embed</c>: the backbone's last hidden state of each WAV, one <c>.npy</c> per input.</summary>
internal sealed class EmbedCommand : SermtlCommand
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Option<string> _model = CliOption.Required("--model", "DIR|ID", "the wav2vec 2.0 model: " + ModelArgs.DirOrHubId);
    private readonly Option<string> _outDir = CliOption.Required("--out", "DIR", "output directory (created if missing)");
    private readonly Option<int> _batchSize = CliOption.Int("--batch-size", "utterances per padded batch; the outputs do not depend on it", 8, 1, 4096);
    private readonly Option<string?> _timing = RunTiming.Option();
    private readonly Argument<string[]> _wavs = CliOption.Operands("WAV", "16 kHz PCM WAV files");

    public EmbedCommand(TextWriter? output = null, TextWriter? errors = null)
        : base("embed", "Write the last hidden state of each WAV as OUT/<stem>.npy", """
            Runs the wav2vec 2.0 backbone in DIR (HuggingFace layout: config.json, preprocessor_config.json,
            model.safetensors or pytorch_model.bin) in evaluation mode on each WAV (16 kHz PCM) and writes its last
            hidden state as OUT/<wav stem>.npy: float32, shape (frames, hidden_size). A file that cannot be embedded
            (missing, unreadable, shorter than the model's receptive field) is reported on stderr as
            "sermtl embed: FILE: reason"; the others are still written, and the exit code is then 1.

            Example:
              sermtl embed --model tests/fixtures/wav2vec2/tiny-group --out out/embed tests/fixtures/wav2vec2/tiny-group/a.wav
            """)
    {
        _out = output ?? Console.Out;
        _err = errors ?? Console.Error;
        Add(_model);
        Add(_outDir);
        Add(_batchSize);
        Add(_timing);
        Add(_wavs);
        UseExecute();
    }

    public override int Execute(ParseResult parse, CancellationToken cancellationToken)
    {
        var modelDir = parse.GetRequiredValue(_model);
        var outDir = parse.GetRequiredValue(_outDir);
        var batchSize = parse.GetValue(_batchSize);
        var wavs = parse.GetValue(_wavs) ?? [];
        if (wavs.Length == 0) throw new UsageException("no WAV files given");

        // Two inputs with the same stem would write the same file; refuse before doing any work.
        var outputs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var wav in wavs)
        {
            var name = Path.GetFileNameWithoutExtension(wav) + ".npy";
            if (outputs.TryGetValue(name, out var first))
                throw new UsageException($"'{first}' and '{wav}' would both be written to {Path.Combine(outDir, name)}; rename one");
            outputs[name] = wav;
        }
        var timingPath = parse.GetValue(_timing);
        var timing = new RunTiming();
        using var model = Wav2Vec2Model.FromPretrained(ModelArgs.Resolve(modelDir, null, cancellationToken));
        model.eval();
        Directory.CreateDirectory(outDir);
        timing.ModelLoaded();
        var audioSeconds = 0.0;

        // Read and run one batch of files at a time so memory stays bounded however many files are given. A file that
        // cannot be embedded is reported on stderr and the others are still written, as predict does; exit code 1 then.
        var failures = 0;
        foreach (var chunk in wavs.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunkStart = timing.Now;
            var good = new List<(string Wav, float[] Samples)>();
            foreach (var wav in chunk)
            {
                try
                {
                    if (!File.Exists(wav)) throw new FileNotFoundException($"{wav}: file not found", wav);
                    var clip = WavReader.Read(wav);
                    // What the reader accepted but reported (a truncated file) is said, as predict says it.
                    foreach (var warning in clip.Warnings) _err.WriteLine($"sermtl embed: warning: {warning}");
                    var samples = AudioLoader.Resample(clip, model.Preprocessing.SamplingRate);
                    if (samples.Length < model.Config.ReceptiveField)
                        throw new InvalidDataException($"{samples.Length} samples, the model needs at least {model.Config.ReceptiveField}");
                    good.Add((wav, samples));
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
                {
                    Fail(wav, e.Message);
                    failures++;
                }
            }
            if (good.Count == 0) continue;
            audioSeconds += good.Sum(g => g.Samples.Length) / (double)model.Preprocessing.SamplingRate;
            var states = model.Embed(good.Select(g => g.Samples).ToList(), batchSize);
            try
            {
                for (var i = 0; i < good.Count; i++)
                {
                    var path = Path.Combine(outDir, Path.GetFileNameWithoutExtension(good[i].Wav) + ".npy");
                    var state = states[i];
                    NpyWriter.WriteFloat32(path, state.data<float>().ToArray(), state.shape);
                    _out.WriteLine($"{path}: {state.shape[0]} frames x {state.shape[1]}");
                }
            }
            finally
            {
                foreach (var s in states) s.Dispose();
            }
            timing.Batch(chunkStart, good.Count);
        }
        if (timingPath is not null)
            timing.Write(_err, "embed", timingPath, audioSeconds, batchSize);
        return failures == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    private void Fail(string file, string message) => FileErrors.Report(_err, "embed", file, message);
}
