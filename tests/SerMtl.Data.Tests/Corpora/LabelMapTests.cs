using SerMtl.Data.Corpora;

namespace SerMtl.Data.Tests.Corpora;

public class LabelMapTests
{
    [Fact]
    public void IemocapFourClass_MapsTheStandardSetInOrder()
    {
        var map = LabelMap.IemocapFourClass;
        Assert.Equal(["neutral", "happy", "angry", "sad"], map.Labels);
        foreach (var (raw, label) in new[] { ("neu", "neutral"), ("hap", "happy"), ("exc", "happy"), ("ang", "angry"), ("sad", "sad") })
        {
            Assert.True(map.TryMap(raw, out var mapped));
            Assert.Equal(label, mapped);
        }
        foreach (var raw in new[] { "fru", "sur", "fea", "dis", "oth", "xxx", "" })
            Assert.False(map.TryMap(raw, out _));
    }

    [Fact]
    public void TryMap_IgnoresCase()
    {
        Assert.True(LabelMap.IemocapFourClass.TryMap("EXC", out var label));
        Assert.Equal("happy", label);
    }

    [Fact]
    public void Parse_KeepsEntryOrderAndMergesRawLabels()
    {
        var map = LabelMap.Parse(" ANG = angry ,neutral=neutral, calm+neutral2 = neutral,");
        Assert.Equal(["angry", "neutral"], map.Labels);
        Assert.True(map.TryMap("calm", out var calm));
        Assert.Equal("neutral", calm);
        Assert.Equal("ANG=angry, neutral+calm+neutral2=neutral", map.ToString());
        Assert.Equal(map.ToString(), LabelMap.Parse(map.ToString()).ToString());
    }

    [Theory]
    [InlineData("", "no entries")]
    [InlineData("neu", "is not of the form")]
    [InlineData("neu=", "is not of the form")]
    [InlineData("a=b=c", "is not of the form")]
    [InlineData("+neu=neutral", "empty raw label")]
    [InlineData("neu=neutral,NEU=calm", "raw label 'NEU' is mapped twice")]
    public void Parse_BadSpec_SaysWhatIsWrong(string spec, string expected)
    {
        var e = Assert.Throws<FormatException>(() => LabelMap.Parse(spec));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith($"label map '{spec}'", e.Message);
    }

    [Fact]
    public void Constructor_ExplicitOrder_IsUsed()
    {
        var map = new LabelMap([new("a", "x"), new("b", "y"), new("c", "x")], ["y", "x"]);
        Assert.Equal(["y", "x"], map.Labels);
    }

    [Fact]
    public void Constructor_OrderThatDoesNotMatch_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new LabelMap([new("a", "x"), new("b", "y")], ["x", "z"]));
        Assert.Contains("must list each of", e.Message);
    }

    [Fact]
    public void Constructor_EmptyMap_Throws() =>
        Assert.Throws<ArgumentException>(() => new LabelMap([]));
}
