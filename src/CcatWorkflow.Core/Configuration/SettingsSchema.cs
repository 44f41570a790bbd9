namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// Every setting the module knows. The seed's settings keep their names and meanings; new ones
/// follow the same style. A setting not listed here is an error in the settings file, so a
/// typo such as <c>SLURM_PARTITON</c> is caught instead of silently ignored.
/// </summary>
public static class SettingsSchema
{
    /// <summary>The environment variable prefix (Dynaconf's envvar_prefix).</summary>
    public const string EnvPrefix = "CCAT_WORKFLOW_MANAGER_";

    private static readonly string DefaultJobDir = Path.Combine(
        Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state"),
        "ccat-workflow", "jobs");

    /// <summary>All settings, in the order Get-CcatConfiguration shows them.</summary>
    public static IReadOnlyList<SettingDefinition> All { get; } =
    [
        // ---- seed settings
        new("HPC_BACKEND", SettingType.String, "local", "Backend: local, slurm or kubernetes. The module defaults to local (runs anywhere); the original service defaults to kubernetes."),
        new("PIPELINE_BASE_DIR", SettingType.String, "/data/pipelines", "Root of the per-pipeline workspace/output/logs trees."),
        new("SIF_CACHE_DIR", SettingType.String, "/data/sif-cache", "Directory of cached Apptainer SIF images."),
        new("SLURM_PARTITION", SettingType.String, "", "Slurm partition (--partition); empty = the cluster's default."),
        new("K8S_NAMESPACE", SettingType.String, "ccat-workflows", "Kubernetes namespace for jobs."),
        new("REDIS_HOST", SettingType.String, "localhost", "Redis host (or a unix socket path) for LOCAL_JOB_STORE=redis."),
        new("REDIS_PORT", SettingType.Integer, 6379L, "Redis port."),
        new("REDIS_PASSWORD", SettingType.String, "", "Redis password; keep it in the secrets file or the environment.", IsSecret: true),

        // ---- shared
        new("APPTAINER_PATH", SettingType.String, "apptainer", "The apptainer program used when the module builds the apptainer exec line."),
        new("POLL_INTERVAL_SECONDS", SettingType.Float, 2.0, "How often Wait-CcatJob asks the backend (seconds)."),

        // ---- Local backend
        new("LOCAL_JOB_STORE", SettingType.String, "file", "Where Local jobs are tracked: file (embedded, the default) or redis."),
        new("LOCAL_JOB_DIR", SettingType.String, DefaultJobDir, "Directory of Local job folders (logs, result) and of the file job store. Must be on a file system every host that reads the jobs shares."),
        new("LOCAL_CANCEL_GRACE_SECONDS", SettingType.Float, 5.0, "Seconds between TERM and KILL when a Local job is cancelled."),
        new("REDIS_DB", SettingType.Integer, 0L, "Redis database number."),
        new("REDIS_KEY_PREFIX", SettingType.String, "ccat:workflow", "Prefix of every Redis key the module writes."),

        // ---- Slurm backend
        new("SLURM_ACCOUNT", SettingType.String, "", "Slurm account (--account); empty = none."),
        new("SLURM_QOS", SettingType.String, "", "Slurm QOS (--qos); empty = none."),
        new("SLURM_EXTRA_DIRECTIVES", SettingType.StringList, Array.Empty<string>(), "Extra #SBATCH directives, e.g. [\"--constraint=avx2\"]."),
        new("SLURM_JOB_DIR", SettingType.String, "", "Directory for sbatch scripts and job logs, on a file system the compute nodes share; empty = <PIPELINE_BASE_DIR>/.ccat-slurm."),
        new("SLURM_GPU_DIRECTIVE", SettingType.String, "gpus", "How gpu is requested: gpus (--gpus=N) or gres (--gres=gpu:N)."),

        // ---- Kubernetes backend
        new("K8S_CONTEXT", SettingType.String, "", "kubeconfig context; empty = current context (or in-cluster service account)."),
        new("K8S_KUBECONFIG", SettingType.String, "", "kubeconfig file; empty = KUBECONFIG or ~/.kube/config."),
        new("K8S_RUNNER_IMAGE", SettingType.String, "ghcr.io/apptainer/apptainer:1.3.6", "Image of the pod that runs the apptainer command (must carry apptainer)."),
        new("K8S_TTL_SECONDS_AFTER_FINISHED", SettingType.Integer, 86400L, "ttlSecondsAfterFinished of each Job; -1 = never delete."),
        new("K8S_SERVICE_ACCOUNT", SettingType.String, "", "serviceAccountName of the pods; empty = namespace default."),
        new("K8S_NODE_SELECTOR", SettingType.StringMap, new Dictionary<string, string>(), "nodeSelector of the pods."),
        new("K8S_RUN_AS_USER", SettingType.Integer, -1L, "securityContext.runAsUser of the pods; -1 = not set."),
        new("K8S_PRIVILEGED", SettingType.Boolean, false, "Run the container privileged (some apptainer setups need it)."),
        new("K8S_VOLUME_KIND", SettingType.String, "hostPath", "How pipeline directories reach the pod: hostPath or pvc."),
        new("K8S_PVC_NAME", SettingType.String, "", "PersistentVolumeClaim holding PIPELINE_BASE_DIR and SIF_CACHE_DIR when K8S_VOLUME_KIND=pvc."),
        new("K8S_GPU_RESOURCE", SettingType.String, "nvidia.com/gpu", "Extended resource name a gpu request becomes in the pod's limits (e.g. amd.com/gpu)."),

        // ---- Local backend (appended)
        new("LOCAL_RUNNER", SettingType.String, "auto", "Which Local runner starts jobs: auto (the native one where it fits this machine, else the managed one), native, or managed (dotnet + CcatWorkflow.LocalRunner.dll)."),
    ];

    private static readonly Dictionary<string, SettingDefinition> ByName =
        All.ToDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Looks up a setting by name (case-insensitive, as Dynaconf does).</summary>
    public static SettingDefinition? Find(string name) => ByName.GetValueOrDefault(name);
}
