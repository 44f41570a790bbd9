using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>The defaults a real API server writes into Jobs and pods on create.</summary>
public static class Defaults
{
    /// <summary>Job defaults (batch/v1, Kubernetes 1.31+), selector and template labels included.</summary>
    public static void ApplyToJob(V1Job job, string uid)
    {
        var spec = job.Spec;
        // As pkg/apis/batch/v1/defaults.go: completions only when neither is given; with
        // backoffLimitPerIndex the Job-wide limit defaults to MaxInt32 (per index instead).
        spec.BackoffLimit ??= spec.BackoffLimitPerIndex is null ? 6 : int.MaxValue;
        if (spec.Completions is null && spec.Parallelism is null) spec.Completions = 1;
        spec.Parallelism ??= 1;
        spec.CompletionMode ??= "NonIndexed";
        spec.Suspend ??= false;
        spec.ManualSelector = spec.ManualSelector == true ? true : null;
        spec.PodReplacementPolicy ??= "TerminatingOrFailed";
        spec.Selector ??= new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["batch.kubernetes.io/controller-uid"] = uid } };
        spec.Template.Metadata ??= new V1ObjectMeta();
        spec.Template.Metadata.Labels ??= new Dictionary<string, string>();
        var labels = spec.Template.Metadata.Labels;
        labels["batch.kubernetes.io/controller-uid"] = uid;
        labels["batch.kubernetes.io/job-name"] = job.Metadata.Name;
        labels["controller-uid"] = uid;
        labels["job-name"] = job.Metadata.Name;
        ApplyToPodSpec(spec.Template.Spec);
        job.Status = new V1JobStatus();
    }

    /// <summary>
    /// What the API server does to a Secret on every write: <c>stringData</c> is write-only, merged
    /// into <c>data</c> (UTF-8 bytes; a key in both takes the stringData value) and never stored
    /// or returned; <c>type</c> defaults to Opaque.
    /// </summary>
    public static void ApplyToSecret(V1Secret secret)
    {
        if (secret.StringData is { Count: > 0 } plain)
        {
            secret.Data ??= new Dictionary<string, byte[]>();
            foreach (var (k, v) in plain) secret.Data[k] = System.Text.Encoding.UTF8.GetBytes(v ?? "");
        }

        secret.StringData = null;
        if (string.IsNullOrEmpty(secret.Type)) secret.Type = "Opaque";
    }

    /// <summary>Pod spec defaults (what kubectl get -o yaml shows that nobody wrote).</summary>
    public static void ApplyToPodSpec(V1PodSpec spec)
    {
        spec.RestartPolicy ??= "Always";
        spec.DnsPolicy ??= "ClusterFirst";
        spec.SchedulerName ??= "default-scheduler";
        spec.SecurityContext ??= new V1PodSecurityContext();
        spec.TerminationGracePeriodSeconds ??= 30;
        spec.EnableServiceLinks ??= true;
        spec.Priority ??= 0;
        spec.PreemptionPolicy ??= "PreemptLowerPriority";
        foreach (var c in spec.Containers ?? [])
        {
            c.TerminationMessagePath ??= "/dev/termination-log";
            c.TerminationMessagePolicy ??= "File";
            c.ImagePullPolicy ??= ImageTag(c.Image) is null or "latest" ? "Always" : "IfNotPresent";
            c.Resources ??= new V1ResourceRequirements();
        }

        foreach (var v in spec.Volumes ?? [])
        {
            if (v.HostPath is { } hp) hp.Type ??= "";
        }
    }

    /// <summary>Pod-level defaults added by admission when a pod is created.</summary>
    public static void ApplyToPod(V1Pod pod)
    {
        ApplyToPodSpec(pod.Spec);
        pod.Spec.ServiceAccountName ??= "default";
        pod.Spec.ServiceAccount ??= pod.Spec.ServiceAccountName;
        pod.Spec.Tolerations ??=
        [
            new V1Toleration { Key = "node.kubernetes.io/not-ready", OperatorProperty = "Exists", Effect = "NoExecute", TolerationSeconds = 300 },
            new V1Toleration { Key = "node.kubernetes.io/unreachable", OperatorProperty = "Exists", Effect = "NoExecute", TolerationSeconds = 300 },
        ];
    }

    /// <summary>The QoS class of a pod: Guaranteed, Burstable or BestEffort.</summary>
    public static string QosClass(V1PodSpec spec)
    {
        var containers = spec.Containers ?? [];
        bool Has(V1Container c) => c.Resources?.Requests?.Count > 0 || c.Resources?.Limits?.Count > 0;
        if (!containers.Any(Has)) return "BestEffort";
        var guaranteed = containers.All(c =>
            c.Resources?.Limits is { } l && l.ContainsKey("cpu") && l.ContainsKey("memory")
            && (c.Resources.Requests is null || c.Resources.Requests.All(r => l.TryGetValue(r.Key, out var lv) && lv.ToDecimal() == r.Value.ToDecimal())));
        return guaranteed ? "Guaranteed" : "Burstable";
    }

    /// <summary>The tag of an image reference (null when none).</summary>
    public static string? ImageTag(string? image)
    {
        if (image is null) return null;
        if (image.Contains('@', StringComparison.Ordinal)) return "digest";
        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? image[(colon + 1)..] : null;
    }
}
