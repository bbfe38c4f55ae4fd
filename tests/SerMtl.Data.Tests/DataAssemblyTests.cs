namespace SerMtl.Data.Tests;

public class DataAssemblyTests
{
    [Fact]
    public void DataAssembly_DoesNotReferenceTorchSharp()
    {
        var refs = typeof(SerMtl.Data.DataAssembly).Assembly.GetReferencedAssemblies().Select(a => a.Name);
        Assert.DoesNotContain("TorchSharp", refs);
    }
}
