using SerMtl.Inference;

namespace SerMtl.Tests.Inference;

public sealed class WindowingTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(1000)]
    public void Split_NotLongerThanTheWindow_IsOneWholeSegment(int length)
    {
        Assert.Equal([(0, length)], Windowing.Split(length, window: 1000, overlap: 250));
    }

    [Fact]
    public void Split_NoWindow_IsOneWholeSegment()
    {
        Assert.Equal([(0, 5000)], Windowing.Split(5000, window: 0, overlap: 0));
    }

    [Theory]
    [InlineData(1001, 1000, 250, 2)]
    [InlineData(1750, 1000, 250, 2)]
    [InlineData(1751, 1000, 250, 3)]
    [InlineData(1751, 1000, 0, 2)]
    [InlineData(45 * 16000, 5 * 16000, 16000, 11)] // 45 s in 5 s windows overlapping by 1 s: 10 hops of 4 s
    public void Split_LongRecording_EqualWindowsCoverItWithAtLeastTheOverlap(int length, int window, int overlap, int expectedCount)
    {
        var windows = Windowing.Split(length, window, overlap);

        Assert.Equal(expectedCount, windows.Length);
        Assert.All(windows, w => Assert.Equal(window, w.Length));
        Assert.Equal(0, windows[0].Start);
        Assert.Equal(length, windows[^1].Start + windows[^1].Length);
        for (var i = 1; i < windows.Length; i++)
        {
            var shared = windows[i - 1].Start + window - windows[i].Start;
            Assert.InRange(shared, overlap - 1, window - 1); // rounding of the starts may take one sample
        }
    }

    [Fact]
    public void Stitch_EachWindowGivesTheFramesNearestItsOwnCentre()
    {
        // Frames every 10 samples, each seeing 20 (centre at start + 10 f + 10). Windows [0, 100) and [60, 160):
        // the cut is the middle of the overlap [60, 100), sample 80.
        (int, int)[] windows = [(0, 100), (60, 100)];
        long[] first = [1, 2, 3, 4, 5, 6, 7, 8, 9];            // centres 10..90
        long[] second = [11, 12, 13, 14, 15, 16, 17, 18, 19];  // centres 70..150
        var stitched = Windowing.Stitch(windows, [first, second], samplesPerFrame: 10, receptiveField: 20);
        // First window: centres 10..70 (< 80) → 1..7; second: centres 80..150 → 12..19.
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19], stitched);
    }

    [Fact]
    public void Stitch_OneWindow_KeepsEveryFrame()
    {
        Assert.Equal([3, 3, 0, 4], Windowing.Stitch([(0, 50)], [[3, 3, 0, 4]], samplesPerFrame: 10, receptiveField: 20));
    }
}
