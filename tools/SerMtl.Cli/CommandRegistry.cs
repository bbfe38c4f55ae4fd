using SerMtl.Cli.Commands;

namespace SerMtl.Cli;

internal static class CommandRegistry
{
    /// <summary>Every command, in the order <c>sermtl --help</c> lists them.</summary>
    public static IReadOnlyList<ICliCommand> All { get; } =
    [
        new DemoCommand(),
        new PredictCommand(),
        new EmbedCommand(),
        new BenchCommand(),
        new DataStatsCommand(),
        new ReportCommand(),
        new TrainCommand(),
        new EvaluateCommand(),
        new CvCommand(),
        new CvAggregateCommand(),
    ];
}
