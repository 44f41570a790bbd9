using Tomlyn.Model;
using Tomlyn.Serialization;

namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// Source-generated TOML metadata for the settings documents (read as untyped tables): the
/// Local runner is a Native AOT executable, where Tomlyn's reflection-based mapping does not work.
/// </summary>
[TomlSerializable(typeof(TomlTable))]
internal sealed partial class SettingsToml : TomlSerializerContext;
