using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SerMtl.Training;

namespace SerMtl.Cli.Commands;

/// <summary>
/// Training output on the console: log lines, and progress as a bar redrawn in place on a terminal or as a plain
/// line every quarter of an epoch (and at each validation) when the output is redirected to a file or pipe.
/// </summary>
internal sealed class ConsoleReporter : ILogger, IProgress<TrainingProgress>
{
    private const int BarWidth = 24;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);

    private readonly TextWriter _out;
    private readonly bool _interactive;
    private readonly LogLevel _minimum;
    private readonly Lock _lock = new();
    private readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
    private int _barLength;
    private (int Epoch, TrainingPhase Phase, int Quarter) _lastPlain = (-1, TrainingPhase.Preparing, -1);

    public ConsoleReporter(TextWriter? output = null, bool? interactive = null, bool verbose = false)
    {
        _out = output ?? Console.Out;
        _interactive = interactive ?? (output is null && !Console.IsOutputRedirected);
        _minimum = verbose ? LogLevel.Debug : LogLevel.Information;
    }

    /// <summary>Shown before every line, e.g. <c>fold Ses01F</c>.</summary>
    public string? Prefix { get; set; }

    public void Report(TrainingProgress value)
    {
        lock (_lock)
        {
            if (_interactive) Draw(value);
            else WritePlain(value);
        }
    }

    /// <summary>Writes a line of its own (clearing the progress bar first).</summary>
    public void WriteLine(string text)
    {
        lock (_lock)
        {
            ClearBar();
            _out.WriteLine(text);
            _out.Flush();
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= _minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var level = logLevel switch
        {
            >= LogLevel.Error => "error: ",
            LogLevel.Warning => "warning: ",
            _ => "",
        };
        WriteLine($"{Lead()}{level}{formatter(state, exception)}");
    }

    private string Lead() => Prefix is null ? "" : Prefix + ": ";

    private void Draw(TrainingProgress p)
    {
        var last = p.Total > 0 && p.Done >= p.Total;
        if (!last && _sinceDraw.Elapsed < RedrawInterval) return;
        _sinceDraw.Restart();
        var fraction = p.Total > 0 ? Math.Clamp((double)p.Done / p.Total, 0, 1) : 0;
        var filled = (int)Math.Round(fraction * BarWidth);
        var text = p.Phase switch
        {
            TrainingPhase.Preparing => $"{Lead()}reading audio and transcripts...",
            _ => string.Create(CultureInfo.InvariantCulture,
                $"{Lead()}epoch {p.Epoch}/{p.Epochs} {(p.Phase == TrainingPhase.Training ? "train" : "valid")} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {fraction * 100,3:0}%{Details(p)} {Clock(p.Elapsed)}"),
        };
        var width = Math.Max(20, ConsoleWidth() - 1);
        if (text.Length > width) text = text[..width];
        _out.Write('\r' + text.PadRight(Math.Max(_barLength, text.Length)));
        _out.Flush();
        _barLength = text.Length;
    }

    private void WritePlain(TrainingProgress p)
    {
        if (p.Phase == TrainingPhase.Preparing)
        {
            if (_lastPlain.Phase != TrainingPhase.Preparing || _lastPlain.Epoch != -2)
                _out.WriteLine($"{Lead()}reading audio and transcripts...");
            _lastPlain = (-2, TrainingPhase.Preparing, 0);
            return;
        }
        // One line per quarter of the epoch's training, and one when validation ends.
        var quarter = p.Total > 0 ? Math.Min(4, 4 * p.Done / p.Total) : 0;
        if (p.Phase == TrainingPhase.Validating && p.Done < p.Total) return;
        var key = (p.Epoch, p.Phase, quarter);
        if (key == _lastPlain || (p.Phase == TrainingPhase.Training && quarter == 0)) return;
        _lastPlain = key;
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Lead()}epoch {p.Epoch}/{p.Epochs} {(p.Phase == TrainingPhase.Training ? "train" : "validation")} {p.Done}/{p.Total}{Details(p)} {Clock(p.Elapsed)}"));
        _out.Flush();
    }

    private static string Details(TrainingProgress p) => p.Phase == TrainingPhase.Training
        ? string.Create(CultureInfo.InvariantCulture, $" loss {(p.Loss is { } l ? l.ToString("0.0000", CultureInfo.InvariantCulture) : "-")} lr {p.LearningRate:0.00e+0} step {p.Step}/{p.TotalSteps}")
        : "";

    private static string Clock(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours:00}:{t.Minutes:00}:{t.Seconds:00}");

    private void ClearBar()
    {
        if (_barLength == 0) return;
        _out.Write('\r' + new string(' ', _barLength) + '\r');
        _barLength = 0;
    }

    private static int ConsoleWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 100;
        }
        catch (IOException)
        {
            return 100;
        }
    }
}
