namespace CcatWorkflow.Core.Configuration;

/// <summary>One effective setting: its value and where it came from.</summary>
/// <param name="Definition">The setting.</param>
/// <param name="Value">The effective value (string, long, double, bool, string[] or a string map).</param>
/// <param name="Source">Which layer supplied it.</param>
/// <param name="Origin">The file path or variable name that supplied it; null for defaults.</param>
public sealed record SettingValue(SettingDefinition Definition, object Value, SettingSource Source, string? Origin);
