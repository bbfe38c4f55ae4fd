using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using SerMtl.Cli.Commands;

namespace SerMtl.Cli;

/// <summary>Exit codes: 0 success, 1 failure, 2 usage error, 130 cancelled.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;
}

/// <summary>A usage error found after parsing (options that exclude each other, a value no parser can check). Exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>One <c>sermtl</c> command: its options are System.CommandLine symbols, its body <see cref="Execute"/>.</summary>
internal abstract class SermtlCommand(string name, string summary, string description) : Command(name, description)
{
    /// <summary>One line for the command list of <c>sermtl --help</c>.</summary>
    public string Summary { get; } = summary;

    /// <summary>Runs the command on parsed arguments; returns the exit code. Throw <see cref="UsageException"/> for bad arguments.</summary>
    public abstract int Execute(ParseResult parse, CancellationToken cancellationToken);

    /// <summary>Registers <see cref="Execute"/> as the command's action; call it once the options are added.</summary>
    protected void UseExecute() => SetAction((parse, token) => Task.FromResult(Execute(parse, token)));
}

/// <summary>
/// The <c>sermtl</c> command line on System.CommandLine: parse errors and <see cref="UsageException"/> give exit code 2
/// with one line naming the command, other failures exit code 1 with the exception's message (its stack trace with
/// <c>--verbose</c>), and a first Ctrl+C cancels the running command (training saves a checkpoint) while a second ends
/// the process.
/// </summary>
internal static class Sermtl
{
    private const string Title = "sermtl: speech emotion recognition with multi-task learning (wav2vec 2.0 + CTC + emotion head)";

    /// <summary>Every command, in the order <c>sermtl --help</c> lists them (writers null: the console).</summary>
    public static IReadOnlyList<SermtlCommand> Commands(TextWriter? output, TextWriter? error) =>
    [
        new DemoCommand(output),
        new PredictCommand(output, error),
        new EmbedCommand(output, error),
        new ExportCommand(output, error),
        new BenchCommand(output),
        new DataStatsCommand(output),
        new ReportCommand(output, error),
        new TrainCommand(output),
        new EvaluateCommand(output),
        new CvCommand(output),
        new CvAggregateCommand(output),
    ];

    /// <summary>The command tree: <c>data stats</c> under <c>data</c>, <c>cv aggregate</c> under <c>cv</c>.</summary>
    public static RootCommand Build(TextWriter? output = null, TextWriter? error = null)
    {
        var root = new RootCommand(Title);
        root.Add(new Option<bool>("--verbose") { Description = "stack traces on errors", Recursive = true });
        var commands = Commands(output, error);
        var data = new Command("data", "Corpus statistics");
        var cv = commands.OfType<CvCommand>().Single();
        foreach (var command in commands)
        {
            switch (command)
            {
                case DataStatsCommand: data.Add(command); break;
                case CvAggregateCommand: cv.Add(command); break;
                default: root.Add(command); break;
            }
            if (command is CvCommand) root.Add(data);
        }
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new OverviewOrHelp(commands, help.Action);
        return root;
    }

    /// <summary>Runs <c>sermtl</c> with <paramref name="args"/>; <paramref name="output"/> and <paramref name="error"/> default to the console.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var stdout = output ?? Console.Out;
        var stderr = error ?? Console.Error;
        var root = Build(output, error);
        if (args.Length == 0)
        {
            Overview(stdout, Commands(output, error));
            return ExitCodes.Usage;
        }
        var parse = root.Parse(args);
        var name = CommandName(parse.CommandResult);
        var errors = parse.CommandResult.Command is RootCommand && !args[0].StartsWith('-')
            ? [$"unknown command '{args[0]}'"]
            : parse.Errors.Select(e => Plain(e.Message)).Concat(UnknownOptions(parse)).ToList();
        if (errors.Count > 0 && parse.Action is not HelpAction and not OverviewOrHelp)
        {
            var prefix = name.Length == 0 ? "sermtl" : $"sermtl {name}";
            foreach (var message in errors) stderr.WriteLine($"{prefix}: {message.TrimEnd('.')}.");
            stderr.WriteLine($"Run '{prefix} --help'.");
            return ExitCodes.Usage;
        }

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl+C ends the process
            e.Cancel = true;
            stderr.WriteLine("sermtl: cancelling (press Ctrl+C again to abort)...");
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var configuration = new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null, // cancellation is ours: a checkpoint may take longer than a grace period
            };
            return parse.InvokeAsync(configuration, cts.Token).GetAwaiter().GetResult();
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"sermtl {name}: {e.Message}. Run 'sermtl {name} --help'.");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            stderr.WriteLine($"sermtl {name}: cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (Exception e)
        {
            var verbose = args.Contains("--verbose");
            stderr.WriteLine(verbose ? $"sermtl {name}: {e}" : $"sermtl {name}: {OneLine(e)}");
            return ExitCodes.Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>
    /// An argument that looks like an option (<c>--x</c>) before any <c>--</c>: System.CommandLine hands unknown options
    /// to a command's file arguments, where they would be read as file names.
    /// </summary>
    private static IEnumerable<string> UnknownOptions(ParseResult parse)
    {
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash) yield break;
            if (token.Type == TokenType.Argument && token.Value.StartsWith("--", StringComparison.Ordinal) && token.Value.Length > 2)
                yield return $"unknown option {token.Value}";
        }
    }

    /// <summary>System.CommandLine's messages for the common mistakes, in the words the rest of the tool uses.</summary>
    private static string Plain(string message)
    {
        if (Regex.Match(message, "^Option '(.+)' is required\\.?$") is { Success: true } required)
            return $"missing required option {required.Groups[1].Value}";
        if (Regex.Match(message, "^Unrecognized command or argument '(.*)'\\.?$") is { Success: true } unknown)
            return unknown.Groups[1].Value.StartsWith('-') ? $"unknown option {unknown.Groups[1].Value}" : $"unexpected argument '{unknown.Groups[1].Value}'";
        return message;
    }

    private static string CommandName(CommandResult result)
    {
        var words = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c && c.Command is not RootCommand; r = c.Parent)
            words.Insert(0, c.Command.Name);
        return string.Join(' ', words);
    }

    private static string OneLine(Exception e)
    {
        var message = e is TypeInitializationException or AggregateException && e.InnerException is not null
            ? e.InnerException.Message
            : e.Message;
        return message.ReplaceLineEndings(" ") + " (--verbose for details)";
    }

    private static void Overview(TextWriter output, IReadOnlyList<SermtlCommand> commands)
    {
        output.WriteLine(Title);
        output.WriteLine();
        output.WriteLine("Usage: sermtl <command> [options]      sermtl <command> --help for details");
        output.WriteLine();
        var names = commands.Select(c => (Name: FullName(c), c.Summary)).ToList();
        var width = names.Max(c => c.Name.Length) + 2;
        foreach (var (name, summary) in names) output.WriteLine($"  {name.PadRight(width)}{summary}");
        output.WriteLine();
        output.WriteLine("Global options: --verbose (stack traces on errors)");
        output.WriteLine("Exit codes: 0 success, 1 failure, 2 usage error, 130 cancelled");
    }

    private static string FullName(SermtlCommand command) => command switch
    {
        DataStatsCommand => "data stats",
        CvAggregateCommand => "cv aggregate",
        _ => command.Name,
    };

    /// <summary><c>sermtl --help</c> lists the commands with their one-line summaries; a command's <c>--help</c> is System.CommandLine's.</summary>
    private sealed class OverviewOrHelp(IReadOnlyList<SermtlCommand> commands, CommandLineAction? help) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            if (parseResult.CommandResult.Command is RootCommand)
            {
                Overview(parseResult.InvocationConfiguration.Output, commands);
                return ExitCodes.Success;
            }
            return help is SynchronousCommandLineAction action ? action.Invoke(parseResult) : new HelpAction().Invoke(parseResult);
        }
    }
}
