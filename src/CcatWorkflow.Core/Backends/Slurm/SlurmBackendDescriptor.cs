using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>The Slurm backend's registration: its settings and its factory.</summary>
public sealed class SlurmBackendDescriptor : BackendDescriptor
{
    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Slurm;

    /// <inheritdoc />
    public override IReadOnlyList<string> SharedSettings => SlurmBackend.SettingNames;

    /// <inheritdoc />
    public override HPCBackend Create(CcatSettings settings) => SlurmBackend.Create(settings);
}
