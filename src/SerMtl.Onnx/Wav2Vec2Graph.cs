using SerMtl.Modeling;
using DataType = SerMtl.Onnx.Format.Tensor.Types.DataType;

namespace SerMtl.Onnx;

/// <summary>What the backbone's part of the graph gives the heads.</summary>
/// <param name="Hidden">The last hidden state [B, T, H].</param>
/// <param name="States">HF's <c>hidden_states</c> (every layer's input, then the last state) when asked for, else empty.</param>
/// <param name="FrameLengths">Valid frames per utterance [B] int64.</param>
/// <param name="ValidFrames">[B, T, 1] bool, true on valid frames.</param>
internal sealed record BackboneOutputs(string Hidden, IReadOnlyList<string> States, string FrameLengths, string ValidFrames);

/// <summary>
/// Writes a wav2vec 2.0 / HuBERT / WavLM backbone into an <see cref="OnnxGraph"/> with the masking semantics of
/// <see cref="Wav2Vec2Model"/>: every utterance of a padded batch gets what it gets alone (the first layer's group norm
/// takes its statistics over valid frames, padded frames are zeroed before the positional convolution, padded keys are
/// masked in attention).
/// </summary>
/// <param name="graph">The graph to write into.</param>
/// <param name="weights">The backbone's state dict (HF keys without a task prefix).</param>
/// <param name="config">The architecture.</param>
/// <param name="quantize">Write the transformer's linear layers with int8 weights (dynamic quantization of their inputs).</param>
internal sealed class Wav2Vec2Graph(OnnxGraph graph, Weights weights, Wav2Vec2Config config, bool quantize)
{
    private const float NormEps = 1e-5f;

    /// <summary>
    /// Weights are quantized to 7 bits (±63 · scale, per output channel): x86 CPUs without VNNI multiply uint8 × int8 pairs
    /// into saturating int16 sums, which 8-bit weights can overflow (255 · 127 · 2 &gt; 32767) and 7-bit ones cannot.
    /// </summary>
    private const int QuantMax = 63;

    private readonly OnnxGraph _g = graph;

    public BackboneOutputs Write(string waveforms, string lengths, bool keepStates)
    {
        var (features, frameLengths) = FeatureEncoder(waveforms, lengths);           // [B, C, T], [B]
        var extract = _g.Transpose(features, 0, 2, 1);                                // [B, T, C]
        var hidden = LayerNorm(extract, "feature_projection.layer_norm", config.LayerNormEps);
        hidden = Linear(hidden, "feature_projection.projection", quantizable: false);   // [B, T, H]

        var valid = ValidFrames(hidden, frameLengths);                                // [B, T] bool
        var valid3 = _g.Unsqueeze(valid, 2);                                          // [B, T, 1]
        // Padded frames are zeroed so the positional convolution sees what it sees past the end of a lone utterance.
        hidden = _g.Op("Where", [valid3, hidden, _g.FloatScalar(0f)]);
        hidden = _g.Add(hidden, PositionalConvolution(hidden));
        var input = config.DoStableLayerNorm ? Plain(hidden) : Normed(hidden, "encoder.layer_norm");

        // Key padding mask for every head and query: 0 on valid keys, -inf on padded ones.
        var keyMask = _g.Op("Where", [_g.Unsqueeze(valid, 1, 2), _g.FloatScalar(0f), _g.FloatScalar(float.NegativeInfinity)]); // [B, 1, 1, T]
        var positionBias = config.IsWavLM && config.NumHiddenLayers > 0 ? RelativePositionBias(hidden) : null;       // [1, nH, T, T]
        var states = new List<string>();
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            if (keepStates) states.Add(input.Value);
            input = EncoderLayer(input, $"encoder.layers.{i}", keyMask, positionBias);
        }
        hidden = input.Value;
        if (config.DoStableLayerNorm) hidden = LayerNorm(hidden, "encoder.layer_norm", config.LayerNormEps);
        if (keepStates) states.Add(hidden);
        return new BackboneOutputs(hidden, states, frameLengths, valid3);
    }

    /// <summary>The convolutions, their norms and activations; frame lengths follow floor((L - k) / s) + 1 per layer.</summary>
    private (string Features, string FrameLengths) FeatureEncoder(string waveforms, string lengths)
    {
        var x = _g.Unsqueeze(waveforms, 1);                                           // [B, 1, S]
        var frameLengths = lengths;
        for (var i = 0; i < config.ConvDim.Count; i++)
        {
            var prefix = $"feature_extractor.conv_layers.{i}";
            var (kernel, stride) = (config.ConvKernel[i], config.ConvStride[i]);
            var w = Weight($"{prefix}.conv.weight");
            var inputs = new List<string> { x, w };
            if (config.ConvBias) inputs.Add(Weight($"{prefix}.conv.bias"));
            x = _g.Op("Conv", inputs, ("kernel_shape", new long[] { kernel }), ("strides", new long[] { stride }));
            frameLengths = _g.Op("Max", [_g.Add(_g.Div(_g.Sub(frameLengths, _g.Int64Scalar(kernel)), _g.Int64Scalar(stride)), _g.Int64Scalar(1)), _g.Int64Scalar(0)]);
            if (config.FeatExtractNorm == FeatureNorm.Layer)
                x = _g.Transpose(LayerNorm(_g.Transpose(x, 0, 2, 1), $"{prefix}.layer_norm", NormEps), 0, 2, 1);
            else if (i == 0)
                x = MaskedGroupNorm(x, frameLengths, $"{prefix}.layer_norm");
            x = Activate(x, config.FeatExtractActivation);
        }
        return (x, frameLengths);
    }

    /// <summary>
    /// GroupNorm with one group per channel, statistics over each utterance's valid frames (as <c>MaskedGroupNorm</c>):
    /// sums are products with the frame mask, two passes (mean, then the centred squares), population variance.
    /// </summary>
    private string MaskedGroupNorm(string x, string frameLengths, string prefix)
    {
        var mask = _g.Cast(_g.Unsqueeze(ValidFrames(_g.Transpose(x, 0, 2, 1), frameLengths), 2), DataType.Float); // [B, T, 1]
        var count = _g.Reshape(_g.Cast(frameLengths, DataType.Float), -1, 1, 1);                                      // [B, 1, 1]
        var mean = _g.Div(_g.MatMul(x, mask), count);                                                                  // [B, C, 1]
        var centred = _g.Sub(x, mean);                                                                                 // [B, C, T]
        var variance = _g.Div(_g.MatMul(_g.Mul(centred, centred), mask), count);                                       // [B, C, 1]
        var (weight, channels) = Vector($"{prefix}.weight");
        var scale = _g.Mul(_g.Op("Reciprocal", [_g.Op("Sqrt", [_g.Add(variance, _g.FloatScalar(NormEps))])]), _g.Reshape(weight, channels, 1)); // [B, C, 1]
        return _g.Add(_g.Mul(centred, scale), _g.Reshape(Vector($"{prefix}.bias").Name, channels, 1));
    }

    /// <summary>[B, T] bool: frame index &lt; the utterance's frame length, T read from <paramref name="framesAlongAxis1"/> [B, T, ...].</summary>
    private string ValidFrames(string framesAlongAxis1, string frameLengths)
    {
        var frames = _g.Op("Squeeze", [_g.Dim(framesAlongAxis1, 1)]);                                                  // scalar T
        var index = _g.Op("Range", [_g.Int64Scalar(0), frames, _g.Int64Scalar(1)]);                                   // [T]
        return _g.Op("Less", [_g.Unsqueeze(index, 0), _g.Unsqueeze(frameLengths, 1)]);                                 // [B, T]
    }

    /// <summary>The weight-normalised grouped convolution over time, trimmed to T frames, activated; [B, T, H] -> [B, T, H].</summary>
    private string PositionalConvolution(string hidden)
    {
        const string prefix = "encoder.pos_conv_embed.conv";
        var (g, _) = weights.ReadDouble($"{prefix}.weight_g");       // [1, 1, K]
        var (v, shape) = weights.ReadDouble($"{prefix}.weight_v");   // [C_out, C_in / groups, K]
        var kernel = shape[2];
        var rows = v.Length / kernel;
        var norms = new double[kernel];
        for (var r = 0L; r < rows; r++)
            for (var k = 0L; k < kernel; k++)
                norms[k] += v[r * kernel + k] * v[r * kernel + k];
        var effective = new float[v.Length];
        for (var r = 0L; r < rows; r++)
            for (var k = 0L; k < kernel; k++)
                effective[r * kernel + k] = (float)(v[r * kernel + k] * g[k] / Math.Sqrt(norms[k]));
        var weight = _g.Weight(prefix + ".weight", effective, shape);
        var pad = kernel / 2;
        var y = _g.Op("Conv", [_g.Transpose(hidden, 0, 2, 1), weight, Weight($"{prefix}.bias")],
            ("kernel_shape", new long[] { kernel }), ("pads", new long[] { pad, pad }), ("group", (long)config.NumConvPosEmbeddingGroups)); // [B, H, T (+1)]
        if (kernel % 2 == 0)
            y = _g.Op("Slice", [y, _g.Int64s(0), _g.Dim(hidden, 1), _g.Int64s(2)]);
        return _g.Transpose(Activate(y, config.FeatExtractActivation), 0, 2, 1);
    }

    /// <summary>
    /// One transformer layer. Its input is a <see cref="LayerInput"/>: in post-LN models the previous layer norm's
    /// output, kept as the normalised value and the norm's affine so that int8 linear layers fed by it can fold the
    /// affine into their weights.
    /// </summary>
    private LayerInput EncoderLayer(LayerInput x, string prefix, string keyMask, string? positionBias)
    {
        if (config.DoStableLayerNorm)
        {
            var y = _g.Add(x.Value, Attention(Normed(x.Value, $"{prefix}.layer_norm"), $"{prefix}.attention", keyMask, positionBias));
            return Plain(_g.Add(y, FeedForward(Normed(y, $"{prefix}.final_layer_norm"), $"{prefix}.feed_forward")));
        }
        var z = Normed(_g.Add(x.Value, Attention(x, $"{prefix}.attention", keyMask, positionBias)), $"{prefix}.layer_norm");
        return Normed(_g.Add(z.Value, FeedForward(z, $"{prefix}.feed_forward")), $"{prefix}.final_layer_norm");
    }

    /// <summary>
    /// A tensor [B, T, H] a linear layer reads: <see cref="Value"/> itself, and for a layer norm's output under int8 also
    /// <see cref="Normalized"/> (the norm without its affine) and the norm's key <see cref="NormPrefix"/>.
    /// </summary>
    private sealed record LayerInput(string Value, string? Normalized = null, string? NormPrefix = null);

    private static LayerInput Plain(string x) => new(x);

    /// <summary>
    /// LayerNorm <paramref name="prefix"/> of <paramref name="x"/>. Under int8 it is written as the normalisation (unit
    /// scale, zero shift) followed by the affine, so quantized layers can read the normalised value, whose channels have
    /// no outliers, and take γ and β into their weights and bias (data-free smoothing of the channels).
    /// </summary>
    private LayerInput Normed(string x, string prefix)
    {
        if (!quantize) return Plain(LayerNorm(x, prefix, config.LayerNormEps));
        var size = (long)config.HiddenSize;
        var normalized = _g.Op("LayerNormalization", [x, Ones(size), Zeros(size)], ("axis", -1L), ("epsilon", (float)config.LayerNormEps));
        var value = _g.Add(_g.Mul(normalized, Weight($"{prefix}.weight")), Weight($"{prefix}.bias"));
        return new LayerInput(value, normalized, prefix);
    }

    private string Ones(long size) => _ones ??= _g.Weight("layer_norm.unit_scale", Enumerable.Repeat(1f, (int)size).ToArray(), size);

    private string Zeros(long size) => _zeros ??= _g.Weight("layer_norm.zero_shift", new float[size], size);

    private string? _ones;
    private string? _zeros;

    /// <summary>
    /// Multi-head self-attention: one MatMul for q, k and v (the 1/sqrt(d) scaling folded into q's weights), scores
    /// plus the key mask (and WavLM's gated bias), softmax, context, output projection.
    /// </summary>
    private string Attention(LayerInput input, string prefix, string keyMask, string? positionBias)
    {
        var x = input.Value;
        var h = (long)config.HiddenSize;
        var heads = (long)config.NumAttentionHeads;
        var d = h / heads;
        var scaling = (float)(1.0 / Math.Sqrt(d));
        var (wq, _) = weights.Read($"{prefix}.q_proj.weight");
        var (bq, _) = weights.Read($"{prefix}.q_proj.bias");
        for (var i = 0; i < wq.Length; i++) wq[i] *= scaling;
        for (var i = 0; i < bq.Length; i++) bq[i] *= scaling;
        var (wk, _) = weights.Read($"{prefix}.k_proj.weight");
        var (bk, _) = weights.Read($"{prefix}.k_proj.bias");
        var (wv, _) = weights.Read($"{prefix}.v_proj.weight");
        var (bv, _) = weights.Read($"{prefix}.v_proj.bias");
        var qkv = LinearFrom(input, $"{prefix}.qkv_proj", [.. wq, .. wk, .. wv], [.. bq, .. bk, .. bv], 3 * h, h, quantizable: true); // [B, T, 3H]
        var parts = _g.OpN("Split", [qkv, _g.Int64s(h, h, h)], 3, ("axis", 2L));
        var q = _g.Transpose(_g.Reshape(parts[0], 0, 0, heads, d), 0, 2, 1, 3);   // [B, nH, T, d]
        var k = _g.Transpose(_g.Reshape(parts[1], 0, 0, heads, d), 0, 2, 3, 1);   // [B, nH, d, T]
        var v = _g.Transpose(_g.Reshape(parts[2], 0, 0, heads, d), 0, 2, 1, 3);   // [B, nH, T, d]
        var scores = _g.Add(_g.MatMul(q, k), keyMask);                             // [B, nH, T, T]
        if (positionBias is not null) scores = _g.Add(scores, GatedBias(x, prefix, positionBias, heads, d));
        var probabilities = _g.Op("Softmax", [scores], ("axis", -1L));
        var context = _g.Reshape(_g.Transpose(_g.MatMul(probabilities, v), 0, 2, 1, 3), 0, 0, h); // [B, T, H]
        return Linear(context, $"{prefix}.out_proj", quantizable: true);
    }

    /// <summary>
    /// WavLM's relative position bias [1, nH, T, T] from the first layer's table: the bucket of each offset j − i is
    /// looked up in a table precomputed for offsets −D..D (D = max_bucket_distance; every larger offset shares the last
    /// bucket of its side), so the graph does no logarithms and every bucket is exactly SerMtl's.
    /// </summary>
    private string RelativePositionBias(string hidden)
    {
        var distance = (long)config.RelativeBucketDistance;
        var buckets = _g.Int64s(SelfAttention.RelativeBuckets(distance + 1, config.RelativeBuckets, config.RelativeBucketDistance)); // offsets -D..D
        var frames = _g.Op("Squeeze", [_g.Dim(hidden, 1)]);
        var index = _g.Op("Range", [_g.Int64Scalar(0), frames, _g.Int64Scalar(1)]);                 // [T]
        var offsets = _g.Sub(_g.Unsqueeze(index, 0), _g.Unsqueeze(index, 1));                       // [T, T]: j - i
        var clipped = _g.Add(_g.Op("Clip", [offsets, _g.Int64Scalar(-distance), _g.Int64Scalar(distance)]), _g.Int64Scalar(distance));
        var bucket = _g.Op("Gather", [buckets, clipped], ("axis", 0L));                             // [T, T]
        var embedded = _g.Op("Gather", [Weight("encoder.layers.0.attention.rel_attn_embed.weight"), bucket], ("axis", 0L)); // [T, T, nH]
        return _g.Unsqueeze(_g.Transpose(embedded, 2, 0, 1), 0);                                   // [1, nH, T, T]
    }

    /// <summary>WavLM's gate per head and query: a = σ(Σ first 4), b = σ(Σ last 4) of the head slice through <c>gru_rel_pos_linear</c>; gate = a·(b·c − 1) + 2.</summary>
    private string GatedBias(string x, string prefix, string positionBias, long heads, long d)
    {
        var perHead = _g.Transpose(_g.Reshape(x, 0, 0, heads, d), 0, 2, 1, 3);                     // [B, nH, T, d]
        var projected = Linear(perHead, $"{prefix}.gru_rel_pos_linear", quantizable: false);         // [B, nH, T, 8]
        var shape = _g.Op("Concat", [_g.Op("Shape", [projected], ("end", 3L)), _g.Int64s(2, 4)], ("axis", 0L));
        var gates = _g.Op("Sigmoid", [_g.ReduceSum(_g.Op("Reshape", [projected, shape]), -1, keepDims: false)]); // [B, nH, T, 2]
        var ab = _g.OpN("Split", [gates, _g.Int64s(1, 1)], 2, ("axis", -1L));                       // [B, nH, T, 1] each
        var constant = Weight($"{prefix}.gru_rel_pos_const");                                      // [1, nH, 1, 1]
        var gate = _g.Add(_g.Mul(ab[0], _g.Sub(_g.Mul(ab[1], constant), _g.FloatScalar(1f))), _g.FloatScalar(2f));
        return _g.Mul(gate, positionBias);                                                         // [B, nH, T, T]
    }

    private string FeedForward(LayerInput x, string prefix)
    {
        var y = Activate(Linear(x, $"{prefix}.intermediate_dense", quantizable: true), config.HiddenAct);
        return Linear(y, $"{prefix}.output_dense", quantizable: true);
    }

    private string LayerNorm(string x, string prefix, double eps) =>
        _g.Op("LayerNormalization", [x, Weight($"{prefix}.weight"), Weight($"{prefix}.bias")], ("axis", -1L), ("epsilon", (float)eps));

    /// <summary>x · Wᵀ + b for the linear layer <paramref name="prefix"/> (weight [out, in], bias [out]).</summary>
    public string Linear(string x, string prefix, bool quantizable) => Linear(Plain(x), prefix, quantizable);

    private string Linear(LayerInput x, string prefix, bool quantizable)
    {
        var (w, shape) = weights.Read($"{prefix}.weight");
        var (b, _) = weights.Read($"{prefix}.bias");
        return LinearFrom(x, prefix, w, b, shape[0], shape[1], quantizable);
    }

    /// <summary>
    /// x · Wᵀ + b with W [outputs, inputs] row-major. Quantized: x is quantized per tensor at run time
    /// (DynamicQuantizeLinear, uint8), W per output channel at export (symmetric, 7 bits), multiplied in int32 by
    /// MatMulInteger and scaled back; ONNX Runtime fuses the pattern into one kernel.
    /// </summary>
    private string LinearFrom(string x, string prefix, float[] w, float[] b, long outputs, long inputs, bool quantizable) =>
        LinearFrom(Plain(x), prefix, w, b, outputs, inputs, quantizable);

    private string LinearFrom(LayerInput input, string prefix, float[] w, float[] b, long outputs, long inputs, bool quantizable)
    {
        if (!(quantize && quantizable))
            return _g.Add(_g.MatMul(input.Value, _g.Weight(prefix + ".weight", Weights.Transposed(w, outputs, inputs), inputs, outputs)), _g.Weight(prefix + ".bias", b, outputs));

        var x = input.Value;
        if (input.Normalized is { } normalized)
        {
            // W (γ ⊙ x̂ + β) + b = (W diag γ) x̂ + (W β + b), in double.
            var (gamma, _) = weights.Read($"{input.NormPrefix}.weight");
            var (beta, _) = weights.Read($"{input.NormPrefix}.bias");
            w = (float[])w.Clone();
            b = (float[])b.Clone();
            for (long o = 0; o < outputs; o++)
            {
                var shift = (double)b[o];
                for (long i = 0; i < inputs; i++)
                {
                    shift += (double)w[o * inputs + i] * beta[i];
                    w[o * inputs + i] *= gamma[i];
                }
                b[o] = (float)shift;
            }
            x = normalized;
        }
        var bias = _g.Weight(prefix + ".bias", b, outputs);

        var scales = new float[outputs];
        var q = new sbyte[w.Length];
        for (long o = 0; o < outputs; o++)
        {
            var max = 0f;
            for (long i = 0; i < inputs; i++) max = Math.Max(max, Math.Abs(w[o * inputs + i]));
            var scale = max > 0 ? max / QuantMax : 1f;
            scales[o] = scale;
            for (long i = 0; i < inputs; i++)
                q[i * outputs + o] = (sbyte)Math.Clamp(Math.Round(w[o * inputs + i] / scale, MidpointRounding.ToEven), -QuantMax, QuantMax); // transposed: [in, out]
        }
        var weight = _g.Int8Weight(prefix + ".weight_quantized", q, inputs, outputs);
        var weightScale = _g.Weight(prefix + ".weight_scale", scales, outputs);
        var quantized = _g.OpN("DynamicQuantizeLinear", [x], 3);                                  // x_q uint8, scale, zero point
        var product = _g.Op("MatMulInteger", [quantized[0], weight, quantized[2]]);              // int32
        var scale2 = _g.Mul(quantized[1], weightScale);                                           // [outputs]
        return _g.Add(_g.Mul(_g.Cast(product, DataType.Float), scale2), bias);
    }

    private string Activate(string x, Activation activation)
    {
        switch (activation)
        {
            case Activation.Gelu:
                // 0.5 · x · (1 + erf(x / √2)); ONNX Runtime fuses it into one Gelu kernel.
                var erf = _g.Op("Erf", [_g.Div(x, _g.FloatScalar(MathF.Sqrt(2f)))]);
                return _g.Mul(_g.Mul(x, _g.Add(erf, _g.FloatScalar(1f))), _g.FloatScalar(0.5f));
            case Activation.GeluTanh:
                var cube = _g.Mul(_g.Mul(x, x), x);
                var inner = _g.Mul(_g.Add(x, _g.Mul(cube, _g.FloatScalar(0.044715f))), _g.FloatScalar(MathF.Sqrt(2f / MathF.PI)));
                return _g.Mul(_g.Mul(x, _g.Add(_g.Op("Tanh", [inner]), _g.FloatScalar(1f))), _g.FloatScalar(0.5f));
            case Activation.Relu:
                return _g.Op("Relu", [x]);
            case Activation.Silu:
                return _g.Mul(x, _g.Op("Sigmoid", [x]));
            case Activation.Tanh:
                return _g.Op("Tanh", [x]);
            default:
                throw new NotSupportedException($"activation {activation} has no ONNX form here");
        }
    }

    private string Weight(string key)
    {
        var (values, shape) = weights.Read(key);
        return _g.Weight(key, values, shape);
    }

    private (string Name, long Size) Vector(string key)
    {
        var (values, shape) = weights.Read(key);
        return (_g.Weight(key, values, shape), shape[0]);
    }
}
