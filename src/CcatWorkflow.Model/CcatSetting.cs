namespace CcatWorkflow;

/// <summary>One effective setting as Get-CcatConfiguration shows it. Secrets are masked.</summary>
public sealed class CcatSetting
{
    /// <summary>Creates a setting record.</summary>
    public CcatSetting(string name, string value, string source, string? origin, string description, bool isSecret, string environment)
    {
        Name = name;
        Value = value;
        Source = source;
        Origin = origin;
        Description = description;
        IsSecret = isSecret;
        Environment = environment;
    }

    /// <summary>The setting's name, as in settings.toml.</summary>
    public string Name { get; }

    /// <summary>The effective value as text ("********" for a secret that is set).</summary>
    public string Value { get; }

    /// <summary>Default, FileDefault, FileEnvironment, SecretsFile or EnvironmentVariable; Detected for a read-only entry the module works out (LOCAL_RUNNER_IN_USE).</summary>
    public string Source { get; }

    /// <summary>The file and section, or the variable, that supplied the value.</summary>
    public string? Origin { get; }

    /// <summary>What the setting means.</summary>
    public string Description { get; }

    /// <summary>True for secrets (never shown).</summary>
    public bool IsSecret { get; }

    /// <summary>The Dynaconf environment in force.</summary>
    public string Environment { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name}={Value}";
}
