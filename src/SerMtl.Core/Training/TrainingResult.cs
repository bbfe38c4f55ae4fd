namespace SerMtl.Training;

/// <summary>The outcome of <see cref="SerTrainer.Train(IReadOnlyList{SerMtl.Data.Corpora.SpeechSample}, IReadOnlyList{SerMtl.Data.Corpora.SpeechSample}?, CancellationToken)"/>.</summary>
/// <param name="Epochs">One summary per epoch, including those done before a resume.</param>
/// <param name="BestEpoch">The epoch whose weights the model holds now (best by the selection metric), or null without a validation split (the model then holds the last epoch's weights).</param>
/// <param name="BestScore">The selection metric's value at <see cref="BestEpoch"/>, or null.</param>
/// <param name="Steps">Optimizer updates of the run, skipped ones included.</param>
/// <param name="SkippedSteps">Updates skipped for a non-finite loss or gradient.</param>
/// <param name="BestModelDirectory">Where the kept model was saved (<c>CHECKPOINTS/best</c>: the best epoch, or the last one without a validation split), or null without a checkpoint directory.</param>
/// <param name="ResumedFromEpoch">Epochs already done in the checkpoint this run resumed from (0 for a fresh start).</param>
public sealed record TrainingResult(
    IReadOnlyList<EpochSummary> Epochs,
    int? BestEpoch,
    double? BestScore,
    long Steps,
    long SkippedSteps,
    string? BestModelDirectory,
    int ResumedFromEpoch);
