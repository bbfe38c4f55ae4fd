namespace SerMtl.Tests.Training;

/// <summary>
/// Tests that train and compare weights: the trainer seeds torch's global generator before every forward pass, so
/// these must not run beside other tests that draw from it (or seed it) at the same time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection
{
    public const string Name = "torch random generator";
}
