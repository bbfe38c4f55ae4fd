using SerMtl.Batching;
using SerMtl.Training;

namespace SerMtl.Tests.Training;

public class BatchPlannerTests
{
    private static readonly int[] Lengths = Enumerable.Range(0, 103).Select(i => 1000 + (i * 7919 % 97) * 100).ToArray();

    [Fact]
    public void Training_SameSeedAndEpoch_SamePlan_OtherEpochOtherOrder()
    {
        var a = BatchPlanner.Training(Lengths, 8, null, seed: 3, epoch: 2);
        var b = BatchPlanner.Training(Lengths, 8, null, seed: 3, epoch: 2);
        var c = BatchPlanner.Training(Lengths, 8, null, seed: 3, epoch: 3);
        Assert.Equal(a.Select(x => string.Join(',', x)), b.Select(x => string.Join(',', x)));
        Assert.NotEqual(a.Select(x => string.Join(',', x)), c.Select(x => string.Join(',', x)));
    }

    [Fact]
    public void Training_EveryUtteranceOnceAndWithinBothLimits()
    {
        const long maxSamples = 4 * 9000;
        var plan = BatchPlanner.Training(Lengths, 8, maxSamples, seed: 0, epoch: 1);
        Assert.Equal(Enumerable.Range(0, Lengths.Length), plan.SelectMany(b => b).Order());
        Assert.All(plan, b =>
        {
            Assert.InRange(b.Length, 1, 8);
            Assert.True(b.Length == 1 || b.Max(i => Lengths[i]) * (long)b.Length <= maxSamples, $"batch of {b.Length} pads to {b.Max(i => Lengths[i]) * b.Length}");
        });
    }

    [Fact]
    public void Training_BatchesGroupSimilarLengths()
    {
        // Within a sorting window each batch spans a narrow length range; a plain shuffle would not.
        var plan = BatchPlanner.Training(Lengths, 8, null, seed: 0, epoch: 1);
        var padding = plan.Sum(b => b.Sum(i => (long)(b.Max(j => Lengths[j]) - Lengths[i])));
        var shuffled = Enumerable.Range(0, Lengths.Length).OrderBy(i => i * 37 % 103).Chunk(8)
            .Sum(b => b.Sum(i => (long)(b.Max(j => Lengths[j]) - Lengths[i])));
        Assert.True(padding * 4 < shuffled, $"padding {padding} vs {shuffled} for an unsorted batching");
    }

    [Fact]
    public void Evaluation_LongestFirstEveryUtteranceOnce_AnOverLongUtteranceStandsAlone()
    {
        int[] lengths = [500, 90_000, 1200, 800, 1200];
        var plan = BatchPlanner.Evaluation(lengths, 3, maxBatchSamples: 3000);
        Assert.Equal([[1], [2, 4], [3, 0]], plan);
    }
}
