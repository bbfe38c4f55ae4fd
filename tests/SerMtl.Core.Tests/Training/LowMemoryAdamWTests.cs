using SerMtl.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SerMtl.Tests.Training;

public class LowMemoryAdamWTests
{
    /// <summary>Two identical parameter sets, one per optimizer, with a decayed and an undecayed group each.</summary>
    private static (Parameter[] Weights, Parameter[] Biases) Parameters()
    {
        manual_seed(7);
        return ([new Parameter(randn(6, 5)), new Parameter(randn(3, 4))], [new Parameter(randn(6)), new Parameter(randn(3))]);
    }

    private static AdamW.ParamGroup[] Groups(Parameter[] weights, Parameter[] biases, double lr) =>
    [
        new(weights, new AdamW.Options { LearningRate = lr, InitialLearningRate = lr, beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weight_decay = 0.1, amsgrad = false, maximize = false }),
        new(biases, new AdamW.Options { LearningRate = lr, InitialLearningRate = lr, beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weight_decay = 0.0, amsgrad = false, maximize = false }),
    ];

    [Fact]
    public void Step_FiveSteps_GivesBitwiseTheSameParametersAsTorchSharpsAdamW()
    {
        var (w1, b1) = Parameters();
        var (w2, b2) = Parameters();
        using var reference = optim.AdamW(Groups(w1, b1, 0.01), 0.01, 0.9, 0.98, 1e-6, 0.1);
        using var lean = new LowMemoryAdamW(Groups(w2, b2, 0.01), 0.01, 0.9, 0.98, 1e-6, 0.1);
        for (var step = 0; step < 5; step++)
        {
            manual_seed(100 + step);
            var gradients = w1.Concat(b1).Select(p => randn(p.shape)).ToArray();
            foreach (var (p, g) in w1.Concat(b1).Zip(gradients)) p.grad = g.clone();
            foreach (var (p, g) in w2.Concat(b2).Zip(gradients)) p.grad = g.clone();
            if (step == 3) w2[1].grad = null; // a parameter without a gradient is left alone
            if (step == 3) w1[1].grad = null;
            reference.step();
            lean.step();
        }
        foreach (var (a, b) in w1.Concat(b1).Zip(w2.Concat(b2)))
            Assert.True(a.equal(b).all().item<bool>(), $"max diff {(a - b).abs().max().item<float>()}");
    }

    [Fact]
    public void Step_AmsGradGroup_IsRejected()
    {
        var (w, b) = Parameters();
        var groups = Groups(w, b, 0.01);
        groups[0].Options.amsgrad = true;
        using var optimizer = new LowMemoryAdamW(groups, 0.01, 0.9, 0.98, 1e-6, 0.1);
        w[0].grad = ones(6, 5);
        Assert.Throws<NotSupportedException>(() => optimizer.step());
    }
}
