namespace SerMtl.Cli;

/// <summary>How multi-file commands report a file they could not process and go on with the others.</summary>
internal static class FileErrors
{
    /// <summary>Writes "sermtl COMMAND: FILE: reason" on one line (the reader's messages often name the file already; it is not said twice).</summary>
    public static void Report(TextWriter error, string command, string file, string message)
    {
        var text = message.StartsWith(file, StringComparison.Ordinal) ? message : $"{file}: {message}";
        error.WriteLine($"sermtl {command}: {text.ReplaceLineEndings(" ")}");
    }
}
