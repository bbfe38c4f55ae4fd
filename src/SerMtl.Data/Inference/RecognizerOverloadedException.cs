namespace SerMtl.Inference;

/// <summary>
/// An asynchronous prediction was refused because the recognizer's queue already held
/// <see cref="QueueCapacity"/> requests: back off and retry (an HTTP service answers 503 or 429 with Retry-After).
/// Nothing of the request was read or run.
/// </summary>
public sealed class RecognizerOverloadedException : InvalidOperationException
{
    /// <summary>A refusal at <paramref name="queueCapacity"/> requests.</summary>
    public RecognizerOverloadedException(int queueCapacity)
        : base($"the recognizer is busy: {queueCapacity} requests are already queued or running (its QueueCapacity); retry later")
    {
        QueueCapacity = queueCapacity;
    }

    /// <summary>The queue's capacity.</summary>
    public int QueueCapacity { get; }
}
