using Tomlyn.Model;
using Tomlyn.Serialization;

namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// Source-generated TOML metadata for the settings documents (read as untyped tables): the
/// Local runner is a Native AOT executable, where Tomlyn's reflection-based mapping does not work.
/// </summary>
[TomlSerializable(typeof(TomlTable))]
internal sealed partial class SettingsToml : TomlSerializerContext
{
    /// <summary>A context bound to <paramref name="options"/> (strict duplicate-key handling, the file's name in errors).</summary>
    public SettingsToml(Tomlyn.TomlSerializerOptions options)
        : base(options)
    {
    }
}
