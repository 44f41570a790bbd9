using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>The Kubernetes backend's registration: its settings (with their one rule each) and its factory.</summary>
public sealed class KubernetesBackendDescriptor : BackendDescriptor
{
    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Kubernetes;

    /// <inheritdoc />
    public override IReadOnlyList<string> Aliases => ["k8s"];

    /// <inheritdoc />
    public override IReadOnlyList<SettingDefinition> Settings { get; } =
    [
        // Values the API server would refuse only at the first submission are refused when the settings load.
        new("K8S_NAMESPACE", SettingType.String, "ccat-workflows", "Kubernetes namespace for jobs.")
        {
            Check = (v, _) => KubernetesNames.IsValidJobId(((string)v).Trim()) ? null : "is not a valid namespace name (lowercase letters, digits and '-', at most 63)",
        },
        new("K8S_CONTEXT", SettingType.String, "", "kubeconfig context; empty = current context (or in-cluster service account)."),
        new("K8S_KUBECONFIG", SettingType.String, "", "kubeconfig file; empty = KUBECONFIG or ~/.kube/config."),
        new("K8S_RUNNER_IMAGE", SettingType.String, "ghcr.io/apptainer/apptainer:1.3.6", "Image of the pod that runs the apptainer command (must carry apptainer).")
        {
            Check = (v, _) => ((string)v).Trim() is { Length: > 0 } image && !image.Any(char.IsWhiteSpace) ? null : "is not an image reference",
        },
        new("K8S_TTL_SECONDS_AFTER_FINISHED", SettingType.Integer, 86400L, "ttlSecondsAfterFinished of each Job; -1 = never delete.") { Min = -1, Max = int.MaxValue },
        new("K8S_SERVICE_ACCOUNT", SettingType.String, "", "serviceAccountName of the pods; empty = namespace default.")
        {
            Check = (v, _) => ((string)v).Trim() is var account && (account.Length == 0 || KubernetesNames.IsDnsSubdomain(account)) ? null : "is not a valid service account name",
        },
        new("K8S_NODE_SELECTOR", SettingType.StringMap, new Dictionary<string, string>(), "nodeSelector of the pods."),
        new("K8S_RUN_AS_USER", SettingType.Integer, -1L, "securityContext.runAsUser of the pods; -1 = not set.") { Min = -1, Max = int.MaxValue },
        new("K8S_PRIVILEGED", SettingType.Boolean, false, "Run the container privileged (some apptainer setups need it)."),
        new("K8S_VOLUME_KIND", SettingType.String, "hostPath", "How pipeline directories reach the pod: hostPath or pvc.") { OneOf = ["hostPath", "pvc"] },
        new("K8S_PVC_NAME", SettingType.String, "", "PersistentVolumeClaim holding PIPELINE_BASE_DIR and SIF_CACHE_DIR when K8S_VOLUME_KIND=pvc.")
        {
            CheckedWhen = s => s.GetString("K8S_VOLUME_KIND").Trim().Equals("pvc", StringComparison.OrdinalIgnoreCase),
            Check = (v, _) => ((string)v).Trim() switch
            {
                "" => "must name the claim when K8S_VOLUME_KIND is pvc",
                var claim when !KubernetesNames.IsDnsSubdomain(claim) => "is not a valid claim name",
                _ => null,
            },
        },
        new("K8S_GPU_RESOURCE", SettingType.String, "nvidia.com/gpu", "Extended resource name a gpu request becomes in the pod's limits (e.g. amd.com/gpu).")
        {
            Check = (v, _) => ((string)v).Contains('/', StringComparison.Ordinal) ? null : "must be an extended resource name such as nvidia.com/gpu",
        },
        new("K8S_DEPENDENCY_IMAGE", SettingType.String, "curlimages/curl:8.11.1", "Image of the init container that waits for a dependent job's parents (must carry /bin/sh and curl).")
        {
            Check = (v, _) => ((string)v).Trim() is { Length: > 0 } image && !image.Any(char.IsWhiteSpace) ? null : "is not an image reference",
        },
        new("K8S_DEPENDENCY_POLL_SECONDS", SettingType.Integer, 10L, "How often that init container asks the API server about the parents, in seconds.") { Min = 1, Max = 3600 },
    ];

    /// <inheritdoc />
    public override IReadOnlyList<string> SharedSettings => ["PIPELINE_BASE_DIR", "SIF_CACHE_DIR", "JOB_RETENTION_DAYS"];

    /// <inheritdoc />
    public override HPCBackend Create(CcatSettings settings) => KubernetesBackend.Create(settings);
}
