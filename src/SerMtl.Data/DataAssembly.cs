namespace SerMtl.Data;

/// <summary>Marker for the SerMtl.Data assembly (audio front end, corpora, protocols, text). It has no native dependencies.</summary>
public static class DataAssembly
{
}
