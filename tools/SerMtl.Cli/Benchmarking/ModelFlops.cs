using SerMtl.Modeling;

namespace SerMtl.Cli.Benchmarking;

/// <summary>
/// Analytic floating-point operation counts of <see cref="SerMtlModel"/> for one utterance, one multiply-add counting
/// as 2 FLOPs. Only the matrix products are counted (convolutions, projections, attention scores and mixing, the
/// heads); norms, activations, softmax and the like add well under 1 % for wav2vec2-base and are left out.
/// With T_l the frames after feature-encoder layer l and T the encoder frames:
/// <list type="bullet">
/// <item>feature encoder: Σ_l 2 · C_out,l · C_in,l · K_l · T_l;</item>
/// <item>feature projection: 2 · T · C · H;</item>
/// <item>positional convolution: 2 · H · (H / G) · K · T' (T' = T + 1 for an even kernel, whose extra frame is computed then dropped);</item>
/// <item>each transformer layer: q/k/v/out projections 8 · T · H², attention scores and mixing 4 · T² · H, feed-forward 4 · T · H · I;</item>
/// <item>heads: CTC 2 · T · H · V, emotion 2 · H · classes.</item>
/// </list>
/// wav2vec2-base on 5 s at 16 kHz (80 000 samples, T = 249): 24.5 GFLOP in the feature encoder, 44.6 in the
/// transformer layers, 2.6 elsewhere: about 71.7 GFLOP. A training step costs about 3× the forward pass (the
/// backward pass computes two products per forward product: input and weight gradients).
/// </summary>
internal static class ModelFlops
{
    /// <summary>FLOPs of one forward pass over <paramref name="samples"/> samples.</summary>
    public static double Forward(Wav2Vec2Config config, long samples, int vocabularySize, int classCount) =>
        FeatureEncoder(config, samples) + AfterFeatureEncoder(config, samples, vocabularySize, classCount);

    /// <summary>FLOPs of the convolutional feature encoder alone.</summary>
    public static double FeatureEncoder(Wav2Vec2Config config, long samples)
    {
        ArgumentNullException.ThrowIfNull(config);
        double flops = 0;
        long inChannels = 1, length = samples;
        for (var l = 0; l < config.ConvDim.Count; l++)
        {
            length = Math.Max(0, (length - config.ConvKernel[l]) / config.ConvStride[l] + 1);
            flops += 2.0 * config.ConvDim[l] * inChannels * config.ConvKernel[l] * length;
            inChannels = config.ConvDim[l];
        }
        return flops;
    }

    /// <summary>
    /// FLOPs of one training step: forward plus a backward pass of twice the forward products, except that a frozen
    /// feature encoder has no backward pass.
    /// </summary>
    public static double TrainingStep(Wav2Vec2Config config, long samples, int vocabularySize, int classCount, bool featureEncoderFrozen)
    {
        var encoder = FeatureEncoder(config, samples);
        var rest = AfterFeatureEncoder(config, samples, vocabularySize, classCount);
        return 3 * rest + (featureEncoderFrozen ? encoder : 3 * encoder);
    }

    private static double AfterFeatureEncoder(Wav2Vec2Config config, long samples, int vocabularySize, int classCount)
    {
        double t = config.OutputLength(samples);
        double h = config.HiddenSize;
        double c = config.ConvDim[^1];
        double k = config.NumConvPosEmbeddings;
        var posFrames = t + (config.NumConvPosEmbeddings % 2 == 0 ? 1 : 0);
        var projection = 2 * t * c * h;
        var positional = 2 * h * (h / config.NumConvPosEmbeddingGroups) * k * posFrames;
        var layer = 8 * t * h * h + 4 * t * t * h + 4 * t * h * config.IntermediateSize;
        var heads = 2 * t * h * vocabularySize + 2 * h * classCount;
        return projection + positional + config.NumHiddenLayers * layer + heads;
    }
}
