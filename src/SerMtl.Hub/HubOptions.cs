namespace SerMtl.Hub;

/// <summary>Where models come from and where they are kept. <see cref="FromEnvironment"/> reads huggingface_hub's variables.</summary>
public sealed record HubOptions
{
    /// <summary>The Hub's address (<c>HF_ENDPOINT</c>); default <c>https://huggingface.co</c>.</summary>
    public Uri Endpoint { get; init; } = new("https://huggingface.co");

    /// <summary>
    /// The access token for gated and private repositories (<c>HF_TOKEN</c>, else the token file
    /// <c>$HF_HOME/token</c> that <c>huggingface-cli login</c> writes), or null.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// The cache folder (<c>HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>), holding
    /// <c>models--org--name/{blobs,snapshots,refs}</c> as huggingface_hub does.
    /// </summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory(DefaultHome());

    /// <summary>Use only what is cached, never the network (<c>HF_HUB_OFFLINE=1</c>).</summary>
    public bool Offline { get; init; }

    /// <summary>How long one request may wait for the server before it counts as no network. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for another process downloading the same file. Default 30 min.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The options huggingface_hub would use in this process: HF_ENDPOINT, HF_TOKEN (or the token file), HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE.</summary>
    public static HubOptions FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="FromEnvironment"/>, with the variables read through <paramref name="variable"/> (for tests and hosts).</summary>
    public static HubOptions FromVariables(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        string? Get(string name) => variable(name) is { Length: > 0 } v ? v : null;
        var home = Get("HF_HOME") ?? DefaultHome();
        var token = Get("HF_TOKEN") ?? Get("HUGGING_FACE_HUB_TOKEN") ?? ReadTokenFile(Get("HF_TOKEN_PATH") ?? Path.Combine(home, "token"));
        var offline = Get("HF_HUB_OFFLINE") is { } o && (o == "1" || o.Equals("true", StringComparison.OrdinalIgnoreCase) || o.Equals("yes", StringComparison.OrdinalIgnoreCase));
        return new HubOptions
        {
            Endpoint = Get("HF_ENDPOINT") is { } endpoint ? new Uri(endpoint.TrimEnd('/')) : new Uri("https://huggingface.co"),
            Token = token,
            CacheDirectory = Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE") ?? DefaultCacheDirectory(home),
            Offline = offline,
        };
    }

    private static string DefaultHome()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var cache = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
        return Path.Combine(cache, "huggingface");
    }

    private static string DefaultCacheDirectory(string home) => Path.Combine(home, "hub");

    private static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) && new FileInfo(path).Length < 4096 ? File.ReadAllText(path).Trim() is { Length: > 0 } t ? t : null : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
