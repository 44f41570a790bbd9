namespace CcatWorkflow.Core.Configuration;

/// <summary>A key the module does not know (it may belong to the Python service sharing the file or prefix).</summary>
/// <param name="Name">The key, upper case as Dynaconf shows it.</param>
/// <param name="Value">The value as Dynaconf reads it (null for none).</param>
/// <param name="Source">Which layer supplied it.</param>
/// <param name="Origin">The file and section, or the variable.</param>
public sealed record UnknownSetting(string Name, object? Value, SettingSource Source, string Origin);
