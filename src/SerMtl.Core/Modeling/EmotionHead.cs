using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// The emotion classification head: pooling of the hidden states over each utterance's valid frames
/// (<see cref="Modeling.Pooling"/>), dropout, then a linear map to the C emotion classes. Its own parameters are
/// <c>weight</c> [C, H] and <c>bias</c> [C]; the parent chooses the prefix it is saved under.
/// </summary>
/// <remarks>
/// Each utterance is pooled from the slice of its valid frames only, so padded frames are never read: whatever
/// they hold — even NaN or infinity — never changes a pooled vector, bit for bit.
/// </remarks>
public sealed class EmotionHead : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    [ComponentName(Name = "weight")]
    private readonly Parameter _weight; // [C, H]

    [ComponentName(Name = "bias")]
    private readonly Parameter _bias; // [C]

    /// <summary>A freshly initialised head (weights ~ N(0, <paramref name="initializerRange"/>²), bias 0).</summary>
    /// <param name="hiddenSize">Size H of the backbone's hidden states.</param>
    /// <param name="classCount">Number C of emotion classes.</param>
    /// <param name="pooling">Sum (the paper; default) or mean over valid frames.</param>
    /// <param name="dropout">Dropout probability on the pooled vector before the projection.</param>
    /// <param name="initializerRange">Standard deviation of the initial weights (HF's <c>initializer_range</c>).</param>
    public EmotionHead(int hiddenSize, int classCount, Pooling pooling = Pooling.Sum, double dropout = 0.1, double initializerRange = 0.02)
        : base(nameof(EmotionHead))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        if (!Enum.IsDefined(pooling)) throw new ArgumentOutOfRangeException(nameof(pooling), pooling, "unknown pooling");
        (_dropout, _weight, _bias) = HeadProjection.Create(hiddenSize, classCount, dropout, initializerRange);
        HiddenSize = hiddenSize;
        ClassCount = classCount;
        Pooling = pooling;
        RegisterComponents();
    }

    /// <summary>Hidden size H the head expects.</summary>
    public int HiddenSize { get; }

    /// <summary>Number C of emotion classes.</summary>
    public int ClassCount { get; }

    /// <summary>The pooling over frames.</summary>
    public Pooling Pooling { get; }

    /// <summary>Pools hidden states over each utterance's valid frames (no dropout, no projection).</summary>
    /// <param name="hidden">Hidden states [B, T, H]; frames at or beyond an utterance's length are padding.</param>
    /// <param name="frameLengths">Valid frames per utterance [B], integer, each in [0, T].</param>
    /// <returns>Utterance vectors [B, H]; an utterance with no valid frame pools to zeros.</returns>
    /// <exception cref="ArgumentException">Shapes disagree, or a length is outside [0, T].</exception>
    public Tensor Pool(Tensor hidden, Tensor frameLengths)
    {
        var lengths = CheckInputs(hidden, frameLengths);
        using var scope = NewDisposeScope();
        var rows = new Tensor[lengths.Length];
        for (var b = 0; b < lengths.Length; b++)
        {
            // Reduce exactly the valid slice [len, H]: the same elements in the same order as the utterance
            // alone, so padding cannot change the result, not even by rounding.
            rows[b] = lengths[b] == 0
                ? zeros(HiddenSize, hidden.dtype, hidden.device)
                : hidden[b].narrow(0, 0, lengths[b]).sum(dim: 0);     // [H]; a bare 0 would bind to sum(ScalarType?)
            if (Pooling == Pooling.Mean && lengths[b] > 0) rows[b] = rows[b] / Scalars.Of(lengths[b]);
        }
        return stack(rows).MoveToOuterDisposeScope();               // [B, H]
    }

    /// <summary>Emotion logits for a batch.</summary>
    /// <param name="hidden">Hidden states [B, T, H].</param>
    /// <param name="frameLengths">Valid frames per utterance [B] (the backbone's frame lengths).</param>
    /// <returns>Logits [B, C] (no softmax).</returns>
    public override Tensor forward(Tensor hidden, Tensor frameLengths)
    {
        using var scope = NewDisposeScope();
        var pooled = Pool(hidden, frameLengths);                                        // [B, H]
        return nn.functional.linear(_dropout.call(pooled), _weight, _bias).MoveToOuterDisposeScope(); // [B, C]
    }

    // Validates shapes and returns the lengths on the host (B numbers; the per-utterance slices need them).
    private long[] CheckInputs(Tensor hidden, Tensor frameLengths)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(frameLengths);
        if (hidden.dim() != 3 || hidden.shape[2] != HiddenSize)
            throw new ArgumentException($"expected hidden states [B, T, {HiddenSize}], got [{string.Join(", ", hidden.shape)}]", nameof(hidden));
        if (frameLengths.dim() != 1 || frameLengths.shape[0] != hidden.shape[0])
            throw new ArgumentException($"expected frame lengths [{hidden.shape[0]}], got [{string.Join(", ", frameLengths.shape)}]", nameof(frameLengths));
        if (frameLengths.is_floating_point() || frameLengths.is_complex() || frameLengths.dtype == ScalarType.Bool)
            throw new ArgumentException($"expected integer frame lengths, got {frameLengths.dtype}", nameof(frameLengths));
        long[] lengths;
        using (var onHost = frameLengths.to(ScalarType.Int64).cpu()) lengths = onHost.data<long>().ToArray();
        var frames = hidden.shape[1];
        if (lengths.Any(l => l < 0 || l > frames))
            throw new ArgumentException(
                $"frame lengths [{string.Join(", ", lengths)}] must lie in [0, {frames}] (the hidden states' T)", nameof(frameLengths));
        return lengths;
    }
}
