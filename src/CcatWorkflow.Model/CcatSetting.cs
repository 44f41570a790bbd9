namespace CcatWorkflow;

/// <summary>
/// One effective setting as Get-CcatConfiguration shows it. <see cref="Value"/> is typed as
/// Dynaconf reads it (Int64, Double, Boolean, String, object[] or an ordered table, null for
/// none); <see cref="Text"/> is the same for display. Secrets are masked in both.
/// </summary>
public sealed class CcatSetting
{
    /// <summary>Creates a setting record.</summary>
    public CcatSetting(string name, object? value, string text, string source, string? origin, string description, bool isSecret, string environment, bool isKnown = true)
    {
        Name = name;
        Value = value;
        Text = text;
        Source = source;
        Origin = origin;
        Description = description;
        IsSecret = isSecret;
        Environment = environment;
        IsKnown = isKnown;
    }

    /// <summary>The setting's name, as in settings.toml.</summary>
    public string Name { get; }

    /// <summary>The effective value, typed as Dynaconf reads it ("********" for a secret that is set).</summary>
    public object? Value { get; }

    /// <summary>The effective value as text (TOML-like: lists in brackets, tables in braces).</summary>
    public string Text { get; }

    /// <summary>Default, FileDefault, FileEnvironment, SecretsFile or EnvironmentVariable; Detected for a read-only entry the module works out (LOCAL_RUNNER_IN_USE).</summary>
    public string Source { get; }

    /// <summary>The file and section, or the variable, that supplied the value.</summary>
    public string? Origin { get; }

    /// <summary>What the setting means (empty for a key the module does not know).</summary>
    public string Description { get; }

    /// <summary>True for secrets (never shown).</summary>
    public bool IsSecret { get; }

    /// <summary>The Dynaconf environment in force.</summary>
    public string Environment { get; }

    /// <summary>False for a key of the files or a CCAT_WORKFLOW_MANAGER_ variable the module does not use (-IncludeUnknown).</summary>
    public bool IsKnown { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name}={Text}";
}
