namespace CcatWorkflow.Core.Configuration;

/// <summary>One effective setting: its value and where it came from.</summary>
/// <param name="Definition">The setting.</param>
/// <param name="Value">The effective value (string, long, double, bool, string[] or a string map).</param>
/// <param name="Source">Which layer supplied it.</param>
/// <param name="Origin">The file path or variable name that supplied it; null for defaults.</param>
public sealed record SettingValue(SettingDefinition Definition, object Value, SettingSource Source, string? Origin)
{
    /// <summary>
    /// The value exactly as Dynaconf reads it (an integer 3 given to a number setting stays the
    /// integer 3; null for none): what Get-CcatConfiguration shows. <see cref="Value"/> is the
    /// setting's own type, what the backends read.
    /// </summary>
    public object? AsRead { get; init; } = Value;
}
