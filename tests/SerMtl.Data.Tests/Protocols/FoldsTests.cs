using SerMtl.Data.Corpora;
using SerMtl.Data.Protocols;

namespace SerMtl.Data.Tests.Protocols;

public class FoldsTests
{
    private static readonly string[] Labels = ["neutral", "happy", "angry", "sad"];

    /// <summary>
    /// An IEMOCAP-shaped corpus: 5 sessions, two dialogs per session (one named after each actor), both actors
    /// speaking in every dialog, a varying number of turns per speaker and dialog.
    /// </summary>
    private static SpeechCorpus IemocapLike()
    {
        var samples = new List<SpeechSample>();
        for (var session = 1; session <= 5; session++)
        {
            foreach (var dialogActor in "FM")
            {
                var dialog = $"Ses{session:00}{dialogActor}_impro0{session}";
                foreach (var speakerLetter in "FM")
                {
                    var turns = 7 + session + (speakerLetter == 'M' ? 3 : 0) + (dialogActor == 'M' ? 2 : 0);
                    for (var t = 0; t < turns; t++)
                    {
                        var id = $"{dialog}_{speakerLetter}{t:000}";
                        samples.Add(new SpeechSample(id, $"/x/{id}.wav", $"Ses{session:00}{speakerLetter}",
                            Labels[(t * 7 + session) % 4], "text", $"Session{session}", dialog));
                    }
                }
            }
        }
        return new SpeechCorpus("iemocap-like", Labels, samples);
    }

    private static readonly ValidationOptions[] AllValidation =
    [
        ValidationOptions.None,
        ValidationOptions.Default,
        new() { Fraction = 0.3, Seed = 5 },
        new() { Strategy = ValidationStrategy.HoldOutSpeakers },
        new() { Strategy = ValidationStrategy.HoldOutSpeakers, Speakers = 2, Seed = 3 },
    ];

    public static TheoryData<IemocapProtocol, int> ProtocolsAndValidation()
    {
        var data = new TheoryData<IemocapProtocol, int>();
        foreach (var p in Enum.GetValues<IemocapProtocol>())
        {
            for (var v = 0; v < AllValidation.Length; v++) data.Add(p, v);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndValidation))]
    public void EveryFold_PartitionsTheCorpus_AndEverySampleIsTestedOnce(IemocapProtocol protocol, int validation)
    {
        var corpus = IemocapLike();
        var folds = Folds.Iemocap(corpus, protocol, AllValidation[validation]);
        foreach (var fold in folds)
        {
            var all = fold.Train.Concat(fold.Validation).Concat(fold.Test).ToList();
            Assert.Equal(corpus.Samples.Count, all.Count);
            Assert.Equal(corpus.Samples.Count, all.Select(s => s.Id).Distinct().Count());
            Assert.NotEmpty(fold.Train);
            Assert.NotEmpty(fold.Test);
            // Lists keep corpus order.
            Assert.Equal(fold.Test.OrderBy(s => IndexOf(corpus, s)), fold.Test);
            Assert.Equal(fold.Train.OrderBy(s => IndexOf(corpus, s)), fold.Train);
        }
        var tested = folds.SelectMany(f => f.Test).Select(s => s.Id).ToList();
        Assert.Equal(corpus.Samples.Count, tested.Count);
        Assert.Equal(corpus.Samples.Select(s => s.Id).Order(), tested.Order());
    }

    private static int IndexOf(SpeechCorpus corpus, SpeechSample s) => corpus.Samples.ToList().IndexOf(s);

    [Theory]
    [MemberData(nameof(ProtocolsAndValidation))]
    public void Validation_NeverOverlapsTest(IemocapProtocol protocol, int validation)
    {
        foreach (var fold in Folds.Iemocap(IemocapLike(), protocol, AllValidation[validation]))
        {
            var test = fold.Test.Select(s => s.Id).ToHashSet();
            Assert.DoesNotContain(fold.Validation, s => test.Contains(s.Id));
            Assert.DoesNotContain(fold.Train, s => test.Contains(s.Id));
        }
    }

    [Theory]
    [InlineData(IemocapProtocol.Speaker, 0)]
    [InlineData(IemocapProtocol.Speaker, 1)]
    [InlineData(IemocapProtocol.Speaker, 3)]
    [InlineData(IemocapProtocol.Session, 0)]
    [InlineData(IemocapProtocol.Session, 2)]
    [InlineData(IemocapProtocol.Session, 4)]
    public void SpeakerAndSessionFolds_NeverShareASpeakerBetweenTrainingAndTest(IemocapProtocol protocol, int validation)
    {
        foreach (var fold in Folds.Iemocap(IemocapLike(), protocol, AllValidation[validation]))
        {
            var testSpeakers = fold.Test.Select(s => s.Speaker).ToHashSet();
            Assert.DoesNotContain(fold.Train, s => testSpeakers.Contains(s.Speaker));
            Assert.DoesNotContain(fold.Validation, s => testSpeakers.Contains(s.Speaker));
        }
    }

    [Fact]
    public void Paper_TestIsEveryUtteranceOfTheDialogsWithThePrefix_AndSharesSpeakersWithTraining()
    {
        var corpus = IemocapLike();
        var folds = Folds.Iemocap(corpus, IemocapProtocol.Paper, ValidationOptions.None);
        Assert.Equal(["Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F", "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M"], folds.Select(f => f.Name));
        foreach (var fold in folds)
        {
            Assert.Equal(corpus.Samples.Where(s => s.Dialog!.StartsWith(fold.Name + "_", StringComparison.Ordinal)).Select(s => s.Id), fold.Test.Select(s => s.Id));
            // Both actors speak in the test dialogs and in the session's other dialog (documented overlap).
            var testSpeakers = fold.Test.Select(s => s.Speaker).Distinct().Order().ToList();
            Assert.Equal([fold.Name[..5] + "F", fold.Name[..5] + "M"], testSpeakers);
            Assert.All(testSpeakers, sp => Assert.Contains(fold.Train, s => s.Speaker == sp));
        }
    }

    [Fact]
    public void Speaker_FoldsAreTheTenSpeakers()
    {
        var corpus = IemocapLike();
        var folds = Folds.Iemocap(corpus, IemocapProtocol.Speaker, ValidationOptions.None);
        Assert.Equal(["Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F", "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M"], folds.Select(f => f.Name));
        Assert.All(folds, f => Assert.All(f.Test, s => Assert.Equal(f.Name, s.Speaker)));
        Assert.All(folds, f => Assert.Equal(corpus.Samples.Count(s => s.Speaker == f.Name), f.Test.Count));
    }

    [Fact]
    public void Session_FoldsAreTheFiveSessions()
    {
        var folds = Folds.Iemocap(IemocapLike(), IemocapProtocol.Session, ValidationOptions.None);
        Assert.Equal(["Session1", "Session2", "Session3", "Session4", "Session5"], folds.Select(f => f.Name));
        Assert.All(folds, f => Assert.All(f.Test, s => Assert.Equal(f.Name, s.Session)));
        Assert.All(folds, f => Assert.Equal(2, f.Test.Select(s => s.Speaker).Distinct().Count()));
    }

    [Fact]
    public void UtteranceFraction_TakesTheShareFromEveryTrainingSpeakerAndLabel()
    {
        var corpus = IemocapLike();
        var options = new ValidationOptions { Fraction = 0.2, Seed = 11 };
        foreach (var fold in Folds.Iemocap(corpus, IemocapProtocol.Speaker, options))
        {
            var pool = fold.Train.Concat(fold.Validation).ToList();
            foreach (var speaker in pool.GroupBy(s => s.Speaker))
            {
                var held = fold.Validation.Count(s => s.Speaker == speaker.Key);
                Assert.InRange(held, Math.Floor(speaker.Count() * 0.2), Math.Ceiling(speaker.Count() * 0.2));
                foreach (var label in speaker.GroupBy(s => s.Label))
                {
                    var heldLabel = fold.Validation.Count(s => s.Speaker == speaker.Key && s.Label == label.Key);
                    Assert.InRange(heldLabel, Math.Floor(label.Count() * 0.2) - 1, Math.Ceiling(label.Count() * 0.2) + 1);
                }
            }
            Assert.InRange(fold.Validation.Count, 0.2 * pool.Count - 9, 0.2 * pool.Count + 9);
        }
    }

    [Fact]
    public void UtteranceFraction_IsReproducibleAndDependsOnTheSeed()
    {
        var corpus = IemocapLike();
        string[] Ids(int seed) => Folds.Iemocap(corpus, IemocapProtocol.Session, new ValidationOptions { Seed = seed })[2].Validation.Select(s => s.Id).ToArray();
        Assert.Equal(Ids(1), Ids(1));
        Assert.NotEqual(Ids(1), Ids(2));
    }

    [Fact]
    public void HoldOutSpeakers_HoldsOutWholeSpeakersOutsideTheTestFold()
    {
        var options = new ValidationOptions { Strategy = ValidationStrategy.HoldOutSpeakers, Speakers = 2 };
        foreach (var fold in Folds.Iemocap(IemocapLike(), IemocapProtocol.Paper, options))
        {
            var validationSpeakers = fold.Validation.Select(s => s.Speaker).Distinct().ToList();
            Assert.Equal(2, validationSpeakers.Count);
            Assert.DoesNotContain(fold.Train, s => validationSpeakers.Contains(s.Speaker));
            Assert.DoesNotContain(fold.Test, s => validationSpeakers.Contains(s.Speaker));
        }
    }

    [Fact]
    public void HoldOutSpeakers_TooFewCandidates_SaysSo()
    {
        var options = new ValidationOptions { Strategy = ValidationStrategy.HoldOutSpeakers, Speakers = 9 };
        var e = Assert.Throws<ArgumentException>(() => Folds.Iemocap(IemocapLike(), IemocapProtocol.Session, options));
        Assert.Contains("too few to hold out 9", e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void UtteranceFraction_OutOfRange_Throws(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Folds.LeaveOneSpeakerOut(IemocapLike(), new ValidationOptions { Fraction = fraction }));

    [Fact]
    public void KFoldBySpeaker_PartitionsSpeakersIntoBalancedFolds()
    {
        var corpus = IemocapLike();
        var folds = Folds.KFoldBySpeaker(corpus, 3, seed: 4, ValidationOptions.None);
        Assert.Equal(["Fold1", "Fold2", "Fold3"], folds.Select(f => f.Name));
        var speakerFold = folds.SelectMany(f => f.Test.Select(s => (s.Speaker, f.Name))).Distinct().ToList();
        Assert.Equal(10, speakerFold.Count); // each speaker in exactly one fold
        Assert.Equal(10, speakerFold.Select(x => x.Speaker).Distinct().Count());
        var sizes = folds.Select(f => f.Test.Count).ToList();
        Assert.True(sizes.Max() - sizes.Min() <= corpus.Samples.GroupBy(s => s.Speaker).Max(g => g.Count()), string.Join(",", sizes));
        foreach (var fold in folds)
        {
            var test = fold.Test.Select(s => s.Speaker).ToHashSet();
            Assert.DoesNotContain(fold.Train, s => test.Contains(s.Speaker));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(11)]
    public void KFoldBySpeaker_KOutOfRange_Throws(int k) =>
        Assert.Contains("k must be in [2, 10]", Assert.Throws<ArgumentOutOfRangeException>(() => Folds.KFoldBySpeaker(IemocapLike(), k)).Message);

    [Fact]
    public void Paper_NonIemocapDialogs_AreRejected()
    {
        var corpus = new SpeechCorpus("c", ["a"], [new SpeechSample("1", "/1.wav", "s", "a", Dialog: "podcast7")]);
        Assert.Contains("IEMOCAP dialog names", Assert.Throws<ArgumentException>(() => Folds.Iemocap(corpus, IemocapProtocol.Paper)).Message);
    }

    [Fact]
    public void Session_SamplesWithoutSession_AreRejected()
    {
        var corpus = new SpeechCorpus("c", ["a"], [new SpeechSample("1", "/1.wav", "s", "a")]);
        Assert.Contains("has no session", Assert.Throws<ArgumentException>(() => Folds.LeaveOneSessionOut(corpus)).Message);
    }

    [Fact]
    public void SingleSpeaker_CannotBeCrossValidated()
    {
        var corpus = new SpeechCorpus("c", ["a"], [new SpeechSample("1", "/1.wav", "s", "a"), new SpeechSample("2", "/2.wav", "s", "a")]);
        Assert.Contains("at least 2", Assert.Throws<ArgumentException>(() => Folds.LeaveOneSpeakerOut(corpus)).Message);
    }

    [Fact]
    public void Select_PicksFoldsByNameInTheGivenOrder()
    {
        var folds = Folds.Iemocap(IemocapLike(), IemocapProtocol.Session);
        Assert.Equal(["Session3", "Session1"], Folds.Select(folds, ["Session3", "Session1"]).Select(f => f.Name));
        var e = Assert.Throws<ArgumentException>(() => Folds.Select(folds, ["Session9"]));
        Assert.Contains("no fold named 'Session9'; the folds are Session1, Session2", e.Message);
    }
}
