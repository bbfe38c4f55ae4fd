using SerMtl.Data.Text;
using SerMtl.Inference;

namespace SerMtl.Data.Tests.Inference;

/// <summary>The model description an exported file carries: each task survives its JSON, and what a task needs is checked.</summary>
public sealed class RecognizerModelInfoTests
{
    private static readonly CharacterVocabulary Vocabulary = new(["<pad>", "|", "a", "b"], "<pad>", "|", null);

    private static RecognizerModelInfo Info(ModelTask task, string[] labels, CharacterVocabulary? vocabulary) => new()
    {
        Architecture = "Test",
        Task = task,
        Labels = labels,
        Vocabulary = vocabulary,
        SampleRate = 16000,
        ReceptiveField = 400,
        SamplesPerFrame = 320,
    };

    [Theory]
    [InlineData(ModelTask.Classification, 2, true)]
    [InlineData(ModelTask.Regression, 3, false)]
    [InlineData(ModelTask.Transcription, 0, true)]
    [InlineData(ModelTask.Features, 0, false)]
    public void Json_RoundTripsEveryTask(ModelTask task, int labelCount, bool withVocabulary)
    {
        var info = Info(task, Enumerable.Range(0, labelCount).Select(i => $"label{i}").ToArray(), withVocabulary ? Vocabulary : null);
        var json = info.ToJson();
        var read = RecognizerModelInfo.FromJson(json, "test");
        Assert.Equal(task, read.Task);
        Assert.Equal(info.Labels, read.Labels);
        Assert.Equal(task == ModelTask.Regression, read.IsRegression);
        Assert.Equal(task is ModelTask.Classification or ModelTask.Regression, read.HasEmotionOutput);
        Assert.Equal(info.Vocabulary?.Tokens, read.Vocabulary?.Tokens);
        Assert.Contains($"\"task\":\"{task.ToString().ToLowerInvariant()}\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ModelTask.Classification, 0, true, "no labels")]
    [InlineData(ModelTask.Regression, 0, false, "no labels")]
    [InlineData(ModelTask.Transcription, 0, false, "needs its vocabulary")]
    [InlineData(ModelTask.Transcription, 2, true, "a transcription model has no labels, got 2")]
    [InlineData(ModelTask.Features, 1, false, "a features model has no labels, got 1")]
    public void Validate_RefusesWhatATaskCannotHave(ModelTask task, int labelCount, bool withVocabulary, string message)
    {
        var info = Info(task, Enumerable.Range(0, labelCount).Select(i => $"label{i}").ToArray(), withVocabulary ? Vocabulary : null);
        var e = Assert.Throws<InvalidDataException>(info.Validate);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_UnknownTask_NamesTheKnownOnes()
    {
        var json = Info(ModelTask.Classification, ["a", "b"], null).ToJson().Replace("\"classification\"", "\"diarization\"", StringComparison.Ordinal);
        var e = Assert.Throws<InvalidDataException>(() => RecognizerModelInfo.FromJson(json, "file.onnx"));
        Assert.Contains("file.onnx: task 'diarization' is none of classification, regression, transcription, features", e.Message, StringComparison.Ordinal);
    }
}
