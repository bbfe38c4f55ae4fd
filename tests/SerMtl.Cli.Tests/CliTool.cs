using SerMtl.Cli;

namespace SerMtl.Cli.Tests;

/// <summary>What one <c>sermtl</c> invocation returned and printed.</summary>
public sealed record CliOutcome(int Exit, string Output, string Error);

/// <summary>Runs the <c>sermtl</c> command line in-process, as the tool's <c>Main</c> does, capturing both streams.</summary>
public static class CliTool
{
    public static CliOutcome Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Sermtl.Run(args, output, error);
        return new CliOutcome(exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs <paramref name="args"/>, asserts a usage error (exit code 2), and returns what it printed on stderr.</summary>
    public static string Usage(params string[] args)
    {
        var outcome = Run(args);
        Assert.True(outcome.Exit == ExitCodes.Usage, $"expected exit code {ExitCodes.Usage}, got {outcome.Exit}; stderr: {outcome.Error}");
        return outcome.Error;
    }

    /// <summary>Runs <paramref name="args"/>, asserts a failure (exit code 1), and returns what it printed on stderr.</summary>
    public static string Failure(params string[] args)
    {
        var outcome = Run(args);
        Assert.True(outcome.Exit == ExitCodes.Failure, $"expected exit code {ExitCodes.Failure}, got {outcome.Exit}; stderr: {outcome.Error}");
        return outcome.Error;
    }
}
