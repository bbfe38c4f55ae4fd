using System.Runtime.CompilerServices;
using SerMtl.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Tests.Kernels;

/// <summary>
/// Scalars.Of keeps the native scalar it makes alive while the call that reads it runs (a garbage collection from
/// another thread cannot finalize it), and lets it go afterwards (no leak).
/// </summary>
public class ScalarsTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Made(double value) => new(Scalars.Of(value));

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void Of_KeepsTheScalarThroughACollection_ThenReleasesIt()
    {
        // A fresh thread starts with an empty ring, so the count below is exact.
        WeakReference? weak = null;
        var alive = new List<bool>();
        var thread = new Thread(() =>
        {
            weak = Made(2.5);
            Collect();
            alive.Add(weak.IsAlive); // held by the ring although nothing else refers to it
            for (var i = 0; i < Scalars.RingSize - 2; i++) _ = Scalars.Of((long)i);
            Collect();
            alive.Add(weak.IsAlive); // still among the last RingSize made
            _ = Scalars.Of(0L);
            _ = Scalars.Of(1L);
            Collect();
            alive.Add(weak.IsAlive); // pushed out of the ring: finalized like any other scalar
        });
        thread.Start();
        thread.Join();
        Assert.Equal([true, true, false], alive);
    }

    [Fact]
    public void Of_GivesTheTypesTheImplicitConversionsGave()
    {
        Assert.Equal(ScalarType.Int64, Scalars.Of(3L).Type);
        Assert.Equal(ScalarType.Float64, Scalars.Of(0.5).Type);
        using var x = Scalars.Arange(4);
        Assert.Equal(ScalarType.Int64, x.dtype);
        Assert.Equal([0L, 1, 2, 3], x.data<long>().ToArray());
        using var y = ones(3) / Scalars.Of(4L); // true division, as tensor / 4 was
        Assert.Equal(0.25f, y[0].item<float>());
    }
}
