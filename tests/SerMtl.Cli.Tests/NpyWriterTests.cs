using SerMtl.Cli;

namespace SerMtl.Cli.Tests;

public class NpyWriterTests
{
    [Fact]
    public void WriteFloat32_Matrix_WritesAVersion1HeaderAlignedTo64BytesAndTheData()
    {
        using var stream = new MemoryStream();
        float[] data = [1f, -2.5f, 3f, 0f, float.MaxValue, -0f];
        NpyWriter.WriteFloat32(stream, data, 2, 3);
        var npy = NpyFile.Parse(stream.ToArray());
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", npy.Header.TrimEnd(' ', '\n'));
        Assert.Equal(0, npy.DataOffset % 64);
        Assert.Equal(new long[] { 2, 3 }, npy.Shape);
        Assert.Equal(data, npy.Data);
    }

    [Fact]
    public void Header_Vector_UsesTheOneElementTupleSpelling()
    {
        var header = System.Text.Encoding.ASCII.GetString(NpyWriter.Header([5]));
        Assert.Contains("'shape': (5,), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(0, header.Length % 64);
    }

    [Fact]
    public void WriteFloat32_ShapeNotMatchingData_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => NpyWriter.WriteFloat32(new MemoryStream(), new float[5], 2, 3));
        Assert.Contains("shape (2, 3) holds 6 elements, data has 5", e.Message);
    }
}
