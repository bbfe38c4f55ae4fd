namespace SerMtl.Cli.Tests;

/// <summary>
/// Tests that train: the trainer seeds torch's global generator before every forward pass, so they must not run beside
/// each other (xunit wants a collection defined in each test assembly).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection
{
    public const string Name = "torch random generator";
}
