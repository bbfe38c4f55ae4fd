using Microsoft.Extensions.Logging;

namespace SerMtl.Training;

/// <summary>The trainer's log messages.</summary>
internal static partial class TrainingLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Training on {Device}: {TrainCount} utterances ({TrainHours:0.00} h), {ValidationCount} for validation; {Options}; {TotalSteps} updates")]
    public static partial void Started(ILogger logger, string device, int trainCount, double trainHours, int validationCount, string options, long totalSteps);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Resuming from {Path}: {Epoch} epoch(s) done, update {Step}")]
    public static partial void Resumed(ILogger logger, string path, int epoch, long step);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information,
        Message = "Epoch {Epoch}/{Epochs}: loss {Loss:0.0000} (CE {Ce:0.0000}, CTC {Ctc}), lr {LearningRate:0.###e+0}, validation WA {Wa} UA {Ua} WER {Wer}, {Seconds:0.0} s, {UtterancesPerSecond:0.0} utt/s{Best}")]
    public static partial void EpochEnded(ILogger logger, int epoch, int epochs, double loss, double ce, string ctc, double learningRate,
        string wa, string ua, string wer, double seconds, double utterancesPerSecond, string best);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "Epoch {Epoch}, update {Step}: non-finite loss or gradient, update skipped ({Consecutive} in a row, {Limit} allowed)")]
    public static partial void NonFiniteSkipped(ILogger logger, int epoch, long step, int consecutive, int limit);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Checkpoint written to {Path} ({Reason}, epoch {Epoch}, update {Step})")]
    public static partial void CheckpointWritten(ILogger logger, string path, CheckpointReason reason, int epoch, long step);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning,
        Message = "{Set}: {Transcripts} transcript(s) lost {Characters} character(s) outside the CTC vocabulary: {Examples}")]
    public static partial void OutOfVocabulary(ILogger logger, string set, int transcripts, int characters, string examples);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information,
        Message = "{Set}: {WithoutTranscript} utterance(s) without a transcript and {Empty} whose transcript normalises to nothing are left out of CTC and WER")]
    public static partial void MissingTranscripts(ILogger logger, string set, int withoutTranscript, int empty);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Audio: {Count} decoded file(s) held in memory, {Megabytes:0} MB")]
    public static partial void AudioCached(ILogger logger, int count, double megabytes);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Training cancelled at epoch {Epoch}, update {Step}; {Where}")]
    public static partial void Cancelled(ILogger logger, int epoch, long step, string where);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Training already finished in {Path} ({Epochs} epochs); loading its best weights")]
    public static partial void AlreadyFinished(ILogger logger, string path, int epochs);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "No validation split: the last epoch's weights are kept")]
    public static partial void NoValidation(ILogger logger);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Audio read with a warning: {Warning}")]
    public static partial void AudioWarning(ILogger logger, string warning);
}
