namespace CcatWorkflow.Core.Configuration;

/// <summary>One known setting: its name, type, built-in default and meaning.</summary>
/// <param name="Name">The setting's name as in settings.toml (upper case).</param>
/// <param name="Type">Its value type.</param>
/// <param name="Default">The built-in default, already of the right CLR type.</param>
/// <param name="Description">What it means, for Get-CcatConfiguration and the README.</param>
/// <param name="IsSecret">True when its value must never be shown.</param>
public sealed record SettingDefinition(string Name, SettingType Type, object Default, string Description, bool IsSecret = false);
