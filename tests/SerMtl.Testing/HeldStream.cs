namespace SerMtl.Testing;

/// <summary>
/// A memory stream whose first asynchronous read waits until <see cref="Release"/>: <see cref="Reading"/> completes when
/// that read starts, so a test knows a request is admitted and busy reading.
/// </summary>
public sealed class HeldStream(byte[] bytes) : MemoryStream(bytes)
{
    private readonly TaskCompletionSource _reading = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Reading => _reading.Task;

    public void Release() => _release.TrySetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _reading.TrySetResult();
        await _release.Task.ConfigureAwait(false);
        return await base.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }
}
