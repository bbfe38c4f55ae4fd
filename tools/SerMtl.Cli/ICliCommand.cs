namespace SerMtl.Cli;

/// <summary>One <c>sermtl</c> command. Add an implementation under Commands/ and list it in <see cref="CommandRegistry"/>.</summary>
internal interface ICliCommand
{
    /// <summary>Words that select the command, e.g. <c>embed</c> or <c>data stats</c>.</summary>
    string Name { get; }

    /// <summary>One line for the command list.</summary>
    string Summary { get; }

    /// <summary>Full help: usage line, options, examples.</summary>
    string Help { get; }

    /// <summary>Runs the command; returns the process exit code. Throw <see cref="UsageException"/> for bad arguments.</summary>
    int Run(CliArgs args, CancellationToken cancellationToken);
}
