using System.Text.Json;
using System.Text.Json.Serialization;
using SerMtl.Checkpoints;
using SerMtl.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SerMtl.Training;

/// <summary>The running sums of an epoch in progress, so a resumed epoch reports the same means.</summary>
internal sealed record EpochAccumulator
{
    public double LossSum { get; init; }
    public double CeSum { get; init; }
    public double CtcSum { get; init; }
    public long FinitePasses { get; init; }
    public long Utterances { get; init; }
    public long SkippedSteps { get; init; }
    public double TrainingSeconds { get; init; }
    public double Seconds { get; init; }
    public double LearningRate { get; init; }
}

/// <summary>Where a run stands, stored as JSON in the checkpoint's safetensors metadata.</summary>
internal sealed record TrainerState
{
    public const int CurrentFormat = 1;

    public int FormatVersion { get; init; } = CurrentFormat;

    /// <summary><see cref="TrainingOptions.Recipe"/> of the run; a different one is not resumed.</summary>
    public required string Recipe { get; init; }

    /// <summary>Hash of the training and validation sample ids and labels; different data is not resumed.</summary>
    public required string Data { get; init; }

    /// <summary>Epochs fully done (training and validation).</summary>
    public required int Epoch { get; init; }

    /// <summary>Forward passes of epoch <see cref="Epoch"/> + 1 done, always at an update boundary.</summary>
    public required int Batch { get; init; }

    /// <summary>Optimizer updates done (skipped ones included).</summary>
    public required long Step { get; init; }

    public long SkippedSteps { get; init; }

    public int ConsecutiveNonFinite { get; init; }

    public int? BestEpoch { get; init; }

    public double? BestScore { get; init; }

    /// <summary>Sums of the epoch in progress (empty at an epoch boundary).</summary>
    public EpochAccumulator Current { get; init; } = new();

    public IReadOnlyList<EpochSummary> History { get; init; } = [];

    /// <summary>AdamW's update count per parameter state, in the optimizer's order.</summary>
    public IReadOnlyList<long> OptimizerSteps { get; init; } = [];
}

/// <summary>
/// A resumable training checkpoint in one safetensors file, replaced atomically: the model's state dict under
/// <c>model.</c>, AdamW's moments under <c>optimizer.{i}.exp_avg</c> / <c>.exp_avg_sq</c>, and
/// <see cref="TrainerState"/> as JSON in the metadata. The learning-rate schedule is a function of the step and the
/// random streams are re-seeded from (seed, epoch, batch) at every forward pass, so nothing else is needed to resume.
/// </summary>
internal static class TrainerCheckpoint
{
    public const string FileName = "checkpoint.safetensors";
    private const string StateKey = "sermtl_trainer_state";
    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Save(string path, SerMtlModel model, AdamW optimizer, TrainerState state)
    {
        var states = AdamStates(optimizer);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in model.state_dict()) tensors[ModelPrefix + key] = tensor;
        for (var i = 0; i < states.Count; i++)
        {
            tensors[$"{OptimizerPrefix}{i}.exp_avg"] = states[i].exp_avg;
            tensors[$"{OptimizerPrefix}{i}.exp_avg_sq"] = states[i].exp_avg_sq;
        }
        state = state with { OptimizerSteps = states.Select(s => s.step).ToArray() };
        SafeTensors.Write(path, tensors, new Dictionary<string, string>
        {
            ["format"] = "sermtl-trainer",
            [StateKey] = JsonSerializer.Serialize(state, Json),
        });
    }

    /// <summary>Reads only the state (no tensors), e.g. to check a checkpoint before loading it.</summary>
    /// <exception cref="InvalidDataException">Not a trainer checkpoint, or a state this version cannot read.</exception>
    public static TrainerState ReadState(string path)
    {
        var metadata = SafeTensors.ReadMetadata(path);
        if (!metadata.TryGetValue(StateKey, out var json))
            throw new InvalidDataException($"{path}: not a SerMtl training checkpoint (no '{StateKey}' metadata)");
        TrainerState? state;
        try
        {
            state = JsonSerializer.Deserialize<TrainerState>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: unreadable training state ({e.Message})", e);
        }
        if (state is null) throw new InvalidDataException($"{path}: empty training state");
        if (state.FormatVersion != TrainerState.CurrentFormat)
            throw new InvalidDataException($"{path}: training checkpoint format {state.FormatVersion}, this library reads {TrainerState.CurrentFormat}");
        if (state.Epoch < 0 || state.Batch < 0 || state.Step < 0)
            throw new InvalidDataException($"{path}: training state has a negative epoch, batch or step");
        return state;
    }

    /// <summary>Copies the checkpoint's weights and optimizer moments into <paramref name="model"/> and <paramref name="optimizer"/>.</summary>
    /// <exception cref="InvalidDataException">The checkpoint does not match the model or the optimizer (names the key and shapes).</exception>
    public static TrainerState Load(string path, SerMtlModel model, AdamW optimizer)
    {
        var state = ReadState(path);
        var tensors = SafeTensors.Read(path);
        try
        {
            var modelTensors = tensors.Where(kv => kv.Key.StartsWith(ModelPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[ModelPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
            var states = AdamStates(optimizer);
            if (state.OptimizerSteps.Count != states.Count)
                throw new InvalidDataException(
                    $"{path}: optimizer state for {state.OptimizerSteps.Count} parameters, the optimizer has {states.Count} (was the feature encoder frozen differently?)");
            var moments = new List<(Tensor Target, Tensor Source)>();
            for (var i = 0; i < states.Count; i++)
            {
                foreach (var (name, target) in new[] { ("exp_avg", states[i].exp_avg), ("exp_avg_sq", states[i].exp_avg_sq) })
                {
                    var key = $"{OptimizerPrefix}{i}.{name}";
                    if (!tensors.TryGetValue(key, out var source))
                        throw new InvalidDataException($"{path}: tensor '{key}' is missing");
                    if (!source.shape.SequenceEqual(target.shape))
                        throw new InvalidDataException($"{path}: tensor '{key}' has shape [{string.Join(", ", source.shape)}], expected [{string.Join(", ", target.shape)}]");
                    moments.Add((target, source));
                }
            }
            StateDictLoader.Load(model, modelTensors, path);
            using (no_grad())
            {
                foreach (var (target, source) in moments) target.copy_(source.to(target.dtype, target.device));
            }
            for (var i = 0; i < states.Count; i++) states[i].step = state.OptimizerSteps[i];
            return state;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static List<AdamW.State> AdamStates(AdamW optimizer) =>
        optimizer.state_dict().State.Cast<AdamW.State>().ToList();
}
