namespace SerMtl.Training;

/// <summary>What the trainer is doing.</summary>
public enum TrainingPhase
{
    /// <summary>Decoding audio and encoding transcripts before the first step.</summary>
    Preparing,

    /// <summary>Optimizer updates.</summary>
    Training,

    /// <summary>Evaluating the validation split at the end of an epoch.</summary>
    Validating,
}

/// <summary>
/// A progress report of <see cref="SerTrainer.Train(IReadOnlyList{SerMtl.Data.Corpora.SpeechSample}, IReadOnlyList{SerMtl.Data.Corpora.SpeechSample}?, CancellationToken)"/>,
/// sent after every optimizer update and validation batch.
/// </summary>
/// <param name="Phase">What is running.</param>
/// <param name="Epoch">Current epoch, from 1.</param>
/// <param name="Epochs">Number of epochs of the run.</param>
/// <param name="Done">Work done in this phase of the epoch: forward passes (training) or utterances (validation).</param>
/// <param name="Total">Work of this phase of the epoch, in the same unit.</param>
/// <param name="Step">Optimizer updates done since the start of the run (skipped ones included).</param>
/// <param name="TotalSteps">Optimizer updates of the whole run.</param>
/// <param name="Loss">Mean training loss of the epoch so far (null before the first update or while validating).</param>
/// <param name="LearningRate">Learning rate of the last update.</param>
/// <param name="Elapsed">Time since this call to Train started.</param>
public sealed record TrainingProgress(
    TrainingPhase Phase,
    int Epoch,
    int Epochs,
    int Done,
    int Total,
    long Step,
    long TotalSteps,
    double? Loss,
    double LearningRate,
    TimeSpan Elapsed);
