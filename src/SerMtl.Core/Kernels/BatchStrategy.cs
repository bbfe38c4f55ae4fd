using TorchSharp;
using static TorchSharp.torch;

namespace SerMtl.Kernels;

/// <summary>Whether a padded batch runs through the feature encoder at once or one utterance at a time.</summary>
internal static class BatchStrategy
{
    /// <summary>
    /// Elements of the first convolution's output up to which a CPU batch still runs at once (e.g. the demo's model).
    /// </summary>
    public const long PerUtteranceThreshold = 4L << 20;

    /// <summary>
    /// True when the feature encoder should run the utterances of <paramref name="waveforms"/> ([B, S])
    /// one at a time over their valid samples: on the CPU, for batches whose first layer output exceeds
    /// <see cref="PerUtteranceThreshold"/> elements. The feature encoder's activations are the model's largest tensors,
    /// and a whole batch at once multiplies them by B: the fresh memory then costs more in page faults than the
    /// convolutions (README, Performance), and the padding's convolutions are saved too. Other devices (CUDA) and small
    /// batches run at once; padded frames then hold whatever the convolutions make of the padding.
    /// </summary>
    public static bool FeatureEncoderPerUtterance(Tensor waveforms, long firstLayerElements) =>
        waveforms.shape[0] > 1 && waveforms.device_type == DeviceType.CPU && firstLayerElements > PerUtteranceThreshold;
}
