namespace SerMtl.Training;

/// <summary>
/// Training stopped because too many optimizer updates in a row had a NaN or infinite loss or gradient
/// (<see cref="TrainingOptions.MaxConsecutiveNonFiniteSteps"/>): the weights, data or learning rate are broken. The
/// last checkpoint is left as it was.
/// </summary>
public sealed class NonFiniteLossException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
