using SerMtl.Data.Corpora;
using SerMtl.Data.Iemocap;
using SerMtl.Data.Protocols;

namespace SerMtl.Data.Tests.Iemocap;

public class IemocapDatasetTests
{
    private static (TempDirectory Dir, IemocapDataset Data) LoadStandard(Action<IemocapTree>? edit = null, IemocapOptions? options = null)
    {
        var dir = new TempDirectory();
        var tree = IemocapTree.Standard();
        edit?.Invoke(tree);
        tree.Write(dir.Combine("IEMOCAP_full_release"));
        return (dir, IemocapDataset.Load(dir.Path, options));
    }

    [Theory]
    [InlineData("")]                                               // the release folder itself
    [InlineData("..")]                                             // its parent
    [InlineData("IEMOCAP_full_release/IEMOCAP_full_release")]     // unpacked twice
    public void Load_AcceptsReleaseFolderItsParentOrADoubledFolder(string layout)
    {
        using var dir = new TempDirectory();
        var release = layout switch
        {
            "" => dir.Combine("IEMOCAP_full_release"),
            ".." => dir.Combine("IEMOCAP_full_release"),
            _ => dir.Combine("IEMOCAP_full_release", "IEMOCAP_full_release"),
        };
        IemocapTree.Standard().Write(release);
        var root = layout == "" ? release : dir.Path;
        var data = IemocapDataset.Load(root);
        Assert.Equal(release, data.ReleaseDirectory);
        Assert.Equal([1, 2], data.Sessions);
        Assert.Equal(13, data.Utterances.Count);
    }

    [Fact]
    public void Load_DoubledFolderGivenAsTheOuterRelease_FindsTheInnerOne()
    {
        using var dir = new TempDirectory();
        var release = dir.Combine("IEMOCAP_full_release", "IEMOCAP_full_release");
        IemocapTree.Standard().Write(release);
        Assert.Equal(release, IemocapDataset.Load(dir.Combine("IEMOCAP_full_release")).ReleaseDirectory);
    }

    [Fact]
    public void Load_FolderWithoutSessions_SaysWhereItLooked()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("something"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(dir.Path));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("Session1", e.Message);
        Assert.Contains("IEMOCAP_full_release/IEMOCAP_full_release", e.Message);
    }

    [Fact]
    public void Load_MissingRoot_ThrowsDirectoryNotFound()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<DirectoryNotFoundException>(() => IemocapDataset.Load(dir.Combine("nope")));
        Assert.Contains("nope", e.Message);
    }

    [Fact]
    public void Load_SpeakerComesFromTheLastSegmentNotTheDialogName()
    {
        var (dir, data) = LoadStandard();
        using var _ = dir;
        var byId = data.Utterances.ToDictionary(u => u.Id);
        Assert.Equal("Ses01M", byId["Ses01F_impro01_M000"].Speaker);
        Assert.Equal(Gender.Male, byId["Ses01F_impro01_M000"].Gender);
        Assert.Equal("Ses01F", byId["Ses01M_script01_1_F000"].Speaker);
        Assert.Equal(Gender.Female, byId["Ses01M_script01_1_F000"].Gender);
        Assert.Equal("Ses02M", byId["Ses02M_script02_1b_M001"].Speaker);
        Assert.Equal(["Ses01F", "Ses01M", "Ses02F", "Ses02M"], data.Utterances.Select(u => u.Speaker).Distinct().Order());
    }

    [Fact]
    public void Load_ReadsEveryFieldOfAnUtterance()
    {
        var (dir, data) = LoadStandard();
        using var _ = dir;
        var u = data.Utterances.Single(x => x.Id == "Ses01F_impro01_F000");
        Assert.Equal(1, u.Session);
        Assert.Equal("Ses01F_impro01", u.Dialog);
        Assert.Equal(IemocapDialogKind.Improvised, u.Kind);
        Assert.Equal(6.2901, u.Start);
        Assert.Equal(8.2357, u.End);
        Assert.Equal("neu", u.RawLabel);
        Assert.Equal((2.5, 2.5, 2.5), (u.Valence, u.Arousal, u.Dominance));
        Assert.Equal("Excuse me.", u.Transcript);
        Assert.Equal(Path.Combine(data.ReleaseDirectory, "Session1", "sentences", "wav", "Ses01F_impro01", "Ses01F_impro01_F000.wav"), u.WavPath);
        Assert.True(File.Exists(u.WavPath));

        var s = data.Utterances.Single(x => x.Id == "Ses01F_impro01_M000");
        Assert.Equal((1.5, 3.25, 2.5, 3.0, 3.5), (s.Start, s.End, s.Valence, s.Arousal, s.Dominance));

        var scripted = data.Utterances.Single(x => x.Id == "Ses02M_script02_1b_M000");
        Assert.Equal(IemocapDialogKind.Scripted, scripted.Kind);
        Assert.Equal("Ses02M_script02_1b", scripted.Dialog);
        Assert.Equal(2, scripted.Session);
    }

    [Fact]
    public void Load_KeepsTranscriptTextAsWrittenAndEmptyTranscriptsAsEmpty()
    {
        var (dir, data) = LoadStandard();
        using var _ = dir;
        var byId = data.Utterances.ToDictionary(u => u.Id);
        Assert.Equal("[LAUGHTER] Yeah, sure!", byId["Ses01F_impro01_F001"].Transcript);
        Assert.Equal("", byId["Ses01M_script01_1_F000"].Transcript);
    }

    [Fact]
    public void Load_OrdersBySessionDialogAndId_AndKeepsEveryRawLabel()
    {
        var (dir, data) = LoadStandard();
        using var _ = dir;
        Assert.Equal(data.Utterances.OrderBy(u => u.Session).ThenBy(u => u.Dialog, StringComparer.Ordinal).ThenBy(u => u.Id, StringComparer.Ordinal), data.Utterances);
        Assert.Equal(["ang", "exc", "fru", "hap", "neu", "sad", "sur", "xxx"], data.Utterances.Select(u => u.RawLabel).Distinct().Order());
        Assert.Empty(data.Skipped);
    }

    [Fact]
    public void Load_CrlfFiles_ReadTheSameAsLf()
    {
        var (lfDir, lf) = LoadStandard();
        var (crlfDir, crlf) = LoadStandard(t => t.Crlf = true);
        using var _ = lfDir;
        using var __ = crlfDir;
        Assert.Equal(lf.Utterances.Select(u => u with { WavPath = "" }), crlf.Utterances.Select(u => u with { WavPath = "" }));
    }

    [Fact]
    public void Load_IgnoresMacOsJunkSubfolderFilesAndEvaluatorLines()
    {
        // The tree holds "._*" binary files, a "[" line in Categorical/, evaluator lines and headers; none may
        // be read as labels.
        var (dir, data) = LoadStandard(t => t.MacOsJunk = true);
        using var _ = dir;
        Assert.Equal(13, data.Utterances.Count);
    }

    [Fact]
    public void Load_UnlabelledAndIdLessTranscriptLines_AreSkipped()
    {
        // Standard() writes FXX/MXX lines (one id twice) and "M: ..." lines in every transcription file.
        var (dir, data) = LoadStandard(t => t.ExtraTranscriptLines["Ses01F_impro01"] = ["Ses01F_impro01_MXX3 [009.0-010.0]: hm", "just text"]);
        using var _ = dir;
        Assert.DoesNotContain(data.Utterances, u => u.Id.Contains("XX", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_MalformedSummaryLine_NamesFileAndLine()
    {
        using var dir = new TempDirectory();
        var tree = IemocapTree.Standard();
        tree.ExtraEmoLines["Ses02F_impro02"] = ["[12.5 - 13.0]\tSes02F_impro02_F009\tneu"];
        tree.Write(dir.Combine("IEMOCAP_full_release"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(dir.Path));
        Assert.Contains("Ses02F_impro02.txt: line 13:", e.Message);
        Assert.Contains("[V, A, D]", e.Message);
    }

    [Fact]
    public void Load_UtteranceOfAnotherDialog_IsAnError()
    {
        using var dir = new TempDirectory();
        var tree = IemocapTree.Standard();
        tree.ExtraEmoLines["Ses02F_impro02"] = ["[12.5 - 13.0]\tSes02F_impro03_F009\tneu\t[2.5, 2.5, 2.5]"];
        tree.Write(dir.Combine("IEMOCAP_full_release"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(dir.Path));
        Assert.Contains("'Ses02F_impro03_F009' does not belong to dialog 'Ses02F_impro02'", e.Message);
    }

    [Fact]
    public void Load_IdWithoutGenderLetter_IsAnError()
    {
        using var dir = new TempDirectory();
        new IemocapTree().Add("Ses01F_impro01", new TreeUtterance("Ses01F_impro01_X000", "neu")).Write(dir.Combine("r"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(dir.Combine("r")));
        Assert.Contains("should end in F or M and a number, found 'X000'", e.Message);
    }

    [Fact]
    public void Load_DuplicateLabel_IsAnError()
    {
        using var dir = new TempDirectory();
        new IemocapTree().Add("Ses01F_impro01", new TreeUtterance("Ses01F_impro01_F000", "neu"), new TreeUtterance("Ses01F_impro01_F000", "ang"))
            .Write(dir.Combine("r"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(dir.Combine("r")));
        Assert.Contains("'Ses01F_impro01_F000' is already labelled on line 3", e.Message);
    }

    [Fact]
    public void Load_DuplicateTranscriptOfALabelledUtterance_IsAnError()
    {
        using var dir = new TempDirectory();
        var tree = IemocapTree.Standard();
        tree.ExtraTranscriptLines["Ses01F_impro01"] = ["Ses01F_impro01_M000 [001.0-002.0]: again"];
        tree.Write(dir.Combine("r"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(dir.Combine("r")));
        Assert.Contains("a second transcription of 'Ses01F_impro01_M000'", e.Message);
    }

    [Fact]
    public void Load_DialogFileInTheWrongSession_IsAnError()
    {
        using var dir = new TempDirectory();
        var release = IemocapTree.Standard().Write(dir.Combine("r"));
        File.Move(Path.Combine(release, "Session2", "dialog", "EmoEvaluation", "Ses02F_impro02.txt"),
            Path.Combine(release, "Session1", "dialog", "EmoEvaluation", "Ses02F_impro02.txt"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(release));
        Assert.Contains("dialog 'Ses02F_impro02' belongs to Session2, not Session1", e.Message);
    }

    [Fact]
    public void Load_SessionWithoutEmoEvaluation_IsAnError()
    {
        using var dir = new TempDirectory();
        var release = IemocapTree.Standard().Write(dir.Combine("r"));
        Directory.CreateDirectory(Path.Combine(release, "Session3", "sentences"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(release));
        Assert.Contains("Session3: no dialog/EmoEvaluation folder", e.Message);
    }

    [Fact]
    public void Load_MissingWav_IsAnErrorByDefault()
    {
        using var dir = new TempDirectory();
        var tree = IemocapTree.Standard().Add("Ses02F_impro02", new TreeUtterance("Ses02F_impro02_M001", "neu", Wav: false));
        var release = tree.Write(dir.Combine("r"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(release));
        Assert.Contains("1 labelled utterance(s) have missing files", e.Message);
        Assert.Contains("Ses02F_impro02_M001: no wav file " + Path.Combine(release, "Session2", "sentences", "wav", "Ses02F_impro02", "Ses02F_impro02_M001.wav"), e.Message);
        Assert.Contains("MissingFiles = Skip", e.Message);
    }

    [Fact]
    public void Load_MissingWavAndTranscriptWithSkip_LeavesThemOutAndReportsThem()
    {
        using var dir = new TempDirectory();
        var tree = IemocapTree.Standard()
            .Add("Ses02F_impro02", new TreeUtterance("Ses02F_impro02_M001", "neu", Wav: false))
            .Add("Ses02F_impro02", new TreeUtterance("Ses02F_impro02_M002", "ang", Text: null));
        var release = tree.Write(dir.Combine("r"));
        var data = IemocapDataset.Load(release, new IemocapOptions { MissingFiles = MissingFilePolicy.Skip });
        Assert.Equal(13, data.Utterances.Count);
        Assert.Equal(["Ses02F_impro02_M001", "Ses02F_impro02_M002"], data.Skipped.Select(s => s.Id).Order());
        Assert.Contains("no wav file", data.Skipped.Single(s => s.Id.EndsWith("M001", StringComparison.Ordinal)).Reason);
        Assert.Contains("no line for it in", data.Skipped.Single(s => s.Id.EndsWith("M002", StringComparison.Ordinal)).Reason);
    }

    [Fact]
    public void Load_MissingTranscriptionFile_IsAnErrorOrSkipsTheDialog()
    {
        using var dir = new TempDirectory();
        var tree = IemocapTree.Standard();
        tree.NoTranscriptFile.Add("Ses01M_script01_1");
        var release = tree.Write(dir.Combine("r"));
        var e = Assert.Throws<InvalidDataException>(() => IemocapDataset.Load(release));
        Assert.Contains("3 labelled utterance(s) have missing files", e.Message);
        Assert.Contains("no transcription file", e.Message);

        var data = IemocapDataset.Load(release, new IemocapOptions { MissingFiles = MissingFilePolicy.Skip });
        Assert.Equal(10, data.Utterances.Count);
        Assert.Equal(3, data.Skipped.Count);
    }

    [Fact]
    public void ToCorpus_FourClassMap_MergesExcitedIntoHappyAndDropsTheRest()
    {
        var (dir, data) = LoadStandard();
        using var _ = dir;
        var corpus = data.ToCorpus();
        Assert.Equal(["neutral", "happy", "angry", "sad"], corpus.Labels);
        Assert.Equal(10, corpus.Samples.Count);
        Assert.Equal([2, 3, 2, 3], corpus.CountByLabel());
        var excited = corpus.Samples.Single(s => s.Id == "Ses01F_impro01_F001");
        Assert.Equal("happy", excited.Label);
        Assert.Equal("Session1", excited.Session);
        Assert.Equal("Ses01F_impro01", excited.Dialog);
        Assert.Equal("Ses01F", excited.Speaker);
        Assert.Equal("[LAUGHTER] Yeah, sure!", excited.Transcript);
        Assert.DoesNotContain(corpus.Samples, s => s.Id is "Ses01F_impro01_M001" or "Ses01F_impro01_M002" or "Ses02M_script02_1b_M001");
    }

    [Fact]
    public void ToCorpus_CustomMap_UsesItsLabelsAndOrder()
    {
        var (dir, data) = LoadStandard();
        using var _ = dir;
        var corpus = data.ToCorpus(LabelMap.Parse("fru=frustrated, neu=neutral, sur+xxx=other"));
        Assert.Equal(["frustrated", "neutral", "other"], corpus.Labels);
        Assert.Equal([1, 2, 2], corpus.CountByLabel());
    }

    [Fact]
    public void Folds_DelegatesToTheProtocol()
    {
        var (dir, data) = LoadStandard();
        using var _ = dir;
        var folds = data.Folds(IemocapProtocol.Session, validation: ValidationOptions.None);
        Assert.Equal(["Session1", "Session2"], folds.Select(f => f.Name));
        Assert.Equal(6, folds[0].Test.Count);
        Assert.Equal(4, folds[0].Train.Count);
    }
}
