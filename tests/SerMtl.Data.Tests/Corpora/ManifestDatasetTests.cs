using SerMtl.Data.Corpora;
using SerMtl.Data.Protocols;
using SerMtl.Data.Tests.Audio;

namespace SerMtl.Data.Tests.Corpora;

public class ManifestDatasetTests
{
    private static readonly byte[] Wav = WavBuilder.Pcm16Mono([0.1f, 0.2f]);

    private static TempDirectory WithAudio(params string[] files)
    {
        var dir = new TempDirectory();
        foreach (var f in files) dir.WriteBytes(f, Wav);
        return dir;
    }

    [Fact]
    public void Load_Csv_ResolvesRelativePathsAndReadsQuotedFields()
    {
        using var dir = WithAudio("audio/a.wav", "audio/b.wav", "c.wav");
        var absolute = dir.Combine("c.wav");
        var manifest = dir.WriteText("lists/train.csv",
            "Path,Emotion,Text,Speaker,extra\n" +
            "../audio/a.wav,ang,\"Well, \"\"no\"\", she said\",spk1,x\n" +
            $"\"../audio/b.wav\",neu,\"two\nlines\",spk2,\n" +
            $"{absolute},ang,,spk1,y\n");
        var data = ManifestDataset.Load(manifest);
        Assert.True(data.HasSpeakers);
        Assert.Equal(3, data.Samples.Count);
        var a = data.Samples[0];
        Assert.Equal(dir.Combine("audio", "a.wav"), a.AudioPath);
        Assert.Equal("ang", a.Label);
        Assert.Equal("Well, \"no\", she said", a.Transcript);
        Assert.Equal("spk1", a.Speaker);
        Assert.Equal("../audio/a.wav", a.Id);
        Assert.Equal("two\nlines", data.Samples[1].Transcript);
        Assert.Equal(absolute, data.Samples[2].AudioPath);
        Assert.Null(data.Samples[2].Transcript);
    }

    [Fact]
    public void Load_TsvWithCrlfBomAndIdColumn_Works()
    {
        using var dir = WithAudio("x/1.wav", "x/2.wav");
        var manifest = dir.WriteText("m.tsv", "\uFEFFid\taudio\tlabel\ttranscript\tspeaker_id\tsession\r\nu1\tx/1.wav\thappy\tHi, there\tA\ts1\r\n\r\nu2\tx\\2.wav\tsad\t\"quoted\"\tB\ts2\r\n");
        var data = ManifestDataset.Load(manifest);
        Assert.Equal(["u1", "u2"], data.Samples.Select(s => s.Id));
        Assert.Equal("Hi, there", data.Samples[0].Transcript);
        Assert.Equal("quoted", data.Samples[1].Transcript);
        Assert.Equal(dir.Combine("x", "2.wav"), data.Samples[1].AudioPath);
        Assert.Equal(["s1", "s2"], data.Samples.Select(s => s.Session));
    }

    [Fact]
    public void Load_UnknownExtension_SniffsTheDelimiterFromTheHeader()
    {
        using var dir = WithAudio("1.wav");
        var manifest = dir.WriteText("m.txt", "path\tlabel\n1.wav\tneu\n");
        Assert.Single(ManifestDataset.Load(manifest).Samples);
        var commas = dir.WriteText("n.list", "path,label\n1.wav,neu\n");
        Assert.Single(ManifestDataset.Load(commas).Samples);
    }

    [Fact]
    public void Load_NoSpeakerColumn_SpeakerFoldsExplainWhatIsMissing()
    {
        using var dir = WithAudio("1.wav", "2.wav");
        var data = ManifestDataset.Load(dir.WriteText("m.csv", "file,label\n1.wav,a\n2.wav,b\n"));
        Assert.False(data.HasSpeakers);
        var e = Assert.Throws<ArgumentException>(() => Folds.LeaveOneSpeakerOut(data.ToCorpus()));
        Assert.Contains("has no speaker", e.Message);
        Assert.Contains("speaker column", e.Message);
    }

    [Fact]
    public void ToCorpus_WithoutMap_UsesSortedRawLabels_WithMap_DropsUnmapped()
    {
        using var dir = WithAudio("1.wav", "2.wav", "3.wav");
        var data = ManifestDataset.Load(dir.WriteText("m.csv", "path,label,speaker\n1.wav,sad,a\n2.wav,ANG,b\n3.wav,calm,b\n"));
        var raw = data.ToCorpus();
        Assert.Equal(["ANG", "calm", "sad"], raw.Labels);
        Assert.Equal("m.csv", raw.Name);
        var mapped = data.ToCorpus(LabelMap.Parse("ang=angry,sad=sad"));
        Assert.Equal(["angry", "sad"], mapped.Labels);
        Assert.Equal(["sad", "angry"], mapped.Samples.Select(s => s.Label));
    }

    [Theory]
    [InlineData("label,speaker\nneu,a\n", "line 1: no path column")]
    [InlineData("path,speaker\n1.wav,a\n", "line 1: no label column")]
    [InlineData("path,audio,label\n1.wav,1.wav,neu\n", "columns 'path' and 'audio' both mean path")]
    [InlineData("path,label\n1.wav,neu\n1.wav,neu,extra\n", "line 3: 3 field(s), expected 2")]
    [InlineData("path,label\n1.wav,\n", "line 2: empty label (column 'label')")]
    [InlineData("path,label,speaker\n1.wav,neu, \n", "line 2: empty speaker")]
    [InlineData("path,label\n1.wav,neu\n\n1.wav,ang\n", "line 4: id '1.wav' already used on line 2")]
    [InlineData("path,label\n\"1.wav,neu\n", "line 2: quoted field is never closed")]
    [InlineData("path,label\n\"1.wav\"x,neu\n", "line 2: unexpected 'x' after a closing quote")]
    [InlineData("", "the manifest is empty")]
    public void Load_MalformedManifest_NamesFileAndLine(string text, string expected)
    {
        using var dir = WithAudio("1.wav");
        var manifest = dir.WriteText("m.csv", text);
        var e = Assert.Throws<InvalidDataException>(() => ManifestDataset.Load(manifest));
        Assert.StartsWith(manifest + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Load_LineNumbersCountLinesInsideQuotedFields()
    {
        using var dir = WithAudio("1.wav");
        var manifest = dir.WriteText("m.csv", "path,label,text\n1.wav,neu,\"a\nb\nc\"\n2.wav,,x\n");
        Assert.Contains("line 5: empty label", Assert.Throws<InvalidDataException>(() => ManifestDataset.Load(manifest)).Message);
    }

    [Fact]
    public void Load_MissingAudio_IsAnErrorOrSkippedOnRequest()
    {
        using var dir = WithAudio("1.wav");
        var manifest = dir.WriteText("m.csv", "path,label\n1.wav,neu\n2.wav,ang\n3.wav,ang\n");
        var e = Assert.Throws<InvalidDataException>(() => ManifestDataset.Load(manifest));
        Assert.Contains("2 audio file(s) not found", e.Message);
        Assert.Contains("line 3: audio file not found: " + dir.Combine("2.wav"), e.Message);

        var data = ManifestDataset.Load(manifest, new ManifestOptions { MissingFiles = MissingFilePolicy.Skip });
        Assert.Single(data.Samples);
        Assert.Equal(["2.wav", "3.wav"], data.Skipped.Select(s => s.Id));
    }

    [Fact]
    public void Load_ExplicitDelimiter_OverridesTheExtension()
    {
        using var dir = WithAudio("1.wav");
        var manifest = dir.WriteText("m.csv", "path;label\n1.wav;neu\n");
        Assert.Equal("neu", ManifestDataset.Load(manifest, new ManifestOptions { Delimiter = ';' }).Samples[0].Label);
    }

    [Fact]
    public void Load_MissingManifest_ThrowsFileNotFound()
    {
        using var dir = new TempDirectory();
        Assert.Throws<FileNotFoundException>(() => ManifestDataset.Load(dir.Combine("none.csv")));
    }

    [Fact]
    public void ToCorpus_HeaderOnly_SaysThereAreNoSamples()
    {
        using var dir = new TempDirectory();
        var data = ManifestDataset.Load(dir.WriteText("m.csv", "path,label\n"));
        Assert.Contains("no samples", Assert.Throws<InvalidOperationException>(() => data.ToCorpus()).Message);
    }

    [Fact]
    public void Manifest_SupportsSpeakerProtocols()
    {
        var rows = new List<string> { "path,label,speaker" };
        var files = new List<string>();
        for (var s = 0; s < 5; s++)
        {
            for (var i = 0; i < 4; i++)
            {
                files.Add($"s{s}/{i}.wav");
                rows.Add($"s{s}/{i}.wav,{(i % 2 == 0 ? "a" : "b")},speaker{s}");
            }
        }
        using var dir = WithAudio([.. files]);
        var corpus = ManifestDataset.Load(dir.WriteText("m.csv", string.Join("\n", rows))).ToCorpus();
        var loso = Folds.LeaveOneSpeakerOut(corpus);
        Assert.Equal(["speaker0", "speaker1", "speaker2", "speaker3", "speaker4"], loso.Select(f => f.Name));
        Assert.All(loso, f => Assert.Equal(4, f.Test.Count));
        var kfold = Folds.KFoldBySpeaker(corpus, 2);
        Assert.Equal(20, kfold.Sum(f => f.Test.Count));
    }
}
