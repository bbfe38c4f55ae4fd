namespace SerMtl.Training;

/// <summary>
/// What one epoch did: mean training losses, the learning rate, validation metrics and speed. Also kept in the
/// checkpoint, so a resumed run reports the epochs it finished before the interruption.
/// </summary>
public sealed record EpochSummary
{
    /// <summary>Epoch number, from 1.</summary>
    public required int Epoch { get; init; }

    /// <summary>Optimizer updates done since the start of the run, after this epoch.</summary>
    public required long Step { get; init; }

    /// <summary>Mean total loss (CE + α·CTC) over the epoch's forward passes with a finite loss.</summary>
    public required double TrainLoss { get; init; }

    /// <summary>Mean cross-entropy of the emotion head.</summary>
    public required double TrainCe { get; init; }

    /// <summary>Mean CTC loss before weighting by α; null when α = 0 (not computed).</summary>
    public double? TrainCtc { get; init; }

    /// <summary>Learning rate of the epoch's last update.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Validation weighted accuracy; null without a validation split.</summary>
    public double? ValidationWeightedAccuracy { get; init; }

    /// <summary>Validation unweighted accuracy; null without a validation split.</summary>
    public double? ValidationUnweightedAccuracy { get; init; }

    /// <summary>Validation macro F1; null without a validation split.</summary>
    public double? ValidationMacroF1 { get; init; }

    /// <summary>Validation WER of the greedy CTC transcripts; null without a validation split, NaN without references.</summary>
    public double? ValidationWer { get; init; }

    /// <summary>Validation CER; null without a validation split, NaN without references.</summary>
    public double? ValidationCer { get; init; }

    /// <summary>Whether this epoch is the best so far by the selection metric.</summary>
    public bool IsBest { get; init; }

    /// <summary>Updates of this epoch skipped for a non-finite loss or gradient.</summary>
    public long SkippedSteps { get; init; }

    /// <summary>Wall-clock seconds of the epoch: training and validation (summed over sessions when it was resumed).</summary>
    public double Seconds { get; init; }

    /// <summary>Training throughput: training utterances / training seconds.</summary>
    public double UtterancesPerSecond { get; init; }
}
