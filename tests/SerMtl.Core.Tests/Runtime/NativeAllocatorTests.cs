using SerMtl.Modeling;
using SerMtl.Runtime;
using static TorchSharp.torch;

namespace SerMtl.Tests.Runtime;

/// <summary>
/// Tests that change the process's allocator settings and count its page faults and resident memory: they must not run
/// beside other tests that allocate at the same time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeMemoryCollection
{
    public const string Name = "native memory";
}

[Collection(NativeMemoryCollection.Name)]
public class NativeAllocatorTests
{
    private const long Block = 8L << 20; // bytes: a typical activation of a 5 s clip

    [Fact]
    public void BuildingAModel_AppliesTheBoundedPolicyUnlessOptedOut()
    {
        using var model = new Wav2Vec2Model(TinyConfig());
        // Decided once per process by the first model built (here or in an earlier test), never System on glibc unless opted out.
        if (OperatingSystem.IsLinux() && NativeAllocator.OptOutReason() is null)
            Assert.NotEqual(NativeMemoryPolicy.System, NativeAllocator.Policy);
    }

    [Fact]
    public void OptOutReason_NamesTheEnvironmentVariableOrSwitch()
    {
        var before = Environment.GetEnvironmentVariable(NativeAllocator.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(NativeAllocator.EnvironmentVariable, "system");
            Assert.Equal("SERMTL_NATIVE_MEMORY=system", NativeAllocator.OptOutReason());
            Environment.SetEnvironmentVariable(NativeAllocator.EnvironmentVariable, null);
            AppContext.SetSwitch(NativeAllocator.AppContextSwitch, true);
            Assert.Equal("AppContext switch SerMtl.NativeMemory.System", NativeAllocator.OptOutReason());
        }
        finally
        {
            AppContext.SetSwitch(NativeAllocator.AppContextSwitch, false);
            Environment.SetEnvironmentVariable(NativeAllocator.EnvironmentVariable, before);
        }
    }

    [Fact]
    public void BoundedReuse_ReusesFreedTensorsAndGivesThemBackWhenAsked()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(NativeAllocator.ReuseFreedMemory());
        Assert.Equal(NativeMemoryPolicy.BoundedReuse, NativeAllocator.Policy);

        // 256 MB of 8 MB tensors (65 536 pages), allocated, filled and freed three times: once the first round has grown
        // the heap, the others reuse it (glibc's defaults trim the freed heap and fault every page in again). How much
        // the first rounds fault depends on what tests running beside this one left free and on where the second
        // round's blocks land (81 878, 10 291, 0 in one run), so the last round is judged, against the pages it touches.
        NativeAllocator.GiveBackFreeMemory();
        var faults = new long[3];
        for (var round = 0; round < faults.Length; round++)
        {
            var before = MinorPageFaults();
            FillAndFree(32);
            faults[round] = MinorPageFaults() - before;
        }
        Assert.True(faults[2] < 65_536 / 10, $"rounds: {string.Join(", ", faults)} faults");

        // Freed memory stays resident (for reuse) until given back; then the resident size drops by most of it.
        var retained = ResidentMegabytes();
        Assert.True(NativeAllocator.GiveBackFreeMemory());
        var after = ResidentMegabytes();
        Assert.True(retained - after > 150, $"resident {retained:0} MB before giving back, {after:0} MB after");
    }

    [Fact]
    public void RetainFreedMemory_OnLinux_TakesEffectAndTensorsStillWork()
    {
        try
        {
            var applied = NativeAllocator.RetainFreedMemory();
            Assert.Equal(OperatingSystem.IsLinux(), applied);
            Assert.Equal(applied, NativeAllocator.IsRetainingFreedMemory);
            Assert.False(NativeAllocator.GiveBackFreeMemory()); // only under the bounded policy
            // Large blocks now come from the heap: allocate, free and reallocate one over the old mmap threshold.
            for (var i = 0; i < 3; i++)
            {
                using var t = full(40L * 1024 * 1024 / 4, 1.5f);
                Assert.Equal(1.5f, t[^1].item<float>());
            }
        }
        finally
        {
            NativeAllocator.ReuseFreedMemory(); // the default, for the tests that follow
        }
    }

    private static void FillAndFree(int blocks)
    {
        using var scope = NewDisposeScope();
        for (var i = 0; i < blocks; i++) full(Block / 4, (float)i);
    }

    private static long MinorPageFaults()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static double ResidentMegabytes() =>
        double.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
            System.Globalization.CultureInfo.InvariantCulture) / 1024;

    private static Wav2Vec2Config TinyConfig() => Wav2Vec2Config.FromJsonFile(Path.Combine(TestPaths.TinyGroup, "config.json"));
}

public class RetainedMemoryGuardTests
{
    [Fact]
    public void After_GivesBackOnlyAfterAPassMuchLargerThanUsual()
    {
        var calls = 0;
        var guard = new RetainedMemoryGuard(() => { calls++; return true; });
        for (var i = 0; i < 20; i++) guard.After(80_000 + i % 3 * 10_000); // 5-6 s clips: the usual
        Assert.Equal(0, calls);
        guard.After(960_000); // one minute
        Assert.Equal(1, calls);
        for (var i = 0; i < 20; i++) guard.After(80_000);
        Assert.Equal(1, calls);
        Assert.Equal(1, guard.GiveBacks);
    }

    [Fact]
    public void After_AFirstPassLargerThanWhatFollows_IsGivenBackWithinAFewPasses()
    {
        var calls = 0;
        var guard = new RetainedMemoryGuard(() => { calls++; return true; });
        guard.After(1_000_000);
        var passes = 0;
        while (calls == 0 && passes < 10)
        {
            guard.After(100_000);
            passes++;
        }
        Assert.Equal(1, calls);
        Assert.InRange(passes, 2, 5);
    }

    [Fact]
    public void After_NothingToGiveBack_CountsNothing()
    {
        var guard = new RetainedMemoryGuard(() => false);
        guard.After(1);
        guard.After(1000);
        Assert.Equal(0, guard.GiveBacks);
    }
}
