using SerMtl.Evaluation;

namespace SerMtl.Training;

/// <summary>Why a checkpoint was written.</summary>
public enum CheckpointReason
{
    /// <summary>An epoch ended.</summary>
    EpochEnd,

    /// <summary><see cref="TrainingOptions.CheckpointEverySteps"/> updates passed.</summary>
    StepInterval,

    /// <summary>Training was cancelled; the checkpoint resumes where it stopped.</summary>
    Cancelled,
}

/// <summary>A checkpoint the trainer wrote.</summary>
/// <param name="Path">The checkpoint file.</param>
/// <param name="Reason">Why it was written.</param>
/// <param name="Epoch">Epochs fully done when it was written.</param>
/// <param name="Step">Optimizer updates done when it was written.</param>
public sealed record CheckpointInfo(string Path, CheckpointReason Reason, int Epoch, long Step);

/// <summary>
/// Hooks the trainer calls on the training thread; every method does nothing unless overridden. An exception thrown
/// here stops training (after the last checkpoint, so the run can resume).
/// </summary>
public class TrainingCallbacks
{
    /// <summary>After each epoch's validation (if any), once its checkpoint is written.</summary>
    public virtual void OnEpochEnd(EpochSummary summary)
    {
    }

    /// <summary>After the validation split has been evaluated at the end of <paramref name="epoch"/>.</summary>
    public virtual void OnEvaluation(int epoch, EvaluationResult validation)
    {
    }

    /// <summary>After a checkpoint has been written.</summary>
    public virtual void OnCheckpoint(CheckpointInfo checkpoint)
    {
    }
}
