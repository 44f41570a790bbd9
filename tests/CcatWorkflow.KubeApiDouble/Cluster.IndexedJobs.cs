using System.Globalization;
using System.Text;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>
/// The Job controller's Indexed completion mode (batch/v1, Kubernetes 1.33): one pod per
/// completion index 0..completions-1, at most <c>parallelism</c> at once; each pod carries its
/// index in the <c>batch.kubernetes.io/job-completion-index</c> annotation and label, its
/// hostname is <c>&lt;job&gt;-&lt;index&gt;</c>, and every container (init containers too) gets
/// <c>JOB_COMPLETION_INDEX</c> from that annotation. <c>status.completedIndexes</c> and (with
/// <c>backoffLimitPerIndex</c>) <c>status.failedIndexes</c> are the interval strings the real
/// controller writes ("1,3-5"). With <c>backoffLimitPerIndex</c> an index that failed more often
/// than that is failed for good and the others go on; the Job ends once every index has
/// succeeded or failed: <c>Complete</c>, or <c>Failed</c> with reason <c>FailedIndexes</c>;
/// more failed indexes than <c>maxFailedIndexes</c> fail it at once (MaxFailedIndexesExceeded).
/// </summary>
public sealed partial class Cluster
{
    /// <summary>The annotation and label holding a pod's completion index.</summary>
    public const string CompletionIndexKey = "batch.kubernetes.io/job-completion-index";

    /// <summary>The annotation counting an index's earlier failures (backoffLimitPerIndex).</summary>
    public const string IndexFailureCountKey = "batch.kubernetes.io/job-index-failure-count";

    private static bool IsIndexed(V1Job job) => job.Spec?.CompletionMode == "Indexed";

    /// <summary>The completion index of a pod of an Indexed Job, or null.</summary>
    public static int? IndexOf(V1Pod pod) =>
        pod.Metadata.Annotations?.TryGetValue(CompletionIndexKey, out var v) == true
        && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

    private int LivePodsLocked(V1Job job) => OwnedPods(job).Count(p => !IsTerminal(p) && p.Metadata.DeletionTimestamp is null);

    private bool IndexHasLivePodLocked(V1Job job, int index) =>
        OwnedPods(job).Any(p => IndexOf(p) == index && !IsTerminal(p) && p.Metadata.DeletionTimestamp is null);

    private List<int?> MissingIndexesLocked(V1Job job)
    {
        var jr = _jobRuntimes.GetValueOrDefault((job.Metadata.NamespaceProperty, job.Metadata.Name));
        if (jr is null) return [];
        var live = OwnedPods(job).Where(p => !IsTerminal(p) && p.Metadata.DeletionTimestamp is null).Select(IndexOf).OfType<int>().ToHashSet();
        var room = (job.Spec.Parallelism ?? 1) - live.Count;
        var result = new List<int?>();
        for (var i = 0; i < (job.Spec.Completions ?? 0) && result.Count < room; i++)
        {
            if (!live.Contains(i) && !jr.CompletedIndexes.Contains(i) && !jr.FailedIndexes.Contains(i)) result.Add(i);
        }

        return result;
    }

    // What the real controller puts on a pod of an Indexed Job.
    private void MarkIndexLocked(V1Pod pod, string jobName, int index)
    {
        var value = index.ToString(CultureInfo.InvariantCulture);
        pod.Metadata.Annotations = pod.Metadata.Annotations is null ? [] : new Dictionary<string, string>(pod.Metadata.Annotations);
        pod.Metadata.Labels = new Dictionary<string, string>(pod.Metadata.Labels ?? new Dictionary<string, string>());
        pod.Metadata.Annotations[CompletionIndexKey] = value;
        pod.Metadata.Labels[CompletionIndexKey] = value;
        var jr = _jobRuntimes.GetValueOrDefault((pod.Metadata.NamespaceProperty, jobName));
        if (jr is not null && _store[ResourceKind.Jobs].TryGetValue((pod.Metadata.NamespaceProperty, jobName), out var o) && ((V1Job)o).Spec.BackoffLimitPerIndex is not null)
        {
            pod.Metadata.Annotations[IndexFailureCountKey] = jr.IndexFailures.GetValueOrDefault(index).ToString(CultureInfo.InvariantCulture);
        }

        pod.Spec.Hostname ??= $"{jobName}-{value}";
        var env = new V1EnvVar
        {
            Name = "JOB_COMPLETION_INDEX",
            ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { ApiVersion = "v1", FieldPath = $"metadata.annotations['{CompletionIndexKey}']" } },
        };
        foreach (var c in (pod.Spec.InitContainers ?? []).Concat(pod.Spec.Containers))
        {
            c.Env = [.. (c.Env ?? []).Where(e => e.Name != env.Name), env];
        }
    }

    // Call under the gate: a pod of an Indexed Job ended.
    private void OnIndexedPodFinishedLocked(V1Job job, JobRuntime jr, V1Pod pod, bool succeeded)
    {
        var index = IndexOf(pod) ?? -1;
        var perIndex = job.Spec.BackoffLimitPerIndex;
        if (succeeded)
        {
            job.Status.Succeeded = (job.Status.Succeeded ?? 0) + 1;
            if (index >= 0) jr.CompletedIndexes.Add(index);
        }
        else
        {
            job.Status.Failed = (job.Status.Failed ?? 0) + 1;
            if (perIndex is { } limit && index >= 0)
            {
                var failures = jr.IndexFailures[index] = jr.IndexFailures.GetValueOrDefault(index) + 1;
                if (failures > limit) jr.FailedIndexes.Add(index);
            }
        }

        job.Status.CompletedIndexes = jr.CompletedIndexes.Count == 0 ? null : Compress(jr.CompletedIndexes);
        if (perIndex is not null) job.Status.FailedIndexes = Compress(jr.FailedIndexes);

        if (perIndex is null && !succeeded && job.Status.Failed > job.Spec.BackoffLimit)
        {
            FailJobLocked(job, jr, "BackoffLimitExceeded", "Job has reached the specified backoff limit");
            return;
        }

        if (job.Spec.MaxFailedIndexes is { } max && jr.FailedIndexes.Count > max)
        {
            // The real controller fails the Job at once and deletes the pods still running.
            FailJobLocked(job, jr, "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes");
            var running = OwnedPods(job).Where(p => !IsTerminal(p)).Select(p => p.Metadata.Name).ToList();
            var ns = job.Metadata.NamespaceProperty;
            _ = Task.Run(() => { foreach (var n in running) TryDeletePod(ns, n); });
            return;
        }

        var completions = job.Spec.Completions ?? 0;
        if (jr.CompletedIndexes.Count + jr.FailedIndexes.Count >= completions && LivePodsLocked(job) == 0)
        {
            if (jr.FailedIndexes.Count > 0)
            {
                FailJobLocked(job, jr, "FailedIndexes", "Job has failed indexes");
            }
            else
            {
                var now = Now();
                job.Status.CompletionTime = now;
                job.Status.Conditions =
                [
                    new V1JobCondition { Type = "SuccessCriteriaMet", Status = "True", Reason = "CompletionsReached", Message = "Reached expected number of succeeded pods", LastProbeTime = now, LastTransitionTime = now },
                    new V1JobCondition { Type = "Complete", Status = "True", Reason = "CompletionsReached", Message = "Reached expected number of succeeded pods", LastProbeTime = now, LastTransitionTime = now },
                ];
                jr.FinishedAt = DateTime.UtcNow;
            }

            return;
        }

        // Free slots: the next indexes (a failed index that may still retry waits the back-off).
        jr.RetryAt = succeeded || perIndex is null || jr.FailedIndexes.Contains(index) ? DateTime.UtcNow : DateTime.UtcNow + Options.RetryDelay;
    }

    /// <summary>Indexes as the controller writes them: ascending, runs of three or more as "a-b", else listed ("1,3-5,7").</summary>
    public static string Compress(IEnumerable<int> indexes)
    {
        var sorted = indexes.Distinct().Order().ToList();
        var sb = new StringBuilder();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            if (j == i + 1) sb.Append(',').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            else if (j > i) sb.Append('-').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            i = j + 1;
        }

        return sb.ToString();
    }
}
