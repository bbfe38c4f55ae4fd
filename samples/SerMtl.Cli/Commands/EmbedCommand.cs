namespace SerMtl.Cli.Commands;

internal sealed class EmbedCommand : ICliCommand
{
    public string Name => "embed";
    public string Summary => "Write the last hidden state of each WAV as OUT/<stem>.npy";
    public string Help => "Usage: sermtl embed --model DIR --out DIR [--batch-size N] WAV...";

    public int Run(CliArgs args, CancellationToken cancellationToken) =>
        throw new NotImplementedException("embed: not implemented yet");
}
