using SerMtl.Data.Audio;
using SerMtl.Modeling;

namespace SerMtl.Cli.Commands;

/// <summary><c>sermtl embed</c>: the backbone's last hidden state of each WAV, one <c>.npy</c> per input.</summary>
internal sealed class EmbedCommand : ICliCommand
{
    public string Name => "embed";

    public string Summary => "Write the last hidden state of each WAV as OUT/<stem>.npy";

    public string Help => """
        Usage: sermtl embed --model DIR --out DIR [--batch-size N] WAV...

        Runs the wav2vec 2.0 backbone in DIR (HuggingFace layout: config.json, preprocessor_config.json,
        model.safetensors or pytorch_model.bin) in evaluation mode on each WAV (16 kHz PCM) and writes its last
        hidden state as OUT/<wav stem>.npy: float32, shape (frames, hidden_size).

        Options:
          --model DIR        model directory
          --out DIR          output directory (created if missing)
          --batch-size N     utterances per padded batch (default 8); the outputs do not depend on it

        Example:
          sermtl embed --model tests/fixtures/wav2vec2/tiny-group --out out/embed tests/fixtures/wav2vec2/tiny-group/a.wav
        """;

    public int Run(CliArgs args, CancellationToken cancellationToken)
    {
        var modelDir = args.Required("model");
        var outDir = args.Required("out");
        var batchSize = args.Int("batch-size", 8, min: 1, max: 4096);
        var wavs = args.Positionals();
        if (wavs.Count == 0) throw new UsageException("no WAV files given");

        // Two inputs with the same stem would write the same file; refuse before doing any work.
        var outputs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var wav in wavs)
        {
            var name = Path.GetFileNameWithoutExtension(wav) + ".npy";
            if (outputs.TryGetValue(name, out var first))
                throw new UsageException($"'{first}' and '{wav}' would both be written to {Path.Combine(outDir, name)}; rename one");
            outputs[name] = wav;
        }
        foreach (var wav in wavs)
            if (!File.Exists(wav)) throw new FileNotFoundException($"{wav}: file not found", wav);

        using var model = Wav2Vec2Model.FromPretrained(modelDir);
        model.eval();
        Directory.CreateDirectory(outDir);

        // Read and run one batch of files at a time so memory stays bounded however many files are given.
        foreach (var chunk in wavs.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var waveforms = chunk.Select(w => AudioLoader.LoadMono(w, model.Preprocessing.SamplingRate)).ToList();
            for (var i = 0; i < chunk.Length; i++)
                if (waveforms[i].Length < model.Config.ReceptiveField)
                    throw new InvalidDataException($"{chunk[i]}: {waveforms[i].Length} samples, the model needs at least {model.Config.ReceptiveField}");
            var states = model.Embed(waveforms, batchSize);
            try
            {
                for (var i = 0; i < chunk.Length; i++)
                {
                    var path = Path.Combine(outDir, Path.GetFileNameWithoutExtension(chunk[i]) + ".npy");
                    var state = states[i];
                    NpyWriter.WriteFloat32(path, state.data<float>().ToArray(), state.shape);
                    Console.WriteLine($"{path}: {state.shape[0]} frames x {state.shape[1]}");
                }
            }
            finally
            {
                foreach (var s in states) s.Dispose();
            }
        }
        return ExitCodes.Success;
    }
}
