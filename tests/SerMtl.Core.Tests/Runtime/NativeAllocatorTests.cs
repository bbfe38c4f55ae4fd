using SerMtl.Runtime;
using static TorchSharp.torch;

namespace SerMtl.Tests.Runtime;

public class NativeAllocatorTests
{
    [Fact]
    public void RetainFreedMemory_OnLinux_TakesEffectAndTensorsStillWork()
    {
        var applied = NativeAllocator.RetainFreedMemory();
        Assert.Equal(OperatingSystem.IsLinux(), applied);
        Assert.Equal(applied, NativeAllocator.IsRetainingFreedMemory);
        // Large blocks now come from the heap: allocate, free and reallocate one over the old mmap threshold.
        for (var i = 0; i < 3; i++)
        {
            using var t = full(40L * 1024 * 1024 / 4, 1.5f);
            Assert.Equal(1.5f, t[^1].item<float>());
        }
    }
}
