using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>What <see cref="Wav2Vec2Model"/> computes for a batch. Frames at or past an utterance's <see cref="FrameLengths"/> are padding.</summary>
public sealed class Wav2Vec2Output : IDisposable
{
    internal Wav2Vec2Output(Tensor lastHiddenState, Tensor extractFeatures, Tensor frameLengths, IReadOnlyList<Tensor>? hiddenStates = null)
    {
        LastHiddenState = lastHiddenState;
        ExtractFeatures = extractFeatures;
        FrameLengths = frameLengths;
        HiddenStates = hiddenStates;
    }

    /// <summary>
    /// HF's <c>hidden_states</c> when <see cref="Wav2Vec2Model.OutputHiddenStates"/> is set, else null:
    /// num_hidden_layers + 1 tensors [B, T, H], the input of each transformer layer and then the last hidden state.
    /// </summary>
    public IReadOnlyList<Tensor>? HiddenStates { get; }

    /// <summary>The transformer output [B, T, H].</summary>
    public Tensor LastHiddenState { get; }

    /// <summary>
    /// The convolutional feature encoder's output [B, T, C] (C = <c>conv_dim[-1]</c>), before the feature projection's
    /// layer norm (torchaudio's feature-extractor output; HF's <c>extract_features</c> is this after that layer norm).
    /// </summary>
    public Tensor ExtractFeatures { get; }

    /// <summary>Valid frames per utterance [B] int64, from the valid samples by the convolution length formula.</summary>
    public Tensor FrameLengths { get; }

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        LastHiddenState.Dispose();
        ExtractFeatures.Dispose();
        FrameLengths.Dispose();
        if (HiddenStates is not null)
            foreach (var state in HiddenStates) state.Dispose();
    }
}
