using System.Text.Json;

namespace SerMtl.Cli.Tests;

/// <summary>What <c>--timing FILE</c> of <c>predict</c> and <c>embed</c> must hold after a run of 3 files in batches of 2.</summary>
internal static class TimingFile
{
    /// <summary>
    /// The file at <paramref name="path"/> describes 3 files in batches of 2 (the first batch's files share its time,
    /// the median after it is the third file's), the audio and real-time factor of <paramref name="audioSeconds"/>,
    /// a peak RSS, load time and memory policy; <paramref name="stderr"/> has the command's summary line.
    /// </summary>
    public static void AssertThreeFilesInBatchesOfTwo(string path, string stderr, string command, double audioSeconds)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        Assert.Equal(3, root.GetProperty("files").GetInt32());
        Assert.Equal(2, root.GetProperty("batch_size").GetInt32());
        var perFile = root.GetProperty("per_file_ms").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(3, perFile.Length);
        Assert.All(perFile, ms => Assert.True(ms > 0));
        Assert.Equal(perFile[0], perFile[1]);                              // a batch's files share its time
        Assert.Equal(perFile[2], root.GetProperty("median_ms_after_first_batch").GetDouble());
        Assert.Equal(audioSeconds, root.GetProperty("audio_seconds").GetDouble(), 3);
        Assert.Equal(root.GetProperty("run_seconds").GetDouble() / audioSeconds, root.GetProperty("real_time_factor").GetDouble(), 3);
        Assert.True(root.GetProperty("peak_rss_mb").GetDouble() > 0);
        Assert.True(root.GetProperty("model_load_seconds").GetDouble() > 0);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("native_memory").GetString()));
        Assert.Contains($"sermtl {command}: timing: model loaded in ", stderr);
        Assert.Contains("3 files", stderr);
    }
}
