namespace SerMtl.Cli.Reporting;

/// <summary>
/// CRC-32 as PNG (and zlib's gzip, Ethernet) define it: reflected polynomial 0xEDB88320, initial value and final
/// XOR 0xFFFFFFFF. A running state lets a chunk's type and data be hashed without concatenating them.
/// </summary>
internal static class Crc32
{
    /// <summary>The state before any byte.</summary>
    public const uint Start = 0xFFFFFFFFu;

    private static readonly uint[] Table = BuildTable();

    /// <summary>Feeds <paramref name="data"/> into a running state (start from <see cref="Start"/>).</summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
            state = Table[(state ^ b) & 0xFF] ^ (state >> 8);
        return state;
    }

    /// <summary>The checksum of everything fed into <paramref name="state"/>.</summary>
    public static uint Finish(uint state) => ~state;

    /// <summary>The checksum of one buffer.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Start, data));

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
