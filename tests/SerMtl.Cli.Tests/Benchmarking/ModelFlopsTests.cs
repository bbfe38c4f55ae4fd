using SerMtl.Cli.Benchmarking;
using SerMtl.Modeling;

namespace SerMtl.Cli.Tests.Benchmarking;

public class ModelFlopsTests
{
    [Fact]
    public void Forward_Wav2Vec2Base5Seconds_IsAbout72Gflop()
    {
        var config = Wav2Vec2Config.Base;
        Assert.Equal(249, config.OutputLength(80_000));
        var encoder = ModelFlops.FeatureEncoder(config, 80_000);
        var total = ModelFlops.Forward(config, 80_000, vocabularySize: 32, classCount: 4);

        // Conv 0: 2·512·1·10·15999; convs 1-4 (k 3): 2·512·512·3·(7999+3999+1999+999); convs 5-6 (k 2): 2·512·512·2·(499+249).
        var expectedEncoder = 2.0 * 512 * 10 * 15999 + 2.0 * 512 * 512 * 3 * (7999 + 3999 + 1999 + 999) + 2.0 * 512 * 512 * 2 * (499 + 249);
        Assert.Equal(expectedEncoder, encoder);
        // 12 layers of 8·T·H² + 4·T²·H + 4·T·H·I, projection 2·T·512·768, positional conv 2·768·48·128·250, heads.
        const double t = 249, h = 768;
        var expected = expectedEncoder + 12 * (8 * t * h * h + 4 * t * t * h + 4 * t * h * 3072)
            + 2 * t * 512 * h + 2 * h * 48 * 128 * 250 + 2 * t * h * 32 + 2 * h * 4;
        Assert.Equal(expected, total, 1e-6 * expected);
        Assert.InRange(total / 1e9, 71.0, 72.5);
    }

    [Fact]
    public void TrainingStep_IsThreeForwardsWithoutTheFrozenEncodersBackward()
    {
        var config = Wav2Vec2Config.Base;
        var forward = ModelFlops.Forward(config, 48_000, 32, 4);
        var encoder = ModelFlops.FeatureEncoder(config, 48_000);
        Assert.Equal(3 * forward, ModelFlops.TrainingStep(config, 48_000, 32, 4, featureEncoderFrozen: false), 1e-6 * forward);
        Assert.Equal(3 * forward - 2 * encoder, ModelFlops.TrainingStep(config, 48_000, 32, 4, featureEncoderFrozen: true), 1e-6 * forward);
    }
}
