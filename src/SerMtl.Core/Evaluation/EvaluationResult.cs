using SerMtl.Data.Evaluation;

namespace SerMtl.Evaluation;

/// <summary>What the model said about one utterance.</summary>
/// <param name="Id">The sample's id.</param>
/// <param name="Label">The true label.</param>
/// <param name="Predicted">The predicted label (highest probability).</param>
/// <param name="Probabilities">Softmax of the emotion logits, in the model's label order.</param>
/// <param name="Reference">The normalised reference transcript, or null when the sample has none.</param>
/// <param name="Transcript">The greedy CTC transcript.</param>
public sealed record UtterancePrediction(string Id, string Label, string Predicted, IReadOnlyList<float> Probabilities, string? Reference, string Transcript);

/// <summary>
/// Metrics of a model on a set of utterances: emotion classification (<see cref="Classification"/>: WA, UA, macro F1,
/// per-class precision/recall, confusion matrix) and the transcripts' word and character error rates, with every
/// prediction.
/// </summary>
public sealed class EvaluationResult
{
    internal EvaluationResult(ClassificationMetrics classification, EditCounts words, EditCounts characters, IReadOnlyList<UtterancePrediction> predictions)
    {
        Classification = classification;
        WordErrors = words;
        CharacterErrors = characters;
        Predictions = predictions;
    }

    /// <summary>Emotion metrics: weighted/unweighted accuracy, macro F1, per class, confusion matrix.</summary>
    public ClassificationMetrics Classification { get; }

    /// <summary>Word edits summed over utterances with a (non-empty) reference transcript.</summary>
    public EditCounts WordErrors { get; }

    /// <summary>Character edits summed over utterances with a reference transcript.</summary>
    public EditCounts CharacterErrors { get; }

    /// <summary>Per-utterance predictions, in the order of the samples given.</summary>
    public IReadOnlyList<UtterancePrediction> Predictions { get; }

    /// <summary>Number of utterances.</summary>
    public int Count => Predictions.Count;

    /// <summary>Weighted accuracy: correct / total.</summary>
    public double WeightedAccuracy => Classification.WeightedAccuracy;

    /// <summary>Unweighted accuracy: mean per-class recall.</summary>
    public double UnweightedAccuracy => Classification.UnweightedAccuracy;

    /// <summary>Macro F1.</summary>
    public double MacroF1 => Classification.MacroF1;

    /// <summary>Corpus word error rate (total edits / total reference words); NaN when no utterance has a reference.</summary>
    public double WordErrorRate => WordErrors.ReferenceLength > 0 ? WordErrors.Rate : double.NaN;

    /// <summary>Corpus character error rate; NaN when no utterance has a reference.</summary>
    public double CharacterErrorRate => CharacterErrors.ReferenceLength > 0 ? CharacterErrors.Rate : double.NaN;
}
