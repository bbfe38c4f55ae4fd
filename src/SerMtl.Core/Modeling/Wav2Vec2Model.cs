using SerMtl.Kernels;
using SerMtl.Checkpoints;
using SerMtl.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SerMtl.Modeling;

/// <summary>Options of <see cref="Wav2Vec2Model.FromPretrained(string, Wav2Vec2LoadOptions?)"/>.</summary>
public sealed record Wav2Vec2LoadOptions
{
    /// <summary>Device to move the model (and the <c>lm_head</c> tensors) to after loading; CPU when null.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// Weights file name inside the directory; when null the first of <see cref="CheckpointFiles.WeightFileNames"/>
    /// that exists is used.
    /// </summary>
    public string? WeightsFile { get; init; }

    /// <summary>Adjusts the directory's config before the model is built, e.g. <c>c =&gt; c with { LayerDrop = 0.05 }</c>.</summary>
    public Func<Wav2Vec2Config, Wav2Vec2Config>? Configure { get; init; }
}

/// <summary>
/// The wav2vec 2.0 backbone with HuggingFace <c>Wav2Vec2Model</c>'s module tree and state-dict keys: convolutional
/// feature encoder, feature projection, positional convolution and transformer encoder (post-LN or pre-LN).
/// Input: waveforms [B, S] preprocessed as <see cref="WaveformBatch"/> does, with the valid sample count of each.
/// Unlike HF, a padded batch gives every utterance the same output as running it alone, for group-norm models too.
/// </summary>
public sealed class Wav2Vec2Model : nn.Module<Tensor, Tensor?, Wav2Vec2Output>
{
    [ComponentName(Name = "feature_extractor")]
    private readonly FeatureEncoder _featureExtractor;

    [ComponentName(Name = "feature_projection")]
    private readonly FeatureProjection _featureProjection;

    [ComponentName(Name = "encoder")]
    private readonly Wav2Vec2Encoder _encoder;

    // HF only has this parameter when some SpecAugment probability is positive.
    [ComponentName(Name = "masked_spec_embed")]
    private readonly Parameter? _maskedSpecEmbed;

    // Gives freed native memory back after a batch much larger than usual (SerMtl's bounded native memory policy).
    private readonly RetainedMemoryGuard _retained = new();

    /// <summary>Builds a randomly initialised model (HF's initialisation), ready to train from scratch.</summary>
    /// <param name="config">The architecture; validated.</param>
    /// <param name="preprocessing">The waveform preprocessing the model expects; HF defaults when null.</param>
    public Wav2Vec2Model(Wav2Vec2Config config, FeatureExtractorConfig? preprocessing = null) : base(nameof(Wav2Vec2Model))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        // SerMtl's native memory policy (bounded reuse of freed tensor memory), once per process, before the weights exist.
        NativeAllocator.ApplyDefault();
        preprocessing ??= new FeatureExtractorConfig();
        preprocessing.Validate();
        Config = config;
        Preprocessing = preprocessing;
        _featureExtractor = new FeatureEncoder(config);
        _featureProjection = new FeatureProjection(config);
        _encoder = new Wav2Vec2Encoder(config);
        if (config.MaskTimeProb > 0 || config.MaskFeatureProb > 0)
            _maskedSpecEmbed = new Parameter(empty(config.HiddenSize));
        RegisterComponents();
        ResetParameters();
    }

    /// <summary>The architecture.</summary>
    public Wav2Vec2Config Config { get; }

    /// <summary>Also return every layer's input and the last hidden state (<see cref="Wav2Vec2Output.HiddenStates"/>), as HF's <c>output_hidden_states</c>.</summary>
    public bool OutputHiddenStates { get; set; }

    /// <summary>The waveform preprocessing the model expects (from <c>preprocessor_config.json</c> when loaded).</summary>
    public FeatureExtractorConfig Preprocessing { get; }

    /// <summary>Whether <see cref="FreezeFeatureEncoder"/> has been called.</summary>
    public bool IsFeatureEncoderFrozen { get; private set; }

    /// <summary>
    /// Whether training recomputes each transformer layer in the backward pass instead of keeping its activations
    /// ("gradient checkpointing", as HF's <c>gradient_checkpointing_enable</c>): less memory for one more forward pass
    /// of the transformer per step, the same gradients (dropout masks included). Off by default; inference is unaffected.
    /// </summary>
    public bool GradientCheckpointing
    {
        get => _encoder.GradientCheckpointing;
        set => _encoder.GradientCheckpointing = value;
    }

    /// <summary>
    /// Stops training the convolutional feature encoder: its parameters no longer require gradients and it runs
    /// without recording an autograd graph (as HF's <c>freeze_feature_encoder</c>, which fine-tuning recipes use).
    /// </summary>
    public void FreezeFeatureEncoder()
    {
        foreach (var p in _featureExtractor.parameters()) p.requires_grad = false;
        IsFeatureEncoderFrozen = true;
    }

    /// <summary>Re-draws every parameter as HF's <c>_init_weights</c> does (norms identity, linear N(0, initializer_range), conv Kaiming).</summary>
    public void ResetParameters()
    {
        using var _ = no_grad();
        _featureExtractor.ResetParameters();
        _featureProjection.ResetParameters();
        _encoder.ResetParameters(Config.InitializerRange);
        _maskedSpecEmbed?.uniform_(0, 1);
    }

    /// <summary>Frames the feature encoder makes from each input length [B] (int64, same device): floor((L - k) / s) + 1 per layer, 0 when too short.</summary>
    public Tensor OutputLengths(Tensor inputLengths)
    {
        using var scope = NewDisposeScope();
        var lengths = inputLengths.to(ScalarType.Int64);
        for (var i = 0; i < Config.ConvKernel.Count; i++)
            lengths = (lengths - Scalars.Of((long)Config.ConvKernel[i])).floor_divide(Scalars.Of((long)Config.ConvStride[i])).add(Scalars.Of(1L), Scalars.Of(1L)).clamp_min(Scalars.Of(0L));
        return lengths.MoveToOuterDisposeScope();
    }

    /// <summary>Runs a preprocessed batch.</summary>
    public Wav2Vec2Output Forward(WaveformBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return call(batch.Waveforms, batch.Lengths);
    }

    /// <summary>
    /// waveforms: [B, S] float, preprocessed (converted to the parameters' dtype, e.g. bfloat16 after
    /// <c>model.to(ScalarType.BFloat16)</c>); lengths: [B] valid samples per utterance (right padding), or null when
    /// all S samples are valid. In training mode applies dropout, LayerDrop and SpecAugment as configured.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shapes or dtype, a length outside [1, S], or an utterance shorter than <see cref="Wav2Vec2Config.ReceptiveField"/>.</exception>
    public override Wav2Vec2Output forward(Tensor waveforms, Tensor? lengths)
    {
        ArgumentNullException.ThrowIfNull(waveforms);
        if (waveforms.dim() != 2)
            throw new ArgumentException($"waveforms must be [batch, samples], got shape [{string.Join(", ", waveforms.shape)}]", nameof(waveforms));
        var dtype = _featureProjection.parameters().First().dtype;
        if (!waveforms.is_floating_point())
            throw new ArgumentException($"waveforms have dtype {waveforms.dtype}, expected floating point (the model's parameters are {dtype})", nameof(waveforms));
        var (batch, samples) = (waveforms.shape[0], waveforms.shape[1]);
        var sampleLengths = HostLengths(lengths, batch, samples);

        using var scope = NewDisposeScope();
        // A model moved to bfloat16 (or float64) takes the float32 waveforms WaveformBatch makes.
        if (waveforms.dtype != dtype) waveforms = waveforms.to(dtype);
        var frameLengths = sampleLengths.Select(Config.OutputLength).ToArray();
        for (var i = 0; i < frameLengths.Length; i++)
            if (frameLengths[i] < 1)
                throw new ArgumentException($"utterance {i} has {sampleLengths[i]} samples; the feature encoder needs at least {Config.ReceptiveField}", nameof(waveforms));
        var padded = sampleLengths.Any(l => l != samples);

        Tensor features;
        using (IsFeatureEncoderFrozen ? no_grad() : null)
            features = _featureExtractor.call(waveforms, padded ? sampleLengths : null); // [B, C, T]
        var extractFeatures = features.transpose(1, 2).contiguous();                    // [B, T, C]
        var frames = extractFeatures.shape[1];
        var hidden = _featureProjection.call(extractFeatures);                         // [B, T, H]

        Tensor? validFrames = null;
        if (frameLengths.Any(l => l != frames))
            validFrames = Scalars.Arange(frames, waveforms.device).unsqueeze(0) < tensor(frameLengths, device: waveforms.device).unsqueeze(1); // [B, T]
        if (training && Config.ApplySpecAugment) hidden = MaskHiddenStates(hidden, frameLengths);
        var states = OutputHiddenStates ? new List<Tensor>() : null;
        var last = _encoder.Run(hidden, validFrames, states);
        // Under MixedPrecision the layers may end in the compute type; callers get the parameters' dtype.
        if (last.dtype != dtype) last = last.to(dtype);
        if (extractFeatures.dtype != dtype) extractFeatures = extractFeatures.to(dtype);

        return new Wav2Vec2Output(
            last.MoveToOuterDisposeScope(),
            extractFeatures.MoveToOuterDisposeScope(),
            tensor(frameLengths, device: waveforms.device).MoveToOuterDisposeScope(),
            states?.Select(state => (state.dtype == dtype ? state : state.to(dtype)).MoveToOuterDisposeScope()).ToList());
    }

    /// <summary>
    /// The last hidden state [frames, hidden] of each waveform (mono samples at <see cref="FeatureExtractorConfig.SamplingRate"/>),
    /// on the CPU, in input order: preprocessed with <see cref="Preprocessing"/>, run in evaluation mode without
    /// gradients in padded batches of up to <paramref name="batchSize"/> utterances of similar length. The results
    /// do not depend on the batching. The caller disposes the tensors; the model's training mode is restored.
    /// </summary>
    public IReadOnlyList<Tensor> Embed(IReadOnlyList<float[]> waveforms, int batchSize = 8)
    {
        var results = new Tensor[waveforms?.Count ?? 0];
        try
        {
            RunBatches(waveforms!, batchSize, this, (chunk, output) =>
            {
                var frameLengths = output.FrameLengths.cpu().data<long>().ToArray();
                for (var j = 0; j < chunk.Length; j++)
                    results[chunk[j]] = output.LastHiddenState[j].narrow(0, 0, frameLengths[j]).cpu().clone().MoveToOuterDisposeScope();
            });
        }
        catch
        {
            foreach (var t in results) t?.Dispose();
            throw;
        }
        return results;
    }

    /// <summary>
    /// Runs <paramref name="waveforms"/> (checked: none null, none shorter than the receptive field) in evaluation mode
    /// without gradients, longest first in padded batches of up to <paramref name="batchSize"/> utterances of similar
    /// length, and calls <paramref name="each"/> with each batch's input indices and output, inside the batch's dispose
    /// scope (move what must outlive it out). <paramref name="owner"/> (this model, or a task model holding it) is put in
    /// evaluation mode and back in its training mode afterwards.
    /// </summary>
    internal void RunBatches(IReadOnlyList<float[]> waveforms, int batchSize, nn.Module owner, Action<int[], Wav2Vec2Output> each)
    {
        ArgumentNullException.ThrowIfNull(waveforms);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        for (var i = 0; i < waveforms.Count; i++)
        {
            if (waveforms[i] is null) throw new ArgumentException($"waveform {i} is null", nameof(waveforms));
            if (waveforms[i].Length < Config.ReceptiveField)
                throw new ArgumentException($"waveform {i} has {waveforms[i].Length} samples; the feature encoder needs at least {Config.ReceptiveField}", nameof(waveforms));
        }
        var device = _featureProjection.parameters().First().device;
        var wasTraining = owner.training;
        owner.eval();
        try
        {
            using var _ = no_grad();
            // Longest first, so each batch holds similar lengths and wastes little compute on padding.
            var order = Enumerable.Range(0, waveforms.Count).OrderByDescending(i => waveforms[i].Length).ToArray();
            foreach (var chunk in order.Chunk(batchSize))
            {
                using (var scope = NewDisposeScope())
                {
                    using var inputs = WaveformBatch.Create(chunk.Select(i => waveforms[i]).ToList(), Preprocessing, device);
                    using var output = Forward(inputs);
                    each(chunk, output);
                }
                _retained.After((long)chunk.Length * waveforms[chunk[0]].Length); // the padded batch (longest first)
            }
        }
        finally
        {
            owner.train(wasTraining);
        }
    }

    /// <summary>
    /// Loads a HuggingFace-layout directory, or a Hub id (<c>org/name[@revision]</c>, fetched through
    /// <see cref="ModelLocator"/>): <c>config.json</c>, optional <c>preprocessor_config.json</c> and the
    /// weights (see <see cref="CheckpointFiles"/>), with or without the <c>wav2vec2.</c> prefix. Returns the model
    /// in evaluation mode. A CTC <c>lm_head</c> in the checkpoint is ignored; use the overload with <c>lmHead</c>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist (and it is not a Hub id).</exception>
    /// <exception cref="SerMtl.Hub.HubException">A Hub id whose files cannot be had.</exception>
    /// <exception cref="FileNotFoundException">No config or weights file.</exception>
    /// <exception cref="InvalidDataException">A malformed file, or a tensor missing, unexpected or of the wrong shape (named with the file and key).</exception>
    public static Wav2Vec2Model FromPretrained(string directory, Wav2Vec2LoadOptions? options = null)
    {
        var model = FromPretrained(directory, out var lmHead, options);
        if (lmHead is not null)
            foreach (var t in lmHead.Values) t.Dispose();
        return model;
    }

    /// <summary>
    /// As <see cref="FromPretrained(string, Wav2Vec2LoadOptions?)"/>, also returning the checkpoint's CTC head
    /// (<c>lm_head.weight</c> [V, H] and <c>lm_head.bias</c> [V] as keys <c>weight</c>/<c>bias</c>), or null when it
    /// has none. The caller owns (disposes) those tensors.
    /// </summary>
    public static Wav2Vec2Model FromPretrained(string directory, out IReadOnlyDictionary<string, Tensor>? lmHead, Wav2Vec2LoadOptions? options = null) =>
        FromPretrained(directory, options, [], out lmHead, out _);

    /// <summary>
    /// The loader behind the public overloads; also hands back the checkpoint tensors named in <paramref name="keep"/>
    /// (e.g. a task model's head: <c>projector.weight</c>, <c>layer_weights</c>) under their checkpoint keys, on the
    /// CPU, owned by the caller.
    /// </summary>
    internal static Wav2Vec2Model FromPretrained(string directory, Wav2Vec2LoadOptions? options, IReadOnlyCollection<string> keep,
        out IReadOnlyDictionary<string, Tensor>? lmHead, out Dictionary<string, Tensor> kept)
    {
        ArgumentNullException.ThrowIfNull(directory);
        options ??= new Wav2Vec2LoadOptions();
        directory = ModelLocator.Resolve(directory);
        var config = Wav2Vec2Config.FromJsonFile(Path.Combine(directory, "config.json"));
        CheckBackboneKind(Path.Combine(directory, "config.json"));
        if (options.Configure is not null) config = options.Configure(config);
        var preprocessorPath = Path.Combine(directory, "preprocessor_config.json");
        var preprocessing = File.Exists(preprocessorPath) ? FeatureExtractorConfig.FromJsonFile(preprocessorPath) : new FeatureExtractorConfig();

        string weightsPath;
        if (options.WeightsFile is null)
        {
            weightsPath = CheckpointFiles.FindWeights(directory);
        }
        else
        {
            weightsPath = Path.Combine(directory, options.WeightsFile);
            if (!File.Exists(weightsPath)) throw new FileNotFoundException($"{weightsPath}: weights file not found", weightsPath);
        }

        var raw = CheckpointFiles.Read(weightsPath);
        Wav2Vec2Model? model = null;
        Dictionary<string, Tensor>? head = null;
        try
        {
            var mapped = Wav2Vec2KeyMap.Map(raw);
            model = new Wav2Vec2Model(config, preprocessing);
            model.LoadWeights(mapped, weightsPath);
            head = mapped.LmHead;
            if (head is not null) CheckLmHead(head, config, weightsPath);
        }
        catch
        {
            model?.Dispose();
            foreach (var t in raw.Values) t.Dispose();
            throw;
        }
        // The model holds copies; only the head's tensors and the ones asked for live on.
        kept = raw.Where(kv => keep.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (var t in raw.Values)
            if ((head is null || !head.Values.Any(h => ReferenceEquals(h, t))) && !kept.Values.Any(k => ReferenceEquals(k, t))) t.Dispose();

        if (options.Device is { } device)
        {
            model.to(device);
            if (head is not null)
                foreach (var key in head.Keys.ToList())
                {
                    var moved = head[key].to(device);
                    if (!ReferenceEquals(moved, head[key])) head[key].Dispose();
                    head[key] = moved;
                }
        }
        model.eval();
        lmHead = head;
        return model;
    }

    /// <summary>
    /// Refuses backbones this class would load wrongly (the config has already refused a <c>model_type</c> other than
    /// wav2vec2, HuBERT and WavLM): HuBERT without the feature projection's layer norm, or a batch-normed positional
    /// convolution.
    /// </summary>
    private static void CheckBackboneKind(string configPath)
    {
        System.Text.Json.Nodes.JsonObject? json;
        try
        {
            json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath)) as System.Text.Json.Nodes.JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return; // FromJsonFile has already named what is wrong with it
        }
        if (json?["feat_proj_layer_norm"]?.GetValueKind() == System.Text.Json.JsonValueKind.False)
            throw new InvalidDataException($"{configPath}: feat_proj_layer_norm is false (a feature projection without layer norm) and is not supported");
        if (json?["conv_pos_batch_norm"]?.GetValueKind() == System.Text.Json.JsonValueKind.True)
            throw new InvalidDataException($"{configPath}: conv_pos_batch_norm is true (a batch-normed positional convolution) and is not supported");
    }

    /// <summary>
    /// Copies mapped checkpoint tensors into the model, strictly (every key present, every shape equal). A checkpoint
    /// <c>masked_spec_embed</c> is dropped when this config has no SpecAugment, and kept at its initial value when
    /// the checkpoint lacks it, as HF does.
    /// </summary>
    internal void LoadWeights(Wav2Vec2StateDict stateDict, string source)
    {
        const string maskKey = "masked_spec_embed";
        var backbone = new Dictionary<string, Tensor>(stateDict.Backbone, StringComparer.Ordinal);
        if (_maskedSpecEmbed is null) backbone.Remove(maskKey);
        else if (!backbone.ContainsKey(maskKey)) backbone[maskKey] = _maskedSpecEmbed;
        StateDictLoader.Load(this, backbone, source);
    }

    private static void CheckLmHead(Dictionary<string, Tensor> head, Wav2Vec2Config config, string source)
    {
        if (!head.TryGetValue("weight", out var w) || !head.TryGetValue("bias", out var b))
            throw new InvalidDataException($"{source}: lm_head needs 'lm_head.weight' and 'lm_head.bias', found {string.Join(", ", head.Keys.Select(k => "lm_head." + k))}");
        if (w.dim() != 2 || w.shape[1] != config.HiddenSize || b.dim() != 1 || b.shape[0] != w.shape[0])
            throw new InvalidDataException($"{source}: lm_head.weight has shape [{string.Join(", ", w.shape)}] and lm_head.bias [{string.Join(", ", b.shape)}], expected [V, {config.HiddenSize}] and [V]");
    }

    /// <summary>SpecAugment (training only): time spans replaced by <c>masked_spec_embed</c> inside each utterance's valid frames, then channel spans zeroed.</summary>
    private Tensor MaskHiddenStates(Tensor hidden, long[] frameLengths)
    {
        var (batch, frames, size) = (hidden.shape[0], hidden.shape[1], hidden.shape[2]);
        // One System.Random per call, seeded from torch's generator so torch.manual_seed makes runs repeatable.
        var random = new Random((int)randint(int.MaxValue, [1]).item<long>());
        if (Config.MaskTimeProb > 0 && _maskedSpecEmbed is not null)
        {
            var mask = SpecAugment.ComputeMask(frameLengths, frames, Config.MaskTimeProb, Config.MaskTimeLength, Config.MaskTimeMinMasks, random);
            var maskTensor = ToTensor(mask, hidden.device).unsqueeze(-1);           // [B, T, 1]
            hidden = where(maskTensor, _maskedSpecEmbed, hidden); // [B, T, H]
        }
        if (Config.MaskFeatureProb > 0)
        {
            var channels = Enumerable.Repeat(size, (int)batch).ToArray();
            var mask = SpecAugment.ComputeMask(channels, size, Config.MaskFeatureProb, Config.MaskFeatureLength, Config.MaskFeatureMinMasks, random);
            hidden = hidden.masked_fill(ToTensor(mask, hidden.device).unsqueeze(1), Scalars.Of(0L)); // [B, 1, H] over all frames
        }
        return hidden;
    }

    private static Tensor ToTensor(bool[,] mask, Device device)
    {
        var flat = new bool[mask.Length];
        Buffer.BlockCopy(mask, 0, flat, 0, flat.Length);
        return tensor(flat, [mask.GetLength(0), mask.GetLength(1)], device: device);
    }

    private static long[] HostLengths(Tensor? lengths, long batch, long samples)
    {
        if (lengths is null) return Enumerable.Repeat(samples, (int)batch).ToArray();
        if (lengths.dim() != 1 || lengths.shape[0] != batch)
            throw new ArgumentException($"lengths must be [batch] = [{batch}], got shape [{string.Join(", ", lengths.shape)}]", nameof(lengths));
        if (lengths.is_floating_point() || lengths.is_complex())
            throw new ArgumentException($"lengths must be an integer tensor, got {lengths.dtype}", nameof(lengths));
        using var host = lengths.to(ScalarType.Int64, CPU);
        var values = host.data<long>().ToArray();
        for (var i = 0; i < values.Length; i++)
            if (values[i] < 1 || values[i] > samples)
                throw new ArgumentException($"lengths[{i}] = {values[i]} is outside [1, {samples}] (the padded length)", nameof(lengths));
        return values;
    }
}
