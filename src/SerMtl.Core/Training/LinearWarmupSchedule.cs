using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>
/// Linear warm-up then linear decay of the learning rate, as HuggingFace's
/// <c>get_linear_schedule_with_warmup</c>: the multiplier rises linearly from 0 at step 0 to 1 at
/// <see cref="WarmupSteps"/>, then falls linearly to 0 at <see cref="TotalSteps"/> (and stays 0 after).
/// Steps count optimizer updates (after gradient accumulation); the update with index <c>k</c> (from 0) uses
/// <c>Multiplier(k)</c>, so the very first update has learning rate 0, as in HF.
/// </summary>
/// <remarks>The schedule is a pure function of the step, so resuming needs nothing but the step count.</remarks>
internal sealed class LinearWarmupSchedule
{
    /// <summary>A schedule over <paramref name="totalSteps"/> updates with <paramref name="warmupSteps"/> of warm-up.</summary>
    public LinearWarmupSchedule(long totalSteps, long warmupSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(warmupSteps, totalSteps);
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
    }

    /// <summary>Number of optimizer updates of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>Number of warm-up updates.</summary>
    public long WarmupSteps { get; }

    /// <summary>
    /// A schedule whose warm-up is <paramref name="warmupRatio"/> of the run, rounded up
    /// (HF's <c>ceil(total * warmup_ratio)</c>).
    /// </summary>
    public static LinearWarmupSchedule FromRatio(long totalSteps, double warmupRatio)
    {
        if (!(warmupRatio >= 0 && warmupRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(warmupRatio), warmupRatio, "expected a ratio in [0, 1]");
        return new LinearWarmupSchedule(totalSteps, (long)Math.Ceiling(totalSteps * warmupRatio));
    }

    /// <summary>The learning-rate multiplier at optimizer update <paramref name="step"/> (from 0).</summary>
    public double Multiplier(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        return Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
    }

    /// <summary>
    /// Sets every parameter group's learning rate to its initial learning rate times <c>Multiplier(step)</c>;
    /// call before the optimizer update with index <paramref name="step"/>.
    /// </summary>
    public void Apply(optim.Optimizer optimizer, long step)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var multiplier = Multiplier(step);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = group.InitialLearningRate * multiplier;
    }
}
