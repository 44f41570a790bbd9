namespace CcatWorkflow.Core.Configuration;

/// <summary>The value type of a setting, checked when the settings are loaded.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name",
    Justification = "The members name the TOML/Dynaconf value types a setting holds (string, integer, float).")]
public enum SettingType
{
    /// <summary>A string.</summary>
    String,
    /// <summary>A whole number.</summary>
    Integer,
    /// <summary>A number.</summary>
    Float,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>A list of strings.</summary>
    StringList,
    /// <summary>A table of string keys to string values.</summary>
    StringMap,
}
