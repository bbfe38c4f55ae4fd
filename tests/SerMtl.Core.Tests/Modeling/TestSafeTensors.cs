using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace SerMtl.Tests.Modeling;

/// <summary>A minimal F32 safetensors writer for building test checkpoints (the library's writer lives in Checkpoints).</summary>
internal static class TestSafeTensors
{
    public static void WriteFloat32(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var header = new Dictionary<string, object>();
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            using var f = t.to(ScalarType.Float32).contiguous();
            var bytes = f.bytes.ToArray();
            header[name] = new { dtype = "F32", shape = t.shape, data_offsets = new[] { offset, offset + bytes.Length } };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((ulong)json.Length));
        stream.Write(json);
        foreach (var b in blobs) stream.Write(b);
    }
}
