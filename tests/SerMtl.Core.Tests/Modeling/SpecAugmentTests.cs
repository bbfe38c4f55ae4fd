using SerMtl.Modeling;

namespace SerMtl.Tests.Modeling;

public class SpecAugmentTests
{
    [Fact]
    public void ComputeMask_MasksOnlyInsideEachValidLength()
    {
        var random = new Random(7);
        long[] lengths = [200, 57, 12, 9, 130];
        var maskedSomewhere = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            var mask = SpecAugment.ComputeMask(lengths, 200, prob: 0.5, span: 10, minMasks: 2, random);
            for (var b = 0; b < lengths.Length; b++)
                for (var t = 0; t < 200; t++)
                {
                    if (!mask[b, t]) continue;
                    Assert.True(t < lengths[b], $"row {b} masked frame {t} beyond its length {lengths[b]}");
                    maskedSomewhere++;
                }
        }
        Assert.True(maskedSomewhere > 0);
    }

    [Fact]
    public void ComputeMask_ZeroProbability_MasksExactlyTheMinimumNumberOfDisjointOrOverlappingSpans()
    {
        var mask = SpecAugment.ComputeMask([100], 100, prob: 0, span: 10, minMasks: 1, new Random(1));
        var masked = Enumerable.Range(0, 100).Where(t => mask[0, t]).ToArray();
        Assert.Equal(10, masked.Length);
        Assert.Equal(masked[0] + 9, masked[^1]); // one contiguous span
    }

    [Fact]
    public void ComputeMask_SpanCountFollowsProbabilityTimesLengthOverSpan()
    {
        // prob · L / span = 0.4 · 1000 / 2 = 200 spans of 2 over 999 possible starts: at least 200 distinct starts,
        // so at least 200 (overlapping spans) and at most 400 frames masked.
        var mask = SpecAugment.ComputeMask([1000], 1000, prob: 0.4, span: 2, minMasks: 0, new Random(5));
        var masked = Enumerable.Range(0, 1000).Count(t => mask[0, t]);
        Assert.InRange(masked, 200, 402);
    }

    [Fact]
    public void ComputeMask_UtteranceShorterThanSpan_IsLeftAlone()
    {
        var mask = SpecAugment.ComputeMask([5, 50], 50, prob: 1, span: 10, minMasks: 2, new Random(2));
        Assert.DoesNotContain(true, Enumerable.Range(0, 50).Select(t => mask[0, t]));
        Assert.Contains(true, Enumerable.Range(0, 50).Select(t => mask[1, t]));
    }
}
