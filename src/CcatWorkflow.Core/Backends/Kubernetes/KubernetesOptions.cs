using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>How pipeline directories reach the pod.</summary>
public enum KubernetesVolumeKind
{
    /// <summary>Each directory is a hostPath volume mounted at the same path.</summary>
    HostPath,
    /// <summary>Each directory is a subPath of one PersistentVolumeClaim, mounted at the same path.</summary>
    Pvc,
}

/// <summary>The Kubernetes backend's settings, typed (their rules are the settings' own, checked when they load).</summary>
public sealed record KubernetesOptions
{
    /// <summary>
    /// How long the record of a finished job whose Job is gone is kept before a listing removes
    /// it (JOB_RETENTION_DAYS); null = never (the default: a read does not delete).
    /// </summary>
    public TimeSpan? RecordRetention { get; init; }

    /// <summary>Namespace of the jobs (K8S_NAMESPACE).</summary>
    public string Namespace { get; init; } = "ccat-workflows";

    /// <summary>kubeconfig context; empty = the file's current context (K8S_CONTEXT).</summary>
    public string Context { get; init; } = "";

    /// <summary>kubeconfig file; empty = KUBECONFIG, ~/.kube/config, then in-cluster (K8S_KUBECONFIG).</summary>
    public string Kubeconfig { get; init; } = "";

    /// <summary>Image of the container that runs the execution command (K8S_RUNNER_IMAGE).</summary>
    public string RunnerImage { get; init; } = "ghcr.io/apptainer/apptainer:1.3.6";

    /// <summary>ttlSecondsAfterFinished; negative = not set (K8S_TTL_SECONDS_AFTER_FINISHED).</summary>
    public long TtlSecondsAfterFinished { get; init; } = 86400;

    /// <summary>serviceAccountName; empty = the namespace default (K8S_SERVICE_ACCOUNT).</summary>
    public string ServiceAccount { get; init; } = "";

    /// <summary>nodeSelector of the pods (K8S_NODE_SELECTOR).</summary>
    public IReadOnlyDictionary<string, string> NodeSelector { get; init; } = new Dictionary<string, string>();

    /// <summary>securityContext.runAsUser; negative = not set (K8S_RUN_AS_USER).</summary>
    public long RunAsUser { get; init; } = -1;

    /// <summary>Run the container privileged (K8S_PRIVILEGED).</summary>
    public bool Privileged { get; init; }

    /// <summary>hostPath or pvc (K8S_VOLUME_KIND).</summary>
    public KubernetesVolumeKind VolumeKind { get; init; } = KubernetesVolumeKind.HostPath;

    /// <summary>The PersistentVolumeClaim when <see cref="VolumeKind"/> is pvc (K8S_PVC_NAME).</summary>
    public string PvcName { get; init; } = "";

    /// <summary>Extended resource name of a gpu request (K8S_GPU_RESOURCE).</summary>
    public string GpuResource { get; init; } = "nvidia.com/gpu";

    /// <summary>PIPELINE_BASE_DIR: with pvc, one of the two trees the claim holds.</summary>
    public string PipelineBaseDir { get; init; } = "/data/pipelines";

    /// <summary>SIF_CACHE_DIR: mounted read-only into every pod.</summary>
    public string SifCacheDir { get; init; } = "/data/sif-cache";

    /// <summary>Image of the dependency waiter init container (K8S_DEPENDENCY_IMAGE): /bin/sh and curl.</summary>
    public string DependencyImage { get; init; } = "curlimages/curl:8.11.1";

    /// <summary>Seconds between the dependency waiter's API reads (K8S_DEPENDENCY_POLL_SECONDS).</summary>
    public long DependencyPollSeconds { get; init; } = 10;

    /// <summary>
    /// With pvc: the path the claim's root stands for, inside the pod and in the caller's
    /// paths. It is the deepest directory holding both PIPELINE_BASE_DIR and SIF_CACHE_DIR
    /// (<c>/data</c> for the defaults); every directory of a submission must lie under it and is
    /// mounted from the claim with the matching subPath.
    /// </summary>
    public string PvcRoot => CommonParent(PipelineBaseDir, SifCacheDir);

    /// <summary>Reads the settings (already checked by their rules, in <see cref="KubernetesBackendDescriptor"/>, when they loaded).</summary>
    public static KubernetesOptions FromSettings(CcatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new KubernetesOptions
        {
            Namespace = settings.GetString("K8S_NAMESPACE").Trim(),
            Context = settings.GetString("K8S_CONTEXT").Trim(),
            Kubeconfig = settings.GetString("K8S_KUBECONFIG").Trim(),
            RunnerImage = settings.GetString("K8S_RUNNER_IMAGE").Trim(),
            TtlSecondsAfterFinished = settings.GetInteger("K8S_TTL_SECONDS_AFTER_FINISHED"),
            ServiceAccount = settings.GetString("K8S_SERVICE_ACCOUNT").Trim(),
            NodeSelector = settings.GetStringMap("K8S_NODE_SELECTOR"),
            RunAsUser = settings.GetInteger("K8S_RUN_AS_USER"),
            Privileged = settings.GetBoolean("K8S_PRIVILEGED"),
            VolumeKind = settings.GetString("K8S_VOLUME_KIND").Trim().Equals("pvc", StringComparison.OrdinalIgnoreCase)
                ? KubernetesVolumeKind.Pvc : KubernetesVolumeKind.HostPath,
            PvcName = settings.GetString("K8S_PVC_NAME").Trim(),
            GpuResource = settings.GetString("K8S_GPU_RESOURCE").Trim(),
            PipelineBaseDir = settings.GetString("PIPELINE_BASE_DIR"),
            SifCacheDir = settings.GetString("SIF_CACHE_DIR"),
            DependencyImage = settings.GetString("K8S_DEPENDENCY_IMAGE").Trim(),
            DependencyPollSeconds = settings.GetInteger("K8S_DEPENDENCY_POLL_SECONDS"),
            RecordRetention = settings.GetInteger("JOB_RETENTION_DAYS") is > 0 and var days ? TimeSpan.FromDays(days) : null,
        };
    }

    internal static string CommonParent(string a, string b)
    {
        var pa = Normalize(a).Split('/', StringSplitOptions.RemoveEmptyEntries);
        var pb = Normalize(b).Split('/', StringSplitOptions.RemoveEmptyEntries);
        var n = 0;
        while (n < pa.Length && n < pb.Length && pa[n] == pb[n]) n++;
        // When one tree holds the other (or they are equal), the claim root is the shared directory itself.
        return "/" + string.Join('/', pa.Take(n));
    }

    internal static string Normalize(string path)
    {
        var full = Path.IsPathRooted(path) ? Path.GetFullPath(path) : path;
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }
}
