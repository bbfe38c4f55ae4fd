using System.Runtime.InteropServices;

namespace SerMtl.Runtime;

/// <summary>How the C allocator that libtorch's CPU tensors come from (glibc malloc on Linux) is set up.</summary>
public enum NativeMemoryPolicy
{
    /// <summary>As the process found it: SerMtl changed nothing (not Linux/glibc, opted out, or the environment already tunes malloc).</summary>
    System,

    /// <summary>
    /// SerMtl's default (<see cref="NativeAllocator.ReuseFreedMemory"/>): tensors come from the heap and are reused
    /// instead of being mapped and faulted in again on every pass; freed memory is kept up to a bound and given back
    /// after work much larger than usual.
    /// </summary>
    BoundedReuse,

    /// <summary>Every freed block is kept in the process (<see cref="NativeAllocator.RetainFreedMemory"/>): no page faults, resident size stays at its peak.</summary>
    RetainAll,
}

/// <summary>
/// Process-wide tuning of the C allocator that libtorch's CPU tensors come from (glibc malloc on Linux).
/// </summary>
/// <remarks>
/// <para>
/// With glibc's defaults, every forward pass and training step page-faults its large activations in again: blocks
/// over the (adaptive) mmap threshold are fresh mappings, and free memory at the top of the heap beyond twice that
/// threshold goes back to the kernel. On the 2-core VM the project is measured on a page fault costs ~10-27 µs, and a
/// wav2vec2-base inference on a 5 s clip took ~20 000 of them (+40 % time; a training step ~50 000).
/// </para>
/// <para>
/// So SerMtl applies <see cref="NativeMemoryPolicy.BoundedReuse"/> the first time it builds a model
/// (<see cref="ReuseFreedMemory"/>): blocks come from the heap, not from fresh mappings (<c>M_MMAP_MAX = 0</c>); up to
/// 1 GiB of free memory at the top of the heap is kept for reuse (<c>M_TRIM_THRESHOLD</c>), 64 MiB after a trim
/// (<c>M_TOP_PAD</c>, which also keeps a thread's emptied heaps mapped). Bounding what stays resident: the TorchSharp recognizer,
/// <see cref="Modeling.Wav2Vec2Model.Embed"/> and the trainer give all free memory back (<c>malloc_trim</c>) after a
/// pass over more than twice their usual input (a moving average), so what stays resident follows the usual input,
/// not the longest one ever seen; code that runs a model's <c>Forward</c> itself can call <see cref="GiveBackFreeMemory"/>
/// (a thread's arena otherwise keeps the largest working set it has served, its emptied heaps staying mapped). glibc serves a thread other than the process's first from 64 MiB heaps and maps
/// any larger block afresh whatever the settings: on such threads a block over 64 MiB (the feature encoder's first
/// layers beyond ~10 s of audio in one pass) is still faulted in on every pass.
/// </para>
/// <para>
/// It is not applied where the environment already sets glibc malloc (<c>MALLOC_*_</c> variables,
/// <c>GLIBC_TUNABLES</c>), where <c>SERMTL_NATIVE_MEMORY=system</c> is set, or where the <c>AppContext</c> switch
/// <c>SerMtl.NativeMemory.System</c> is on; and it changes nothing where malloc is not glibc's (musl, Windows, macOS).
/// The settings are process-wide: other native code in the process gets the same reuse and the same bound.
/// </para>
/// </remarks>
public static class NativeAllocator
{
    /// <summary>The environment variable that opts out of the default policy when set to <c>system</c>.</summary>
    public const string EnvironmentVariable = "SERMTL_NATIVE_MEMORY";

    /// <summary>The <c>AppContext</c> switch that opts out of the default policy when on.</summary>
    public const string AppContextSwitch = "SerMtl.NativeMemory.System";

    private const int TrimThreshold = -1; // M_TRIM_THRESHOLD
    private const int TopPad = -2;        // M_TOP_PAD
    private const int MmapMax = -4;       // M_MMAP_MAX
    private const int ArenaMax = -8;      // M_ARENA_MAX
    private const int BoundedTrimThreshold = 1 << 30;
    private const int BoundedTopPad = 64 << 20;

    private static readonly object Gate = new();
    private static bool _defaultDecided;

    /// <summary>The policy in effect (<see cref="NativeMemoryPolicy.System"/> until SerMtl or the app applies one).</summary>
    public static NativeMemoryPolicy Policy { get; private set; }

    /// <summary>Whether <see cref="RetainFreedMemory"/> has taken effect in this process.</summary>
    public static bool IsRetainingFreedMemory => Policy == NativeMemoryPolicy.RetainAll;

    /// <summary>
    /// Tells glibc malloc to serve every block from its heaps (<c>M_MMAP_MAX = 0</c>), never trim them
    /// (<c>M_TRIM_THRESHOLD</c> at its maximum) and create no more arenas (<c>M_ARENA_MAX = 1</c>), so freed tensor
    /// memory is reused without page faults; the resident size then stays at its high-water mark. Returns false
    /// where that is not possible (not Linux, or a C library without <c>mallopt</c>); nothing changes then.
    /// </summary>
    /// <remarks>
    /// Threads that already own a secondary malloc arena keep it. Call this first thing in <c>Main</c>, before any
    /// tensor exists, or start the process with <c>MALLOC_ARENA_MAX=1</c>. SerMtl's default
    /// (<see cref="ReuseFreedMemory"/>) is nearly as fast and keeps memory bounded; this is for measuring what the
    /// bound costs, or for processes that run one fixed size forever.
    /// </remarks>
    public static bool RetainFreedMemory()
    {
        lock (Gate)
        {
            _defaultDecided = true;
            if (!Mallopt([(MmapMax, 0), (TrimThreshold, int.MaxValue), (ArenaMax, 1)])) return false;
            Policy = NativeMemoryPolicy.RetainAll;
            return true;
        }
    }

    /// <summary>
    /// Applies <see cref="NativeMemoryPolicy.BoundedReuse"/> now (SerMtl does so by itself when it first builds a model,
    /// unless opted out): every block from the heap, up to 1 GiB of free heap top kept, 64 MiB kept after a trim.
    /// Returns false where that is not possible (not glibc); nothing changes then.
    /// </summary>
    public static bool ReuseFreedMemory()
    {
        lock (Gate)
        {
            _defaultDecided = true;
            if (!Mallopt([(MmapMax, 0), (TrimThreshold, BoundedTrimThreshold), (TopPad, BoundedTopPad)]))
                return false;
            Policy = NativeMemoryPolicy.BoundedReuse;
            return true;
        }
    }

    /// <summary>Why the default policy is not applied in this process, or null when it may be.</summary>
    public static string? OptOutReason()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable), "system", StringComparison.OrdinalIgnoreCase))
            return $"{EnvironmentVariable}=system";
        if (AppContext.TryGetSwitch(AppContextSwitch, out var on) && on) return $"AppContext switch {AppContextSwitch}";
        foreach (var name in (string[])["MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"])
            if (Environment.GetEnvironmentVariable(name) is not null) return $"{name} is set";
        if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is { } tunables && tunables.Contains("glibc.malloc.", StringComparison.Ordinal))
            return "GLIBC_TUNABLES sets glibc.malloc";
        return null;
    }

    /// <summary>
    /// SerMtl's default, applied once per process when it first builds a model: <see cref="ReuseFreedMemory"/> unless
    /// the app chose a policy already or opted out (<see cref="OptOutReason"/>).
    /// </summary>
    internal static void ApplyDefault()
    {
        if (Volatile.Read(ref _defaultDecided)) return;
        lock (Gate)
        {
            if (_defaultDecided) return;
            _defaultDecided = true;
            if (OptOutReason() is null) ReuseFreedMemory();
        }
    }

    /// <summary>
    /// Gives the free memory the allocator keeps back to the system (<c>malloc_trim(0)</c>, every thread's arena) under
    /// <see cref="NativeMemoryPolicy.BoundedReuse"/>; false where nothing was done. SerMtl's recognizer, <c>Embed</c> and
    /// trainer call it after outsized passes; an app that runs a model's <c>Forward</c> itself (a thread's arena keeps
    /// the largest working set it has served) can call it after an unusually long input. The next pass faults its
    /// memory in again once.
    /// </summary>
    public static bool GiveBackFreeMemory()
    {
        if (Policy != NativeMemoryPolicy.BoundedReuse) return false;
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Sets every (parameter, value) with <c>mallopt</c>; false (and nothing more set) on the first that fails or where there is no glibc.</summary>
    private static bool Mallopt(ReadOnlySpan<(int Parameter, int Value)> settings)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            foreach (var (parameter, value) in settings)
                if (NativeMallopt(parameter, value) != 1) return false;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int NativeMallopt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}

/// <summary>
/// Gives free native memory back after a pass over much more input than usual, so that what the allocator keeps for
/// reuse follows the usual work (<see cref="NativeMemoryPolicy.BoundedReuse"/>): one per recognizer (or loop).
/// </summary>
internal sealed class RetainedMemoryGuard
{
    private const double Smoothing = 0.2;
    private const double Surplus = 2;
    private readonly Func<bool> _giveBack;
    private readonly object _lock = new();
    private double _usual;
    private long _largestSinceGiveBack;

    public RetainedMemoryGuard(Func<bool>? giveBack = null) => _giveBack = giveBack ?? NativeAllocator.GiveBackFreeMemory;

    /// <summary>How many times memory was given back.</summary>
    public int GiveBacks { get; private set; }

    /// <summary>
    /// Records a pass over <paramref name="size"/> (e.g. samples in the batch); gives memory back when the largest pass
    /// since the last give-back exceeds twice the usual size (a moving average).
    /// </summary>
    public void After(long size)
    {
        lock (_lock)
        {
            _usual = _usual == 0 ? size : (1 - Smoothing) * _usual + Smoothing * size;
            _largestSinceGiveBack = Math.Max(_largestSinceGiveBack, size);
            if (_largestSinceGiveBack <= Surplus * _usual) return;
            if (_giveBack()) GiveBacks++;
            _largestSinceGiveBack = 0; // this pass's memory too was free when it was given back
        }
    }
}
