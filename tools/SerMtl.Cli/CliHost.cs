namespace SerMtl.Cli;

/// <summary>Exit codes: 0 success, 1 failure, 2 usage error, 130 cancelled.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;
}

internal static class CliHost
{
    public static int Run(string[] argv)
    {
        var verbose = argv.Contains("--verbose");
        var tokens = argv.Where(a => a != "--verbose").ToList();
        if (tokens.Count == 0 || tokens[0] is "--help" or "-h" or "help")
        {
            PrintOverview();
            return tokens.Count == 0 ? ExitCodes.Usage : ExitCodes.Success;
        }

        // Longest match on the command words ("data stats" before "data").
        var command = CommandRegistry.All
            .Select(c => (c, words: c.Name.Split(' ')))
            .Where(x => x.words.Length <= tokens.Count && x.words.SequenceEqual(tokens.Take(x.words.Length), StringComparer.Ordinal))
            .OrderByDescending(x => x.words.Length)
            .FirstOrDefault();
        if (command.c is null)
        {
            Console.Error.WriteLine($"sermtl: unknown command '{tokens[0]}'. Run 'sermtl --help' for the list.");
            return ExitCodes.Usage;
        }

        var rest = tokens.Skip(command.words.Length).ToList();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            Console.WriteLine(command.c.Help);
            return ExitCodes.Success;
        }

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl+C ends the process
            e.Cancel = true;
            Console.Error.WriteLine("sermtl: cancelling (press Ctrl+C again to abort)...");
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return command.c.Run(new CliArgs(rest), cts.Token);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"sermtl {command.c.Name}: {e.Message}. Run 'sermtl {command.c.Name} --help'.");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.Error.WriteLine($"sermtl {command.c.Name}: cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(verbose ? $"sermtl {command.c.Name}: {e}" : $"sermtl {command.c.Name}: {OneLine(e)}");
            return ExitCodes.Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static string OneLine(Exception e)
    {
        var message = e is TypeInitializationException or AggregateException && e.InnerException is not null
            ? e.InnerException.Message
            : e.Message;
        return message.ReplaceLineEndings(" ") + " (--verbose for details)";
    }

    private static void PrintOverview()
    {
        Console.WriteLine("sermtl: speech emotion recognition with multi-task learning (wav2vec 2.0 + CTC + emotion head)");
        Console.WriteLine();
        Console.WriteLine("Usage: sermtl <command> [options]      sermtl <command> --help for details");
        Console.WriteLine();
        var width = CommandRegistry.All.Max(c => c.Name.Length) + 2;
        foreach (var c in CommandRegistry.All)
            Console.WriteLine($"  {c.Name.PadRight(width)}{c.Summary}");
        Console.WriteLine();
        Console.WriteLine("Global options: --verbose (stack traces on errors)");
        Console.WriteLine("Exit codes: 0 success, 1 failure, 2 usage error, 130 cancelled");
    }
}
