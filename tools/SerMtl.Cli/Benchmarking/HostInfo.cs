using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SerMtl.Cli.Benchmarking;

/// <summary>What the benchmark reports about the machine and the process: CPU, load, peak resident memory.</summary>
internal static class HostInfo
{
    /// <summary>
    /// Peak resident set size of this process in MiB. On Linux the kernel's high-water mark <c>VmHWM</c> from
    /// <c>/proc/self/status</c> (which <see cref="ResetPeak"/> can lower to the current RSS, to measure one phase);
    /// on other systems <see cref="Process.PeakWorkingSet64"/>, which cannot be reset.
    /// </summary>
    public static double PeakResidentMegabytes()
    {
        if (OperatingSystem.IsLinux() && ReadStatusKilobytes("VmHWM") is { } kb) return kb / 1024.0;
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    /// <summary>
    /// Lowers the peak to the current resident size (Linux: writes 5 to <c>/proc/self/clear_refs</c>). Returns false
    /// where that is not possible; the peak then covers the whole process lifetime.
    /// </summary>
    public static bool ResetPeak()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Minor page faults of this process so far (Linux <c>/proc/self/stat</c>), or null elsewhere.</summary>
    public static long? MinorPageFaults()
    {
        try
        {
            if (!File.Exists("/proc/self/stat")) return null;
            // "pid (comm) state ppid pgrp session tty tpgid flags minflt ...": comm may hold spaces, so split after ')'.
            var text = File.ReadAllText("/proc/self/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux <c>/proc/loadavg</c>), or null elsewhere.</summary>
    public static double[]? LoadAverage()
    {
        try
        {
            if (!File.Exists("/proc/loadavg")) return null;
            var parts = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Take(3).Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>CPU model name (as <c>lscpu</c> shows it), logical CPU count and OS, e.g. "AMD EPYC, 2 CPUs, Linux 6.1…".</summary>
    public static string Machine()
    {
        string? model = null;
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                model = File.ReadLines("/proc/cpuinfo")
                    .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?
                    .Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
        }
        model ??= RuntimeInformation.ProcessArchitecture.ToString();
        return $"{model}, {Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}";
    }

    private static long? ReadStatusKilobytes(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
                var value = line[(field.Length + 1)..].Trim().Split(' ')[0];
                return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb : null;
            }
        }
        catch (IOException)
        {
        }
        return null;
    }
}
