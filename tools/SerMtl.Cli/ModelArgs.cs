using System.Globalization;
using SerMtl.Checkpoints;
using SerMtl.Hub;

namespace SerMtl.Cli;

/// <summary>What <c>--model</c> and <c>--backbone</c> accept: a directory, or a Hub id fetched first with progress on stderr.</summary>
internal static class ModelArgs
{
    /// <summary>The help text's words for a model option's value.</summary>
    public const string DirOrHubId = "a directory, or a HuggingFace Hub id (org/name or org/name@revision; HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_OFFLINE as in Python)";

    /// <summary>
    /// <paramref name="text"/> as it is when it is a directory (or not a Hub id: the loader then says it is missing);
    /// a Hub id is downloaded into the Hub cache (or found there) and its snapshot directory returned.
    /// </summary>
    public static string Resolve(string text, TextWriter? error, CancellationToken cancellationToken)
    {
        if (Directory.Exists(text) || !HubModelId.TryParse(text, out _)) return text;
        var reporter = new DownloadReporter(error ?? Console.Error, interactive: error is null && !Console.IsErrorRedirected);
        return ModelLocator.Resolve(text, null, reporter, cancellationToken);
    }

    /// <summary>A line per downloaded file, redrawn in place on a terminal.</summary>
    private sealed class DownloadReporter(TextWriter error, bool interactive) : IProgress<HubDownloadProgress>
    {
        private string? _current;

        public void Report(HubDownloadProgress value)
        {
            var megabytes = (value.Bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture);
            var total = value.TotalBytes is { } t ? "/" + (t / 1e6).ToString("0.0", CultureInfo.InvariantCulture) : "";
            var line = $"downloading {value.Model} {value.FileName}: {megabytes}{total} MB";
            var done = value.TotalBytes is { } size && value.Bytes >= size;
            if (interactive)
            {
                error.Write("\r\x1b[K" + line);
                if (done) error.WriteLine();
            }
            else if (_current != value.FileName || done)
            {
                error.WriteLine(line);
            }
            _current = done ? null : value.FileName;
        }
    }
}
