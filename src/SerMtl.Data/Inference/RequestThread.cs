using System.Collections.Concurrent;

namespace SerMtl.Inference;

/// <summary>
/// The one thread that runs a recognizer's asynchronous requests, in order. Running them on one thread instead of
/// whichever thread-pool thread is free keeps an engine's native memory in one C allocator arena (glibc gives each
/// thread an arena of its own, up to 8 per core, and each keeps the freed activations it has seen), so a service's
/// resident memory does not grow with the number of threads that ever served a request.
/// </summary>
internal sealed class RequestThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();

    public RequestThread(string name)
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>Queues <paramref name="work"/>; the task completes with its result or exception once the thread has run it.</summary>
    /// <exception cref="ObjectDisposedException">The thread was stopped.</exception>
    public Task<T> Run<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _work.Add(() =>
            {
                try
                {
                    done.SetResult(work());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(RequestThread), "the recognizer was disposed");
        }
        return done.Task;
    }

    private void Loop()
    {
        foreach (var work in _work.GetConsumingEnumerable()) work();
        _work.Dispose();
    }

    /// <summary>Lets the thread finish what is queued and end; nothing more is accepted.</summary>
    public void Dispose() => _work.CompleteAdding();
}
