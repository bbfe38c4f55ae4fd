using SerMtl.Modeling;
using SerMtl.Training;

namespace SerMtl.Tests.Training;

public class LinearWarmupScheduleTests
{
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.1)]
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(55, 0.5)]
    [InlineData(91, 0.1)]
    [InlineData(100, 0.0)]
    [InlineData(150, 0.0)]
    public void Multiplier_WarmsUpThenDecaysLinearly(long step, double expected)
    {
        var schedule = LinearWarmupSchedule.FromRatio(totalSteps: 100, warmupRatio: 0.1);
        Assert.Equal(10, schedule.WarmupSteps);
        Assert.Equal(expected, schedule.Multiplier(step), 12);
    }

    [Fact]
    public void FromRatio_RoundsWarmupUp_LikeHuggingFace()
    {
        Assert.Equal(3, LinearWarmupSchedule.FromRatio(25, 0.1).WarmupSteps);  // ceil(2.5)
        Assert.Equal(1, LinearWarmupSchedule.FromRatio(5, 0.1).WarmupSteps);   // ceil(0.5)
        Assert.Equal(0, LinearWarmupSchedule.FromRatio(5, 0.0).WarmupSteps);
    }

    [Fact]
    public void Multiplier_NoWarmup_StartsAtOne()
    {
        var schedule = new LinearWarmupSchedule(totalSteps: 4, warmupSteps: 0);
        Assert.Equal(new[] { 1.0, 0.75, 0.5, 0.25, 0.0 }, Enumerable.Range(0, 5).Select(s => schedule.Multiplier(s)));
    }

    [Fact]
    public void Apply_SetsEveryGroupsLearningRate()
    {
        using var head = new CtcHead(hiddenSize: 4);
        using var optimizer = OptimizerFactory.AdamW(head, 5e-5, (0.9, 0.999), 1e-8, 0.01);
        var schedule = LinearWarmupSchedule.FromRatio(totalSteps: 20, warmupRatio: 0.1); // 2 warm-up steps
        schedule.Apply(optimizer, step: 1);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(2.5e-5, g.LearningRate, 15));
        schedule.Apply(optimizer, step: 11);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(5e-5 * 9 / 18, g.LearningRate, 15));
        schedule.Apply(optimizer, step: 0);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(0.0, g.LearningRate));
    }

    [Fact]
    public void Constructor_InvalidSteps_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmupSchedule(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmupSchedule(10, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => LinearWarmupSchedule.FromRatio(10, 1.5));
    }
}
