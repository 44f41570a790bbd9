using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>The Kubernetes backend's registration: its settings and its factory.</summary>
public sealed class KubernetesBackendDescriptor : BackendDescriptor
{
    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Kubernetes;

    /// <inheritdoc />
    public override IReadOnlyList<string> Aliases => ["k8s"];

    /// <inheritdoc />
    public override IReadOnlyList<string> SharedSettings => KubernetesBackend.SettingNames;

    /// <inheritdoc />
    public override HPCBackend Create(CcatSettings settings) => KubernetesBackend.Create(settings);
}
