using Microsoft.ML.OnnxRuntime;

namespace SerMtl.Inference;

/// <summary>Opening a SerMtl export in ONNX Runtime, shared by <see cref="OnnxEmotionRecognizer"/> and <see cref="OnnxSpeechEncoder"/>.</summary>
internal static class OnnxModelFile
{
    /// <summary>
    /// A session on <paramref name="onnxPath"/> with the options' threads, device and prepacking, and the model
    /// description from its metadata (not yet checked against what the caller runs). The caller owns the session.
    /// </summary>
    public static (InferenceSession Session, RecognizerModelInfo Info, bool Quantized) Open(string onnxPath, OnnxRecognizerOptions options)
    {
        var cuda = EmotionRecognizerBase.CheckEngineSettings(options.Threads, options.Device);
        if (!File.Exists(onnxPath))
            throw new FileNotFoundException($"{onnxPath}: model file not found", onnxPath);

        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (options.Threads is int threads) sessionOptions.IntraOpNumThreads = threads;
        if (!options.PrepackWeights) sessionOptions.AddSessionConfigEntry("session.disable_prepacking", "1");
        if (cuda is int device)
        {
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(device);
            }
            catch (EntryPointNotFoundException e)
            {
                throw new InvalidOperationException(
                    $"device '{options.Device}' was requested but the ONNX Runtime library loaded is the CPU build: the app needs "
                    + "Microsoft.ML.OnnxRuntime.Gpu (or .Gpu.Linux / .Gpu.Windows) and Microsoft.ML.OnnxRuntime with ExcludeAssets=\"native\"; or use the CPU", e);
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidOperationException(
                    $"device '{options.Device}' was requested but ONNX Runtime's CUDA provider cannot be loaded ({e.Message.Trim()}): it needs the CUDA "
                    + "and cuDNN libraries its ONNX Runtime release was built for (1.32 loads libcublasLt.so.13, CUDA 13), an NVIDIA GPU and driver; or use the CPU", e);
            }
        }
        InferenceSession session;
        try
        {
            session = new InferenceSession(onnxPath, sessionOptions);
        }
        catch (OnnxRuntimeException e) when (cuda is not null && e.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"device '{options.Device}': ONNX Runtime's CUDA provider failed for {onnxPath} ({e.Message.Trim()})", e);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{onnxPath}: ONNX Runtime cannot load it ({e.Message})", e);
        }
        try
        {
            var metadata = session.ModelMetadata.CustomMetadataMap;
            if (!metadata.TryGetValue(RecognizerModelInfo.MetadataKey, out var json))
                throw new InvalidDataException($"{onnxPath}: not a SerMtl export (no '{RecognizerModelInfo.MetadataKey}' metadata with the labels and preprocessing); export the model with 'sermtl export --onnx'");
            var info = RecognizerModelInfo.FromJson(json, onnxPath);
            return (session, info, metadata.TryGetValue("sermtl.precision", out var precision) && precision == "int8");
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The best token of each of the first <paramref name="frames"/> frames of CTC logits [T, V].</summary>
    public static long[] BestTokens(ReadOnlySpan<float> logits, int frames, int vocabulary)
    {
        var ids = new long[frames];
        for (var t = 0; t < ids.Length; t++)
        {
            var row = logits.Slice(t * vocabulary, vocabulary);
            var best = 0;
            for (var v = 1; v < row.Length; v++)
                if (row[v] > row[best]) best = v;
            ids[t] = best;
        }
        return ids;
    }
}
