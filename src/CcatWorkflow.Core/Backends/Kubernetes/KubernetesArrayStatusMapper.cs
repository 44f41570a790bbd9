using CcatWorkflow.Core.Arrays;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Maps an array's Indexed Job, its pods and its record to one <see cref="HPCJobInfo"/> per
/// element. Pure, like <see cref="KubernetesStatusMapper"/>. Element at completion position p
/// (real index <c>spec.Indices[p]</c>), in order:
/// <list type="bullet">
/// <item>a captured result in the record wins; an element cancelled one by one reads cancelled;</item>
/// <item>no Job: cancelled when the whole array was cancelled, else lost;</item>
/// <item>p in <c>status.completedIndexes</c>: completed; p in <c>status.failedIndexes</c>: failed, as
/// its newest pod says (exit code, OOM, eviction, dependency never satisfied…);</item>
/// <item>the Job failed as a whole (deadline) before p finished: failed with the Job's reason;</item>
/// <item>otherwise the newest pod of p decides, as for a single job (pending, waiting for a
/// dependency, running, just ended); no pod yet: pending (throttled, or not created yet).</item>
/// </list>
/// </summary>
public static class KubernetesArrayStatusMapper
{
    /// <summary>Every element, in index order.</summary>
    public static IReadOnlyList<HPCJobInfo> MapElements(string arrayId, KubernetesArrayRecord array, V1Job? job, IReadOnlyList<V1Pod> pods,
        KubernetesJobRecord? record, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentNullException.ThrowIfNull(pods);
        var completed = KubernetesIndexIntervals.Parse(job?.Status?.CompletedIndexes);
        var failed = KubernetesIndexIntervals.Parse(job?.Status?.FailedIndexes);
        var byPosition = pods
            .Select(p => (Pod: p, Position: p.Metadata.Labels?.TryGetValue(KubernetesArraySpecBuilder.CompletionIndexLabel, out var v) == true && int.TryParse(v, out var i) ? i : -1))
            .Where(x => x.Position >= 0)
            .GroupBy(x => x.Position)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<V1Pod>)g.Select(x => x.Pod).ToList());
        var jobFailed = job?.Status?.Conditions?.FirstOrDefault(c => c.Type is "Failed" or "FailureTarget" && c.Status == "True");
        var jobName = record?.JobName;

        var result = new List<HPCJobInfo>(array.Spec.Indices.Count);
        for (var p = 0; p < array.Spec.Indices.Count; p++)
        {
            var index = array.Spec.Indices[p];
            var info = MapOne(arrayId, index, p, array, job, byPosition.GetValueOrDefault(p) ?? [], record, completed, failed, jobFailed, now);
            result.Add(ArrayStatus.AsElement(info, arrayId, index)
                .WithSubmission(record?.Cpu, record?.MemoryGb, record?.TimeHours, record?.Gpu, record?.Command, logPath: null));
        }

        return result;
    }

    private static HPCJobInfo MapOne(string arrayId, int index, int position, KubernetesArrayRecord array, V1Job? job, IReadOnlyList<V1Pod> pods,
        KubernetesJobRecord? record, HashSet<int> completed, HashSet<int> failed, V1JobCondition? jobFailed, DateTimeOffset now)
    {
        var id = ArrayElementId.Format(arrayId, index);
        var jobName = record?.JobName;
        if (array.Captured.TryGetValue(index, out var c))
        {
            var wall = c.StartedAt is { } s && c.FinishedAt is { } f ? Math.Max(0, (f - s).TotalSeconds) : (double?)null;
            return new HPCJobInfo(id, HPCBackendKind.Kubernetes, c.Status, jobName, c.ExitCode, wall, reason: c.Reason,
                nativeState: "recorded", submittedAt: record?.SubmittedAt, startedAt: c.StartedAt, finishedAt: c.FinishedAt,
                message: c.Reason == HPCJobReason.Cancelled ? "Cancelled through Stop-CcatJob." : null,
                allocatedCpuHours: wall is { } w && record?.Cpu is { } cpu ? w / 3600 * cpu : null);
        }

        if (array.CancelledIndexes.Contains(index) && !completed.Contains(position))
        {
            return Cancelled(id, jobName, record, pods, "Cancelled through Stop-CcatJob (this element only).");
        }

        if (job is null || (job.Metadata.DeletionTimestamp is not null && record?.CancelRequestedAt is not null))
        {
            if (record?.CancelRequestedAt is not null) return Cancelled(id, jobName, record, pods, "Cancelled through Stop-CcatJob; the array's Job was deleted.");
            return new HPCJobInfo(id, HPCBackendKind.Kubernetes, HPCJobStatus.Failed, jobName, reason: HPCJobReason.Lost, nativeState: "Deleted",
                submittedAt: record?.SubmittedAt,
                message: "The array's Job was deleted before this element's result was recorded (deleted outside the module, or removed by its TTL before its status was read).");
        }

        // The pod decides, read as a single job's (a Job with backoffLimit 0, no conditions yet).
        var view = new V1Job
        {
            Metadata = job.Metadata,
            Spec = new V1JobSpec { BackoffLimit = 0, Template = job.Spec?.Template },
            Status = new V1JobStatus(),
        };
        var (live, _) = KubernetesStatusMapper.MapLive(id, view, pods, record, now);
        if (completed.Contains(position) && live.Status != HPCJobStatus.Completed)
        {
            return With(live, HPCJobStatus.Completed, HPCJobReason.None, live.ExitCode ?? 0, null);
        }

        if (failed.Contains(position) && live.Status != HPCJobStatus.Failed)
        {
            var (reason, message) = KubernetesStatusMapper.DependencyOutcome(Newest(pods)) ?? (HPCJobReason.Unknown, "Kubernetes marked this index failed.");
            return With(live, HPCJobStatus.Failed, reason, live.ExitCode, message);
        }

        if (jobFailed is not null && !live.IsFinished)
        {
            var timeout = jobFailed.Reason == "DeadlineExceeded";
            return With(live, HPCJobStatus.Failed, timeout ? HPCJobReason.Timeout : HPCJobReason.Unknown, live.ExitCode,
                jobFailed.Message ?? jobFailed.Reason, finishedAt: KubernetesJobRecord.ToOffset(jobFailed.LastTransitionTime));
        }

        if (pods.Count == 0 && live.Status == HPCJobStatus.Pending && live.Reason == HPCJobReason.None)
        {
            var waitingFor = job.Spec?.Template?.Spec?.InitContainers?.Any(i => i.Name == KubernetesDependencyWaiter.ContainerName) == true;
            return With(live, HPCJobStatus.Pending, waitingFor ? HPCJobReason.WaitingForDependency : HPCJobReason.None, null,
                array.Throttle is { } t
                    ? $"Waiting for a free slot: at most {t} elements of the array run at once."
                    : waitingFor ? KubernetesStatusMapper.DependencyMessage(job) : "Waiting for the Job controller to create the pod.");
        }

        return live;
    }

    private static V1Pod? Newest(IReadOnlyList<V1Pod> pods) => pods
        .OrderByDescending(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue)
        .ThenByDescending(p => p.Metadata.Name, StringComparer.Ordinal)
        .FirstOrDefault();

    private static HPCJobInfo Cancelled(string id, string? jobName, KubernetesJobRecord? record, IReadOnlyList<V1Pod> pods, string message)
    {
        var term = Newest(pods)?.Status?.ContainerStatuses?.FirstOrDefault()?.State;
        var started = KubernetesJobRecord.ToOffset(term?.Terminated?.StartedAt ?? term?.Running?.StartedAt);
        var finished = KubernetesJobRecord.ToOffset(term?.Terminated?.FinishedAt) ?? record?.CancelRequestedAt;
        var wall = started is { } s && finished is { } f ? Math.Max(0, (f - s).TotalSeconds) : (double?)null;
        return new HPCJobInfo(id, HPCBackendKind.Kubernetes, HPCJobStatus.Failed, jobName, wallTimeSeconds: wall, reason: HPCJobReason.Cancelled,
            nativeState: "cancelled", submittedAt: record?.SubmittedAt, startedAt: started, finishedAt: finished, message: message,
            allocatedCpuHours: wall is { } w && record?.Cpu is { } cpu ? w / 3600 * cpu : null);
    }

    private static HPCJobInfo With(HPCJobInfo i, HPCJobStatus status, HPCJobReason reason, int? exitCode, string? message, DateTimeOffset? finishedAt = null) =>
        new(i.JobId, i.Backend, status, i.JobName, exitCode, i.WallTimeSeconds, i.CpuHours, i.PeakMemoryGb, reason, i.NativeState,
            i.SubmittedAt, i.StartedAt, status is HPCJobStatus.Completed or HPCJobStatus.Failed ? i.FinishedAt ?? finishedAt : null, message ?? i.Message, i.AllocatedCpuHours);
}
