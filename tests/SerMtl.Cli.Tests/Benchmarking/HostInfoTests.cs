using SerMtl.Cli.Benchmarking;

namespace SerMtl.Cli.Tests.Benchmarking;

public class HostInfoTests
{
    [Fact]
    public void PeakResidentMegabytes_IsPositiveBeforeAndAfterAReset()
    {
        Assert.True(HostInfo.PeakResidentMegabytes() > 1, $"peak RSS {HostInfo.PeakResidentMegabytes()} MB");
        // Linux lowers VmHWM to the current RSS; other systems cannot reset it. (Tests run in parallel, so the
        // value itself is not compared: other tests allocate meanwhile.)
        Assert.Equal(OperatingSystem.IsLinux(), HostInfo.ResetPeak());
        Assert.True(HostInfo.PeakResidentMegabytes() > 1, $"peak RSS after reset {HostInfo.PeakResidentMegabytes()} MB");
    }

    [Fact]
    public void Machine_NamesTheCpuCountAndLoadAverageHasThreeValuesOnLinux()
    {
        Assert.Contains($"{Environment.ProcessorCount} CPUs", HostInfo.Machine());
        if (OperatingSystem.IsLinux())
        {
            var load = HostInfo.LoadAverage();
            Assert.NotNull(load);
            Assert.Equal(3, load!.Length);
            Assert.All(load, v => Assert.True(v >= 0));
        }
    }
}
