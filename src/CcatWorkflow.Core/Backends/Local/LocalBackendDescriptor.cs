using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>The Local backend's registration: its settings and its factory.</summary>
public sealed class LocalBackendDescriptor : BackendDescriptor
{
    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Local;

    /// <inheritdoc />
    public override IReadOnlyList<string> SharedSettings => LocalBackend.SettingNames;

    /// <inheritdoc />
    public override HPCBackend Create(CcatSettings settings) => LocalBackend.Create(settings);
}
