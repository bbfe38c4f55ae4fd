using System.Runtime.InteropServices;

namespace SerMtl.Runtime;

/// <summary>
/// Process-wide tuning of the C allocator that libtorch's CPU tensors come from (glibc malloc on Linux).
/// </summary>
/// <remarks>
/// glibc serves large blocks with fresh <c>mmap</c>s and hands freed memory back to the kernel, so every forward pass
/// and training step page-faults its big activations and gradients in again. On the 2-core VM the project is
/// measured on a page fault costs ~27 µs: allocating and filling a fresh 33 MB tensor took 225 ms against 1.3 ms for
/// refilling an existing one, and a wav2vec2-base training step took ~50 000 faults (over a second). Keeping freed
/// memory in the process (no <c>mmap</c>ped chunks, no trimming) removes nearly all of them; the price is that the
/// resident size stays at its high-water mark instead of shrinking after a peak. This is opt-in: a library should
/// not change a process's allocator behind its back.
/// </remarks>
internal static class NativeAllocator
{
    private const int TrimThreshold = -1; // M_TRIM_THRESHOLD
    private const int MmapMax = -4;       // M_MMAP_MAX

    /// <summary>Whether <see cref="RetainFreedMemory"/> has taken effect in this process.</summary>
    public static bool IsRetainingFreedMemory { get; private set; }

    /// <summary>
    /// Tells glibc malloc to serve every block from its heaps (<c>M_MMAP_MAX = 0</c>) and never trim them
    /// (<c>M_TRIM_THRESHOLD</c> at its maximum), so freed tensor memory is reused without page faults. Returns false
    /// where that is not possible (not Linux, or a C library without <c>mallopt</c>); nothing changes then.
    /// </summary>
    public static bool RetainFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var ok = Mallopt(MmapMax, 0) == 1 && Mallopt(TrimThreshold, int.MaxValue) == 1;
            IsRetainingFreedMemory |= ok;
            return ok;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
