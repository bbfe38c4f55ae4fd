using SerMtl.Cli.Reporting;

namespace SerMtl.Tests.Cli.Reporting;

public class ChartAxisTests
{
    [Theory]
    [InlineData(0.7, 1)]
    [InlineData(1.3, 2)]
    [InlineData(2.2, 2.5)]
    [InlineData(3.1, 5)]
    [InlineData(7, 10)]
    [InlineData(0.013, 0.02)]
    [InlineData(240, 250)]
    public void NiceStep_RoundsUpToOneTwoTwoAndAHalfOrFive(double raw, double expected) =>
        Assert.Equal(expected, ChartAxis.NiceStep(raw), 9);

    [Fact]
    public void Linear_AccuracyRange_HasRoundTicksInsideAndStaysWithinFloorAndCeiling()
    {
        var axis = ChartAxis.Linear(31.2, 99.4, targetTicks: 6, floor: 0, ceiling: 100, margin: 0.06);

        Assert.True(axis.Min <= 31.2 && axis.Max >= 99.4);
        Assert.True(axis.Max <= 100);
        Assert.All(axis.Ticks, t => Assert.InRange(t, axis.Min, axis.Max));
        Assert.All(axis.Ticks, t => Assert.Equal(0, t % 10, 9));
        Assert.Equal(["40", "60", "80", "100"], axis.Ticks.Select(axis.Label));
    }

    [Fact]
    public void Linear_EpochAxis_IsTightWithIntegerTicks()
    {
        var axis = ChartAxis.Linear(1, 30, targetTicks: 6, integer: true, tight: true);

        Assert.Equal((1.0, 30.0), (axis.Min, axis.Max));
        Assert.Equal([5.0, 10, 15, 20, 25, 30], axis.Ticks);
        Assert.Equal(0.0, axis.Position(1));
        Assert.Equal(1.0, axis.Position(30));
    }

    [Fact]
    public void Linear_SingleEpoch_GetsOneTickAndNoEpochZero()
    {
        var axis = ChartAxis.Linear(1, 1, integer: true, tight: true);

        Assert.Equal([1.0], axis.Ticks);
        Assert.True(axis.Min > 0);
    }

    [Fact]
    public void Log_LossesOverDecades_TickAtPowersOfTen()
    {
        var axis = ChartAxis.Log(0.35, 260);

        Assert.Equal([0.1, 1, 10, 100, 1000], axis.Ticks);
        Assert.Equal(["0.1", "1", "10", "100", "1000"], axis.Ticks.Select(axis.Label));
        Assert.Equal(0.5, axis.Position(Math.Sqrt(axis.Min * axis.Max)), 9);
    }

    [Fact]
    public void Log_NarrowRange_UsesOneTwoFiveTicks()
    {
        var axis = ChartAxis.Log(0.36, 1.9);

        Assert.Equal([0.2, 0.5, 1, 2], axis.Ticks);
    }
}
