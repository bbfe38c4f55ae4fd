using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// HF <c>attention</c>: multi-head self-attention with separate <c>q_proj</c>/<c>k_proj</c>/<c>v_proj</c>/<c>out_proj</c>
/// (as the checkpoints store them), computed in one batched <c>scaled_dot_product_attention</c> call over all heads.
/// </summary>
internal sealed class SelfAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    [ComponentName(Name = "q_proj")]
    private readonly Linear _qProj;

    [ComponentName(Name = "k_proj")]
    private readonly Linear _kProj;

    [ComponentName(Name = "v_proj")]
    private readonly Linear _vProj;

    [ComponentName(Name = "out_proj")]
    private readonly Linear _outProj;

    private readonly long _heads;
    private readonly double _dropout;

    public SelfAttention(Wav2Vec2Config config) : base(nameof(SelfAttention))
    {
        var h = config.HiddenSize;
        _qProj = nn.Linear(h, h);
        _kProj = nn.Linear(h, h);
        _vProj = nn.Linear(h, h);
        _outProj = nn.Linear(h, h);
        _heads = config.NumAttentionHeads;
        _dropout = config.AttentionDropout;
        RegisterComponents();
    }

    /// <summary>x: [B, T, H]; attendable: [B, 1, 1, T] bool (true on valid keys) or null when nothing is padded.</summary>
    public override Tensor forward(Tensor x, Tensor? attendable)
    {
        using var scope = NewDisposeScope();
        var (b, t, h) = (x.shape[0], x.shape[1], x.shape[2]);
        var headDim = h / _heads;
        Tensor Heads(Linear proj) => FastLinear.Apply(x, proj.weight!, proj.bias).view(b, t, _heads, headDim).transpose(1, 2); // [B, nH, T, d]
        var (q, k, v) = (Heads(_qProj), Heads(_kProj), Heads(_vProj));
        // SDPA scales by 1/sqrt(d), as HF scales the queries.
        var context = Attention.ScaledDotProduct(q, k, v, attendable, training ? _dropout : 0.0, training); // [B, nH, T, d]
        return FastLinear.Apply(context.transpose(1, 2).reshape(b, t, h), _outProj.weight!, _outProj.bias).MoveToOuterDisposeScope();
    }

    public IEnumerable<Linear> Projections => [_qProj, _kProj, _vProj, _outProj];
}

/// <summary>HF <c>feed_forward</c>: <c>intermediate_dense</c>, activation, dropout, <c>output_dense</c>, dropout.</summary>
internal sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "intermediate_dense")]
    private readonly Linear _intermediateDense;

    [ComponentName(Name = "output_dense")]
    private readonly Linear _outputDense;

    private readonly Activation _activation;
    private readonly double _activationDropout;
    private readonly double _hiddenDropout;

    public FeedForward(Wav2Vec2Config config) : base(nameof(FeedForward))
    {
        _intermediateDense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        _outputDense = nn.Linear(config.IntermediateSize, config.HiddenSize);
        _activation = config.HiddenAct;
        _activationDropout = config.ActivationDropout;
        _hiddenDropout = config.HiddenDropout;
        RegisterComponents();
    }

    /// <summary>[B, T, H] -> [B, T, H].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = _activation.ApplyToOwned(FastLinear.Apply(x, _intermediateDense.weight!, _intermediateDense.bias)); // [B, T, I]
        y = nn.functional.dropout(y, _activationDropout, training);
        y = nn.functional.dropout(FastLinear.Apply(y, _outputDense.weight!, _outputDense.bias), _hiddenDropout, training);
        return y.MoveToOuterDisposeScope();
    }

    public IEnumerable<Linear> Projections => [_intermediateDense, _outputDense];
}
