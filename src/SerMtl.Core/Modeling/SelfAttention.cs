using SerMtl.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>
/// HF <c>attention</c>: multi-head self-attention with separate <c>q_proj</c>/<c>k_proj</c>/<c>v_proj</c>/<c>out_proj</c>
/// (as the checkpoints store them), computed in one batched <c>scaled_dot_product_attention</c> call over all heads.
/// In WavLM every layer also adds a relative position bias to the scores, gated per head and query by its input
/// (<c>gru_rel_pos_linear</c>, <c>gru_rel_pos_const</c>); the first layer holds the bias table itself
/// (<c>rel_attn_embed</c>), which the encoder looks up once per forward pass (<see cref="PositionBias"/>) and hands to
/// every layer.
/// </summary>
internal sealed class SelfAttention : nn.Module<Tensor, Tensor?, Tensor?, Tensor>
{
    [ComponentName(Name = "q_proj")]
    private readonly Linear _qProj;

    [ComponentName(Name = "k_proj")]
    private readonly Linear _kProj;

    [ComponentName(Name = "v_proj")]
    private readonly Linear _vProj;

    [ComponentName(Name = "out_proj")]
    private readonly Linear _outProj;

    // WavLM only: the gate of the relative position bias, [8, head_dim] and [1, heads, 1, 1].
    [ComponentName(Name = "gru_rel_pos_linear")]
    private readonly Linear? _gateLinear;

    [ComponentName(Name = "gru_rel_pos_const")]
    private readonly Parameter? _gateConst;

    // WavLM's first layer only: the bias of each relative position bucket for each head, [buckets, heads].
    [ComponentName(Name = "rel_attn_embed")]
    private readonly Embedding? _relativeEmbedding;

    private readonly long _heads;
    private readonly double _dropout;
    private readonly int _buckets;
    private readonly int _bucketDistance;

    public SelfAttention(Wav2Vec2Config config, bool holdsPositionTable = false) : base(nameof(SelfAttention))
    {
        var h = config.HiddenSize;
        _qProj = nn.Linear(h, h);
        _kProj = nn.Linear(h, h);
        _vProj = nn.Linear(h, h);
        _outProj = nn.Linear(h, h);
        _heads = config.NumAttentionHeads;
        _dropout = config.AttentionDropout;
        if (config.IsWavLM)
        {
            _gateLinear = nn.Linear(h / config.NumAttentionHeads, 8);
            _gateConst = new Parameter(ones(1, config.NumAttentionHeads, 1, 1));
            if (holdsPositionTable) _relativeEmbedding = nn.Embedding(config.RelativeBuckets, config.NumAttentionHeads);
            _buckets = config.RelativeBuckets;
            _bucketDistance = config.RelativeBucketDistance;
        }
        RegisterComponents();
    }

    /// <summary>
    /// x: [B, T, H]; attendable: [B, 1, 1, T] bool (true on valid keys) or null when nothing is padded; positionBias:
    /// [heads, T, T] from <see cref="PositionBias"/> in WavLM, else null.
    /// </summary>
    public override Tensor forward(Tensor x, Tensor? attendable, Tensor? positionBias)
    {
        using var scope = NewDisposeScope();
        var (b, t, h) = (x.shape[0], x.shape[1], x.shape[2]);
        var headDim = h / _heads;
        Tensor Heads(Linear proj) => FastLinear.Apply(x, proj.weight!, proj.bias).view(b, t, _heads, headDim).transpose(1, 2); // [B, nH, T, d]
        var (q, k, v) = (Heads(_qProj), Heads(_kProj), Heads(_vProj));
        Tensor? bias = null;
        if (positionBias is not null) bias = GatedBias(x, positionBias, b, t, headDim); // [B, nH, T, T]
        // SDPA scales by 1/sqrt(d), as HF scales the queries.
        var context = Attention.ScaledDotProduct(q, k, v, attendable, bias, training ? _dropout : 0.0, training); // [B, nH, T, d]
        return FastLinear.Apply(context.transpose(1, 2).reshape(b, t, h), _outProj.weight!, _outProj.bias).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// WavLM's gate: per head and query, the input's head slice through <c>gru_rel_pos_linear</c> to 8 values summed in
    /// two groups of 4, a = σ(first), b = σ(second), gate = a·(b·<c>gru_rel_pos_const</c> − 1) + 2, which scales the
    /// query's row of the bias.
    /// </summary>
    private Tensor GatedBias(Tensor x, Tensor positionBias, long b, long t, long headDim)
    {
        if (_gateLinear is null || _gateConst is null)
            throw new InvalidOperationException("a position bias was given to an attention layer without WavLM's gate");
        var perHead = x.view(b, t, _heads, headDim).transpose(1, 2);                           // [B, nH, T, d]
        var projected = FastLinear.Apply(perHead, _gateLinear.weight!, _gateLinear.bias);      // [B, nH, T, 8]
        var gates = projected.view(b, _heads, t, 2, 4).sum(dim: -1).sigmoid();                 // [B, nH, T, 2]
        var (gateA, gateB) = (gates.narrow(-1, 0, 1), gates.narrow(-1, 1, 1));                 // [B, nH, T, 1] each
        var gate = gateA * (gateB * _gateConst.to(gates.dtype) - Scalars.Of(1.0)) + Scalars.Of(2.0);
        return gate * positionBias.to(gate.dtype);                                             // [B, nH, T, T]
    }

    /// <summary>
    /// WavLM's relative position bias [heads, T, T] for T frames: entry (h, i, j) is <c>rel_attn_embed</c>'s value for
    /// head h at the bucket of offset j − i (<see cref="RelativeBuckets"/>). Only the first layer holds the table.
    /// </summary>
    public Tensor PositionBias(long frames, Device device)
    {
        if (_relativeEmbedding is null)
            throw new InvalidOperationException("only WavLM's first attention layer holds the relative position table");
        using var scope = NewDisposeScope();
        var table = RelativeBuckets(frames, _buckets, _bucketDistance);                          // [2T - 1] for offsets -(T-1)..T-1
        var offsets = Scalars.Arange(frames).unsqueeze(0) - Scalars.Arange(frames).unsqueeze(1) + Scalars.Of(frames - 1); // [T, T]: j - i, shifted to >= 0
        var buckets = tensor(table).index_select(0, offsets.flatten()).view(frames, frames).to(device);
        return _relativeEmbedding.call(buckets).permute(2, 0, 1).MoveToOuterDisposeScope();      // [nH, T, T]
    }

    /// <summary>
    /// The bucket of every offset −(T−1)..T−1 (index = offset + T − 1), as WavLM defines them: half the buckets for
    /// positive offsets (key after query), half for the rest; within a half, offsets below a quarter of the buckets
    /// have one bucket each, larger ones share buckets logarithmically up to <paramref name="maxDistance"/>, and
    /// everything beyond falls in the last.
    /// </summary>
    internal static long[] RelativeBuckets(long frames, int buckets, int maxDistance)
    {
        var half = buckets / 2;
        var exact = half / 2;
        var scale = Math.Log((double)maxDistance / exact);
        var table = new long[2 * frames - 1];
        for (var i = 0; i < table.Length; i++)
        {
            var offset = i - (frames - 1);
            var distance = Math.Abs(offset);
            long bucket = distance < exact
                ? distance
                : Math.Min(exact + (long)(Math.Log((double)distance / exact) / scale * (half - exact)), half - 1);
            table[i] = (offset > 0 ? half : 0) + bucket;
        }
        return table;
    }

    public IEnumerable<Linear> Projections => [_qProj, _kProj, _vProj, _outProj];

    /// <summary>HF's initialisation of WavLM's extras: the gate's linear N(0, initializer_range) with zero bias, its constant 1, the table N(0, 1) (torch's default for an embedding).</summary>
    public void ResetRelativeParameters(double initializerRange)
    {
        using var _ = no_grad();
        if (_gateLinear is not null)
        {
            nn.init.normal_(_gateLinear.weight!, 0, initializerRange);
            _gateLinear.bias!.zero_();
        }
        _gateConst?.fill_(Scalars.Of(1L));
        if (_relativeEmbedding is not null) nn.init.normal_(_relativeEmbedding.weight!);
    }
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
