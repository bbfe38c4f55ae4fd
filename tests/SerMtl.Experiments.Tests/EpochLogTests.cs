using SerMtl.Experiments;

namespace SerMtl.Experiments.Tests;

public class EpochLogTests
{
    [Fact]
    public void Append_NewFile_WritesTheHeaderOnceThenOneRowPerEpoch()
    {
        using var dir = new TempDirectory();
        var path = EpochLog.PathForFold(dir.Path, "Ses01F");

        EpochLog.Append(path, new EpochRecord { Epoch = 1, Step = 10, TrainLoss = 3.5, ValUa = 0.41 });
        EpochLog.Append(path, new EpochRecord { Epoch = 2, Step = 20, TrainLoss = 2.5, ValUa = 0.52, ValWer = 0.8 });

        var lines = File.ReadAllLines(path);
        Assert.Equal("epoch,step,train_loss,train_ce,train_ctc,lr,val_wa,val_ua,val_wer,seconds,utterances_per_second", lines[0]);
        Assert.Equal("1,10,3.5,,,,,0.41,,,", lines[1]);
        Assert.Equal(3, lines.Length);
        Assert.Equal(Path.Combine(dir.Path, "folds", "Ses01F", "epochs.csv"), path);
    }

    [Fact]
    public void Read_WhatAppendWrote_RoundTripsEveryField()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, EpochLog.FileName);
        var record = new EpochRecord
        {
            Epoch = 3, Step = 360, TrainLoss = 4.1234567890123, TrainCe = 1.1, TrainCtc = 30.2, Lr = 4.5e-5, ValWa = 0.61,
            ValUa = 0.6, ValWer = 0.35, Seconds = 62.5, UtterancesPerSecond = 71.25,
        };

        EpochLog.Append(path, record);

        Assert.Equal(record, Assert.Single(EpochLog.Read(path)));
    }

    [Fact]
    public void Parse_OtherColumnOrderMissingAndUnknownColumns_IsTolerated()
    {
        var rows = EpochLog.Parse("\uFEFFval_ua,Epoch,custom\r\n0.5,2,x\r\n\r\n0.4,1,y\r\n", "log");

        Assert.Equal([1, 2], rows.Select(r => r.Epoch));
        Assert.Equal([0.4, 0.5], rows.Select(r => r.ValUa!.Value));
        Assert.All(rows, r => Assert.Null(r.ValWer));
    }

    [Fact]
    public void Parse_RepeatedEpochAfterResume_KeepsTheLastRow()
    {
        var rows = EpochLog.Parse("epoch,val_ua\n1,0.3\n2,0.4\n2,0.45\n3,0.5\n", "log");

        Assert.Equal([0.3, 0.45, 0.5], rows.Select(r => r.ValUa!.Value));
    }

    [Fact]
    public void Parse_NonFiniteAndEmptyAndShortRows_BecomeNaNInfinityAndNull()
    {
        var rows = EpochLog.Parse("epoch,train_loss,train_ctc,val_wer\n1,NaN,inf,\n2,1.5\n", "log");

        Assert.True(double.IsNaN(rows[0].TrainLoss!.Value));
        Assert.Equal(double.PositiveInfinity, rows[0].TrainCtc);
        Assert.Null(rows[0].ValWer);
        Assert.Null(rows[1].TrainCtc);
    }

    [Theory]
    [InlineData("", "empty file")]
    [InlineData("step,val_ua\n1,0.5\n", "no 'epoch' column")]
    [InlineData("epoch,val_ua\n1,abc\n", "line 2, column 'val_ua': expected a number, found 'abc'")]
    [InlineData("epoch,val_ua\n0,0.5\n", "line 2, column 'epoch': expected an epoch number >= 1")]
    [InlineData("epoch,val_ua\n1.5,0.5\n", "column 'epoch'")]
    [InlineData("epoch,val_ua\n1,0.5,7\n", "line 2 has 3 cells, the header has 2 columns")]
    [InlineData("epoch,val_ua,val_ua\n1,0.5,0.5\n", "column 'val_ua' appears twice")]
    [InlineData("epoch,step\n1,-4\n", "column 'step'")]
    public void Parse_BadInput_SaysWhereAndWhat(string text, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => EpochLog.Parse(text, "runs/x/epochs.csv"));

        Assert.StartsWith("runs/x/epochs.csv: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Append_ToALogWithAnotherHeader_Refuses()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, EpochLog.FileName);
        File.WriteAllText(path, "epoch,acc\n1,0.5\n");

        var e = Assert.Throws<InvalidDataException>(() => EpochLog.Append(path, new EpochRecord { Epoch = 2 }));

        Assert.Contains("header is 'epoch,acc'", e.Message);
    }
}
