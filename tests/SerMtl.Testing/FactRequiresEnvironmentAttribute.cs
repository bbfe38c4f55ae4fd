namespace SerMtl.Testing;

/// <summary>A fact that runs only when an environment variable is set to 1 (an opt-in for slow tests), skipped with the reason otherwise.</summary>
public sealed class FactRequiresEnvironmentAttribute : FactAttribute
{
    public FactRequiresEnvironmentAttribute(string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) != "1")
            Skip = $"slow; set {variable}=1 to run it";
    }
}
