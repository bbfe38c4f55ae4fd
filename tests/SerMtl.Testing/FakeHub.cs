using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace SerMtl.Testing;

/// <summary>
/// A HuggingFace Hub on 127.0.0.1 that answers as the real one does for what a download needs:
/// <c>HEAD/GET /{repo}/resolve/{revision}/{file}</c> with <c>X-Repo-Commit</c>; small files served directly with the
/// git blob hash as <c>ETag</c>; large (LFS) files as a 302 to <c>/cdn/{sha256}</c> with <c>X-Linked-Etag</c> and
/// <c>X-Linked-Size</c>, the CDN honouring <c>Range</c>; errors as 401/404 with <c>X-Error-Code</c> (RepoNotFound,
/// GatedRepo, RevisionNotFound, EntryNotFound); a renamed repository as a relative 307.
/// </summary>
public sealed class FakeHub : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _cdn = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public FakeHub()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public Uri Endpoint { get; }

    /// <summary>Every request, as "METHOD path [Range]".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>When set, the next CDN download sends this many bytes and then drops the connection.</summary>
    public long? BreakNextDownloadAfter { get; set; }

    /// <summary>When set, the CDN serves bytes that do not match the file's hash.</summary>
    public bool CorruptDownloads { get; set; }

    /// <summary>Delay before each CDN response body, to hold a download open.</summary>
    public TimeSpan DownloadDelay { get; set; }

    public sealed class Repo
    {
        public Dictionary<string, string> Refs { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Dictionary<string, (byte[] Bytes, bool Lfs)>> Commits { get; } = new(StringComparer.Ordinal);
        public bool Gated { get; init; }
        public string? Token { get; init; }
        public string? RenamedTo { get; init; }
    }

    /// <summary>Adds (or extends) <paramref name="repository"/> with a commit holding <paramref name="files"/> at <paramref name="revision"/>.</summary>
    public string Add(string repository, IReadOnlyDictionary<string, byte[]> files, string revision = "main", bool gated = false, string? token = null,
        long lfsThreshold = 1024)
    {
        if (!_repos.TryGetValue(repository, out var repo)) _repos[repository] = repo = new Repo { Gated = gated, Token = token };
        var commit = Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes(repository + revision + repo.Commits.Count))).ToLowerInvariant();
        repo.Commits[commit] = files.ToDictionary(kv => kv.Key, kv => (kv.Value, (long)kv.Value.Length > lfsThreshold), StringComparer.Ordinal);
        repo.Refs[revision] = commit;
        foreach (var (_, bytes) in files) _cdn[Sha256(bytes)] = bytes;
        return commit;
    }

    public void Rename(string from, string to) => _repos[from] = new Repo { RenamedTo = to };

    /// <summary>Adds every file of <paramref name="directory"/> (recursively) as one commit of <paramref name="repository"/>.</summary>
    public string AddDirectory(string repository, string directory, string revision = "main") =>
        Add(repository, Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f).Replace('\\', '/'), File.ReadAllBytes, StringComparer.Ordinal), revision);

    public static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    public static string GitBlobHash(byte[] bytes) =>
        Convert.ToHexString(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes])).ToLowerInvariant();

    public int Count(string prefix) => Requests.Count(r => r.StartsWith(prefix, StringComparison.Ordinal));

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        Requests.Enqueue($"{request.HttpMethod} {path}{(request.Headers["Range"] is { } range ? " " + range : "")}");
        try
        {
            if (path.StartsWith("/cdn/", StringComparison.Ordinal)) await ServeCdn(path[5..], request, response);
            else ServeResolve(path, request, response);
        }
        catch (HttpListenerException)
        {
            // the client went away
        }
        finally
        {
            try { response.Close(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { }
        }
    }

    private void ServeResolve(string path, HttpListenerRequest request, HttpListenerResponse response)
    {
        // /{org}/{name}/resolve/{revision}/{file...}; the revision may not hold '/' here.
        var parts = path.TrimStart('/').Split('/');
        if (parts.Length < 5 || parts[2] != "resolve")
        {
            response.StatusCode = 404;
            return;
        }
        var repository = parts[0] + "/" + parts[1];
        var revision = parts[3];
        var file = string.Join('/', parts.Skip(4));
        if (!_repos.TryGetValue(repository, out var repo))
        {
            Error(response, 401, "RepoNotFound");
            return;
        }
        if (repo.RenamedTo is { } renamed)
        {
            response.StatusCode = 307;
            response.Headers["Location"] = $"/{renamed}/resolve/{revision}/{file}";
            return;
        }
        var auth = request.Headers["Authorization"];
        if (repo.Token is { } token && auth != "Bearer " + token)
        {
            Error(response, 401, repo.Gated ? "GatedRepo" : "RepoNotFound");
            return;
        }
        var commit = repo.Refs.TryGetValue(revision, out var c) ? c : repo.Commits.ContainsKey(revision) ? revision : null;
        if (commit is null)
        {
            Error(response, 404, "RevisionNotFound");
            return;
        }
        response.Headers["X-Repo-Commit"] = commit;
        if (!repo.Commits[commit].TryGetValue(file, out var entry))
        {
            Error(response, 404, "EntryNotFound");
            return;
        }
        if (entry.Lfs)
        {
            var sha = Sha256(entry.Bytes);
            response.StatusCode = 302;
            response.Headers["Location"] = new Uri(Endpoint, "cdn/" + sha).ToString();
            response.Headers["X-Linked-Etag"] = $"\"{sha}\"";
            response.Headers["X-Linked-Size"] = entry.Bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["ETag"] = $"\"{GitBlobHash(Encoding.ASCII.GetBytes("pointer " + sha))}\"";
            return;
        }
        response.StatusCode = 200;
        response.Headers["ETag"] = $"\"{GitBlobHash(entry.Bytes)}\"";
        response.ContentLength64 = entry.Bytes.Length;
        if (request.HttpMethod == "GET") response.OutputStream.Write(entry.Bytes);
    }

    private async Task ServeCdn(string sha, HttpListenerRequest request, HttpListenerResponse response)
    {
        if (!_cdn.TryGetValue(sha, out var bytes))
        {
            response.StatusCode = 404;
            return;
        }
        if (CorruptDownloads) bytes = bytes.Select(b => (byte)(b ^ 0x5A)).ToArray();
        long start = 0;
        if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= bytes.Length)
            {
                response.StatusCode = 416;
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{bytes.Length - 1}/{bytes.Length}";
        }
        response.ContentLength64 = bytes.Length - start;
        if (request.HttpMethod != "GET") return;
        if (DownloadDelay > TimeSpan.Zero) await Task.Delay(DownloadDelay);
        if (BreakNextDownloadAfter is { } cut)
        {
            BreakNextDownloadAfter = null;
            response.OutputStream.Write(bytes, (int)start, (int)Math.Min(cut, bytes.Length - start));
            response.OutputStream.Flush();
            response.Abort();
            return;
        }
        await response.OutputStream.WriteAsync(bytes.AsMemory((int)start));
    }

    private static void Error(HttpListenerResponse response, int status, string code)
    {
        response.StatusCode = status;
        response.Headers["X-Error-Code"] = code;
    }
}
