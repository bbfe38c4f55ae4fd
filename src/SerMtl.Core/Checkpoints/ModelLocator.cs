using System.Text.Json;
using SerMtl.Hub;

namespace SerMtl.Checkpoints;

/// <summary>
/// Turns what a user gives for a model — a local directory or a Hub id (<c>org/name</c>, <c>org/name@revision</c>) —
/// into a local HuggingFace-layout directory. Every loader of SerMtl (<see cref="Modeling.Wav2Vec2Model.FromPretrained(string, Modeling.Wav2Vec2LoadOptions?)"/>,
/// <see cref="Modeling.SerMtlModel.FromPretrained"/>, <see cref="Modeling.SerMtlModel.Load"/>,
/// <c>EmotionRecognizer.Load</c>) goes through it, with the Hub settings of the environment (HF_ENDPOINT, HF_TOKEN,
/// HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE).
/// </summary>
public static class ModelLocator
{
    /// <summary>The small files a model may have beside its weights; each is fetched when the repository has it.</summary>
    public static IReadOnlyList<string> OptionalFiles { get; } =
        ["preprocessor_config.json", "vocab.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"];

    /// <summary>
    /// <paramref name="directoryOrHubId"/> itself when it is an existing directory; otherwise, when it is a Hub id,
    /// the snapshot directory in the Hub cache after fetching <c>config.json</c>, the weights (the first of
    /// <see cref="CheckpointFiles.WeightFileNames"/> the repository has, with a sharded checkpoint's shards) and
    /// <see cref="OptionalFiles"/>.
    /// </summary>
    /// <param name="directoryOrHubId">A directory, or <c>org/name</c> / <c>org/name@revision</c>.</param>
    /// <param name="hub">Hub settings; null reads them from the environment.</param>
    /// <param name="progress">Download progress, per file.</param>
    /// <param name="cancellationToken">Stops a download (the partial file is kept and resumed next time).</param>
    /// <exception cref="DirectoryNotFoundException">Neither an existing directory nor a Hub id.</exception>
    /// <exception cref="HubException">A Hub id whose model cannot be had; the message says why and what to do.</exception>
    public static string Resolve(string directoryOrHubId, HubOptions? hub = null, IProgress<HubDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directoryOrHubId);
        if (Directory.Exists(directoryOrHubId)) return directoryOrHubId;
        if (!HubModelId.TryParse(directoryOrHubId, out var id))
            throw new DirectoryNotFoundException($"{directoryOrHubId}: model directory not found (nor is it a Hub id such as org/name)");
        using var client = new HubClient(hub);
        string config;
        try
        {
            config = client.DownloadFile(id.Value, "config.json", progress, cancellationToken);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.RepositoryNotFound)
        {
            throw new HubException(e.Kind, $"{directoryOrHubId}: no such directory here, and {e.Message}", e);
        }
        var snapshot = Path.GetDirectoryName(config)!;
        DownloadWeights(client, id.Value, progress, cancellationToken);
        foreach (var file in OptionalFiles) client.TryDownloadFile(id.Value, file, progress, cancellationToken);
        return snapshot;
    }

    private static void DownloadWeights(HubClient client, HubModelId id, IProgress<HubDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        foreach (var name in CheckpointFiles.WeightFileNames)
        {
            if (client.TryDownloadFile(id, name, progress, cancellationToken) is not { } path) continue;
            if (name.EndsWith(".index.json", StringComparison.Ordinal))
                foreach (var shard in ShardNames(path)) client.DownloadFile(id, shard, progress, cancellationToken);
            return;
        }
        throw new HubException(HubErrorKind.FileNotFound, $"{id}: the repository has no weights file (looked for {string.Join(", ", CheckpointFiles.WeightFileNames)})");
    }

    /// <summary>The distinct shard file names of a sharded checkpoint's index (its <c>weight_map</c> values).</summary>
    private static IEnumerable<string> ShardNames(string indexPath)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{indexPath}: no weight_map object");
        return map.EnumerateObject().Select(p => p.Value.GetString() ?? throw new InvalidDataException($"{indexPath}: weight_map['{p.Name}'] is not a file name"))
            .Distinct(StringComparer.Ordinal).ToList();
    }
}
