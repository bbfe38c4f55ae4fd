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
/// <para>
/// Threads that already own a secondary malloc arena keep it, and glibc unmaps a secondary arena's heaps whenever
/// they empty, whatever the trim threshold. Call this first thing in <c>Main</c>, before any tensor exists, or, more
/// reliably, start the process with <c>MALLOC_ARENA_MAX=1</c> in its environment (measured on the 2-core VM: a
/// wav2vec2-base inference went from 1 700 page faults to ~130 with it).
/// </para>
/// </remarks>
public static class NativeAllocator
{
    private const int TrimThreshold = -1; // M_TRIM_THRESHOLD
    private const int MmapMax = -4;       // M_MMAP_MAX
    private const int ArenaMax = -8;      // M_ARENA_MAX

    /// <summary>Whether <see cref="RetainFreedMemory"/> has taken effect in this process.</summary>
    public static bool IsRetainingFreedMemory { get; private set; }

    /// <summary>
    /// Tells glibc malloc to serve every block from its heaps (<c>M_MMAP_MAX = 0</c>), never trim them
    /// (<c>M_TRIM_THRESHOLD</c> at its maximum) and create no more arenas (<c>M_ARENA_MAX = 1</c>), so freed tensor
    /// memory is reused without page faults. Returns false
    /// where that is not possible (not Linux, or a C library without <c>mallopt</c>); nothing changes then.
    /// </summary>
    public static bool RetainFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var ok = Mallopt(MmapMax, 0) == 1 && Mallopt(TrimThreshold, int.MaxValue) == 1 && Mallopt(ArenaMax, 1) == 1;
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
