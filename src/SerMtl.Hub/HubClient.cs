using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace SerMtl.Hub;

/// <summary>
/// Downloads files of Hub model repositories into huggingface_hub's cache layout and finds them there again:
/// <code>
/// CACHE/models--org--name/blobs/&lt;etag&gt;                     the file's bytes, named by the Hub's ETag
/// CACHE/models--org--name/snapshots/&lt;commit&gt;/&lt;file&gt;       a relative symbolic link to the blob (a copy where links fail)
/// CACHE/models--org--name/refs/&lt;revision&gt;                  the commit a branch or tag pointed to
/// CACHE/.locks/models--org--name/&lt;etag&gt;.lock              held while one process downloads the blob
/// </code>
/// so a model fetched by Python is found here and the other way round. Downloads resume from a partial
/// <c>blobs/&lt;etag&gt;.incomplete</c>, are checked against the ETag (SHA-256 for large files, the git blob hash for
/// small ones) before they become blobs, and report progress. Without network, files already in the cache are used.
/// </summary>
public sealed class HubClient : IDisposable
{
    private const int BufferSize = 1 << 20;
    private readonly HttpClient _metadata;   // no redirects: the Hub's answers carry the headers we need
    private readonly HttpClient _content;    // follows redirects (LFS files are served from a CDN)
    private readonly bool _ownsClients;

    /// <summary>A client with <paramref name="options"/> (default: <see cref="HubOptions.FromEnvironment"/>).</summary>
    public HubClient(HubOptions? options = null) : this(options, null)
    {
    }

    /// <summary>A client that sends its requests through <paramref name="handler"/> (tests, proxies); the caller keeps ownership of it.</summary>
    public HubClient(HubOptions? options, HttpMessageHandler? handler)
    {
        Options = options ?? HubOptions.FromEnvironment();
        if (handler is null)
        {
            _metadata = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Options.RequestTimeout };
            _content = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = true }) { Timeout = Timeout.InfiniteTimeSpan };
            _ownsClients = true;
        }
        else
        {
            _metadata = new HttpClient(handler, disposeHandler: false) { Timeout = Options.RequestTimeout };
            _content = _metadata;
        }
    }

    /// <summary>The endpoint, token, cache and offline setting in use.</summary>
    public HubOptions Options { get; }

    /// <summary>
    /// The local path of <paramref name="fileName"/> in <paramref name="model"/>, downloading it unless the cache has
    /// it for the revision's current commit.
    /// </summary>
    /// <exception cref="HubException">The file cannot be had; <see cref="HubException.Kind"/> says why.</exception>
    public string DownloadFile(HubModelId model, string fileName, IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        DownloadFileAsync(model, fileName, progress, cancellationToken).ConfigureAwait(false).GetAwaiter().GetResult();

    /// <inheritdoc cref="DownloadFile"/>
    public async Task<string> DownloadFileAsync(HubModelId model, string fileName, IProgress<HubDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        CheckFileName(fileName);
        var repo = Path.Combine(Options.CacheDirectory, model.CacheFolderName);
        if (Options.Offline)
            return Cached(model, fileName) ?? throw new HubException(HubErrorKind.NotCached,
                $"{model}: '{fileName}' is not in the cache ({repo}) and HF_HUB_OFFLINE is set; download it once with network, or unset HF_HUB_OFFLINE");

        FileMetadata metadata;
        try
        {
            metadata = await HeadAsync(model, fileName, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
        {
            return Cached(model, fileName) ?? throw new HubException(HubErrorKind.NoNetwork,
                $"{model}: could not reach {Options.Endpoint} ({Describe(e)}) and '{fileName}' is not in the cache ({repo}); check the network or HF_ENDPOINT", e);
        }

        var snapshot = SnapshotPath(repo, metadata.Commit, fileName);
        if (!model.IsCommit) WriteRef(repo, model.Revision, metadata.Commit);
        if (File.Exists(snapshot)) return snapshot;

        var blob = Path.Combine(repo, "blobs", metadata.ETag);
        if (!File.Exists(blob))
        {
            using var held = await AcquireLockAsync(Path.Combine(Options.CacheDirectory, ".locks", model.CacheFolderName, metadata.ETag + ".lock"),
                cancellationToken).ConfigureAwait(false);
            if (!File.Exists(blob)) await DownloadBlobAsync(model, fileName, metadata, blob, progress, cancellationToken).ConfigureAwait(false);
        }
        Link(snapshot, blob);
        return snapshot;
    }

    /// <summary>As <see cref="DownloadFile"/>, but null when the repository has no such file (optional files).</summary>
    public string? TryDownloadFile(HubModelId model, string fileName, IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return DownloadFile(model, fileName, progress, cancellationToken);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.FileNotFound)
        {
            return null;
        }
        catch (HubException e) when (e.Kind is HubErrorKind.NotCached or HubErrorKind.NoNetwork && Cached(model, "config.json") is not null)
        {
            // Offline with the model cached but not this optional file: it was absent when the model was downloaded.
            return null;
        }
    }

    /// <summary>
    /// The cached path of <paramref name="fileName"/> for the commit <paramref name="model"/>'s revision last pointed
    /// to, or null. Never uses the network.
    /// </summary>
    public string? Cached(HubModelId model, string fileName)
    {
        CheckFileName(fileName);
        var repo = Path.Combine(Options.CacheDirectory, model.CacheFolderName);
        var commit = model.IsCommit ? model.Revision : ReadRef(repo, model.Revision);
        if (commit is null) return null;
        var path = SnapshotPath(repo, commit, fileName);
        return File.Exists(path) ? path : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_ownsClients) return;
        _metadata.Dispose();
        _content.Dispose();
    }

    /// <summary>What the Hub says of a file: the blob's ETag, the commit, the size, and where to fetch it.</summary>
    private sealed record FileMetadata(string ETag, string Commit, long? Size, Uri Location);

    // The endpoint may carry a path (a mirror at https://host/hf): resolve relative to it as a folder.
    private Uri ResolveUri(HubModelId model, string fileName) =>
        new(new Uri(Options.Endpoint.AbsoluteUri.TrimEnd('/') + "/"),
            $"{model.Repository}/resolve/{Uri.EscapeDataString(model.Revision)}/{string.Join('/', fileName.Split('/').Select(Uri.EscapeDataString))}");

    private async Task<FileMetadata> HeadAsync(HubModelId model, string fileName, CancellationToken cancellationToken)
    {
        var uri = ResolveUri(model, fileName);
        for (var hops = 0; ; hops++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, uri);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (Options.Token is { } token && uri.Host == Options.Endpoint.Host) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await _metadata.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                var target = location.IsAbsoluteUri ? location : new Uri(uri, location);
                // A renamed repository answers with a redirect on the Hub itself: ask again there. A large file answers
                // with a redirect to its storage, which carries no Hub headers: what we need is on this answer.
                if (!location.IsAbsoluteUri && Header(response, "X-Linked-Etag") is null && hops < 5)
                {
                    uri = target;
                    continue;
                }
                return Metadata(model, fileName, response, target);
            }
            if (status is >= 200 and < 300) return Metadata(model, fileName, response, uri);
            throw Failure(model, fileName, response);
        }
    }

    private static FileMetadata Metadata(HubModelId model, string fileName, HttpResponseMessage response, Uri location)
    {
        var etag = Header(response, "X-Linked-Etag") ?? response.Headers.ETag?.Tag ?? Header(response, "ETag");
        var commit = Header(response, "X-Repo-Commit");
        if (etag is null || commit is null)
            throw new HubException(HubErrorKind.UnexpectedResponse,
                $"{model}: the Hub's answer for '{fileName}' has no {(etag is null ? "ETag" : "X-Repo-Commit")} header; is HF_ENDPOINT a Hub?");
        etag = NormaliseETag(etag);
        if (etag.Length == 0 || etag.IndexOfAny(['/', '\\', '.']) >= 0 || !commit.All(char.IsAsciiLetterOrDigit))
            throw new HubException(HubErrorKind.UnexpectedResponse, $"{model}: the Hub's answer for '{fileName}' has an unusable ETag or commit ('{etag}', '{commit}')");
        long? size = long.TryParse(Header(response, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var linked) ? linked
            : response.Content.Headers.ContentLength;
        return new FileMetadata(etag, commit, size, location);
    }

    /// <summary>W/"abc" or "abc" → abc.</summary>
    internal static string NormaliseETag(string etag)
    {
        var e = etag.Trim();
        if (e.StartsWith("W/", StringComparison.Ordinal)) e = e[2..];
        return e.Trim('"');
    }

    private HubException Failure(HubModelId model, string fileName, HttpResponseMessage response)
    {
        var code = Header(response, "X-Error-Code");
        var status = (int)response.StatusCode;
        var tokenHint = Options.Token is null
            ? "set HF_TOKEN (or log in with huggingface-cli) to a token that may read it"
            : "the token in use (HF_TOKEN or the token file) may not read it";
        return code switch
        {
            "GatedRepo" => new HubException(HubErrorKind.GatedRepository,
                $"{model} is a gated repository: accept its conditions on {Options.Endpoint}{model.Repository} and {tokenHint}"),
            "RepoNotFound" => new HubException(HubErrorKind.RepositoryNotFound,
                $"{model}: no such repository on {Options.Endpoint} (or it is private: {tokenHint})"),
            "RevisionNotFound" => new HubException(HubErrorKind.RevisionNotFound, $"{model}: the repository has no revision '{model.Revision}'"),
            "EntryNotFound" => new HubException(HubErrorKind.FileNotFound, $"{model}: the repository has no file '{fileName}' at revision '{model.Revision}'"),
            _ when status is 401 or 403 => new HubException(HubErrorKind.RepositoryNotFound,
                $"{model}: the Hub refused access (HTTP {status}); {tokenHint}"),
            _ when status == 404 => new HubException(HubErrorKind.FileNotFound, $"{model}: '{fileName}' not found (HTTP 404)"),
            _ => new HubException(HubErrorKind.UnexpectedResponse, $"{model}: the Hub answered HTTP {status} {response.ReasonPhrase} for '{fileName}'"),
        };
    }

    private async Task DownloadBlobAsync(HubModelId model, string fileName, FileMetadata metadata, string blob, IProgress<HubDownloadProgress>? progress,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var partial = blob + ".incomplete";
        var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (metadata.Size is { } size && have > size) have = 0; // not a prefix of this file: start again

        using var request = new HttpRequestMessage(HttpMethod.Get, metadata.Location);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        if (Options.Token is { } token && metadata.Location.Host == Options.Endpoint.Host)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        HttpResponseMessage response;
        try
        {
            response = await _content.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
        {
            throw new HubException(HubErrorKind.NoNetwork, $"{model}: downloading '{fileName}' failed ({Describe(e)}); run again to resume", e);
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                File.Delete(partial);
                throw new HubException(HubErrorKind.UnexpectedResponse, $"{model}: the partial download of '{fileName}' did not match the server's file; run again");
            }
            if (!response.IsSuccessStatusCode) throw Failure(model, fileName, response);
            var append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (!append) have = 0;
            var total = metadata.Size ?? (response.Content.Headers.ContentLength is { } length ? have + length : null);
            progress?.Report(new HubDownloadProgress(model, fileName, have, total));
            try
            {
                await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await using var target = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
                var buffer = new byte[BufferSize];
                var reported = Stopwatch.StartNew();
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (total is { } limit && have + read > limit)
                        throw new HubException(HubErrorKind.UnexpectedResponse, $"{model}: the server sent more than the {limit} bytes it announced for '{fileName}'");
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    have += read;
                    if (reported.ElapsedMilliseconds >= 200)
                    {
                        progress?.Report(new HubDownloadProgress(model, fileName, have, total));
                        reported.Restart();
                    }
                }
            }
            catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
            {
                throw new HubException(HubErrorKind.NoNetwork,
                    $"{model}: the download of '{fileName}' broke off after {have} bytes ({Describe(e)}); run again to resume from there", e);
            }
            progress?.Report(new HubDownloadProgress(model, fileName, have, total));
        }

        if (metadata.Size is { } expected && new FileInfo(partial).Length != expected)
            throw new HubException(HubErrorKind.NoNetwork,
                $"{model}: the download of '{fileName}' stopped at {new FileInfo(partial).Length} of {expected} bytes; run again to resume");
        if (!Verify(partial, metadata.ETag))
        {
            File.Delete(partial);
            throw new HubException(HubErrorKind.ChecksumMismatch,
                $"{model}: '{fileName}' does not match the checksum the Hub gave for it ({metadata.ETag}); the download was discarded, run again");
        }
        File.Move(partial, blob, overwrite: true);
    }

    /// <summary>
    /// True when the file matches the ETag: a 64-hex ETag is the SHA-256 of a large (LFS) file, a 40-hex one the
    /// git blob hash of a small file; other ETags are not checked.
    /// </summary>
    internal static bool Verify(string path, string etag)
    {
        if (etag.Length == 64 && etag.All(char.IsAsciiHexDigitLower))
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant() == etag;
        }
        if (etag.Length == 40 && etag.All(char.IsAsciiHexDigitLower))
        {
            using var stream = File.OpenRead(path);
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(Encoding.ASCII.GetBytes($"blob {stream.Length}\0"));
            var buffer = new byte[BufferSize];
            int read;
            while ((read = stream.Read(buffer)) > 0) sha1.AppendData(buffer, 0, read);
            return Convert.ToHexString(sha1.GetHashAndReset()).ToLowerInvariant() == etag;
        }
        return true;
    }

    /// <summary>Waits for the blob's lock file, which another process may hold while it downloads the same blob.</summary>
    private async Task<FileStream> AcquireLockAsync(string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (waited.Elapsed < Options.LockTimeout)
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new HubException(HubErrorKind.UnexpectedResponse,
                    $"another process has held {path} for {Options.LockTimeout.TotalMinutes:0} min; if none is downloading, delete the file", e);
            }
        }
    }

    private static string SnapshotPath(string repo, string commit, string fileName) =>
        Path.Combine([repo, "snapshots", commit, .. fileName.Split('/')]);

    private static void Link(string snapshot, string blob)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(snapshot)!);
        var relative = Path.GetRelativePath(Path.GetDirectoryName(snapshot)!, blob);
        var temp = snapshot + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            File.CreateSymbolicLink(temp, relative);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            File.Copy(blob, temp, overwrite: true); // as huggingface_hub does where links are not allowed
        }
        File.Move(temp, snapshot, overwrite: true);
    }

    private static string? ReadRef(string repo, string revision)
    {
        var path = Path.Combine([repo, "refs", .. revision.Split('/')]);
        if (!File.Exists(path) || new FileInfo(path).Length > 200) return null;
        var commit = File.ReadAllText(path).Trim();
        return commit.Length > 0 && commit.All(char.IsAsciiLetterOrDigit) ? commit : null;
    }

    private static void WriteRef(string repo, string revision, string commit)
    {
        var path = Path.Combine([repo, "refs", .. revision.Split('/')]);
        if (ReadRef(repo, revision) == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temp, commit);
        File.Move(temp, path, overwrite: true);
    }

    private static void CheckFileName(string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        if (fileName.Split('/').Any(part => part is "" or "." or ".." || part.Contains('\\') || part.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0))
            throw new ArgumentException($"'{fileName}' is not a file name inside a repository", nameof(fileName));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
            : response.Content.Headers.TryGetValues(name, out var content) ? content.FirstOrDefault() : null;

    private static bool IsNetworkFailure(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or IOException and not HubException
        || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested); // a request timeout

    private static string Describe(Exception e) => e is TaskCanceledException ? "timed out" : e.Message;
}
