using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;

namespace SerMtl.Onnx.Tests;

/// <summary>
/// Creates the process's ONNX Runtime environment with a logger that keeps every warning and error by session log id,
/// so a test can assert that loading and running its model logged none. The environment is a process-wide singleton
/// that the first session creates, so it is made when this assembly loads, before any test opens a session.
/// </summary>
internal static class OrtLog
{
#pragma warning disable CA2255 // a test assembly: the environment must exist before the first session of any test class
    [ModuleInitializer]
    internal static void CreateBeforeAnySession() => _ = Env;
#pragma warning restore CA2255

    private static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Messages = new();
    private static readonly OrtEnv Env = CreateEnv();
    private static int _sessions;

    private static OrtEnv CreateEnv()
    {
        var options = new EnvironmentCreationOptions
        {
            logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
            logId = "sermtl-tests",
            loggingFunction = (_, severity, category, logId, location, message) =>
                Messages.GetOrAdd(logId ?? "", _ => new()).Enqueue($"{severity} [{category}] {location}: {message}"),
        };
        return OrtEnv.CreateInstanceWithOptions(ref options);
    }

    /// <summary>A session on <paramref name="path"/> with its own log id; <paramref name="logged"/> collects what it logs at warning level or above.</summary>
    public static InferenceSession Open(string path, out ConcurrentQueue<string> logged)
    {
        _ = Env;
        var id = $"session-{Interlocked.Increment(ref _sessions)}";
        logged = Messages.GetOrAdd(id, _ => new());
        using var options = new SessionOptions { LogId = id, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING };
        return new InferenceSession(path, options);
    }
}
