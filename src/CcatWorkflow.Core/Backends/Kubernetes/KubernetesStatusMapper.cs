using System.Globalization;
using CcatWorkflow.Core.Diagnostics;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>What the mapper concluded for one job, and what the backend should do about it.</summary>
/// <param name="Info">The job's status and metrics.</param>
/// <param name="NeedsCapture">The job is seen finished for the first time: record its result now, before a TTL removes the pod.</param>
/// <param name="DeleteJob">The job failed in a way Kubernetes keeps retrying forever (image pull): delete the Job after the capture.</param>
/// <param name="JobExists">The Job object still exists (false: only its record is left).</param>
/// <param name="Elements">For an array (or one of its elements): every element of the array.</param>
/// <param name="ArrayId">For an array or one of its elements: the array's id (captures are per array).</param>
public sealed record KubernetesStatus(HPCJobInfo Info, bool NeedsCapture, bool DeleteJob, bool JobExists = true,
    IReadOnlyList<HPCJobInfo>? Elements = null, string? ArrayId = null);

/// <summary>
/// Maps a Job, its pods and its record to <see cref="HPCJobInfo"/>. Pure: no API calls, so
/// every rule is unit-tested. The rules, in order:
/// <list type="bullet">
/// <item>A captured record wins (the result was read from the pod once; the pod may be gone).</item>
/// <item>No Job: cancelled if a cancel was asked for, otherwise lost (deleted behind our back, or by
/// its TTL before anyone looked); no Job and no record: not found.</item>
/// <item>Job condition Complete: completed, exit code 0. Failed: DeadlineExceeded → timeout; then the
/// pod: Evicted → evicted; container OOMKilled → out of memory; StartError → launch failure;
/// a non-zero exit → non-zero exit with its code.</item>
/// <item>Not finished: a pod that already failed (backoffLimit 0) is the result; an image pull
/// failure (ErrImagePull, ImagePullBackOff, InvalidImageName, ErrImageNeverPull) fails at once;
/// Unschedulable is pending with that reason; a running container is running.</item>
/// </list>
/// Wall time is the container's finish minus start timestamps (whole seconds: the API's
/// resolution); while it runs, the time since it started.
/// </summary>
public static class KubernetesStatusMapper
{
    /// <summary>Waiting reasons that mean the image will not arrive without a change.</summary>
    public static readonly IReadOnlySet<string> ImagePullReasons =
        new HashSet<string>(StringComparer.Ordinal) { "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull" };

    /// <summary>Maps one job, with what was asked at submission. Returns null when neither the Job nor its record exists.</summary>
    public static KubernetesStatus? Map(string jobId, V1Job? job, IReadOnlyList<V1Pod> pods, KubernetesJobRecord? record, DateTimeOffset now)
    {
        if (MapState(jobId, job, pods, record, now) is not { } s) return null;
        var container = job?.Spec?.Template?.Spec?.Containers?.FirstOrDefault();
        var command = container?.Command is { Count: 3 } argv && argv[0] == "/bin/sh" && argv[1] == "-c" ? argv[2] : null;
        return s with
        {
            Info = s.Info.WithSubmission(record?.Cpu ?? (job is null ? null : CpuOf(job)), record?.MemoryGb, record?.TimeHours, record?.Gpu,
                record?.Command ?? command, logPath: null),
        };
    }

    private static KubernetesStatus? MapState(string jobId, V1Job? job, IReadOnlyList<V1Pod> pods, KubernetesJobRecord? record, DateTimeOffset now)
    {
        if (record is { IsCaptured: true })
        {
            return new KubernetesStatus(FromRecord(jobId, record, job), false, false, job is not null);
        }

        if (job is null)
        {
            if (record is null) return null;
            return new KubernetesStatus(Vanished(jobId, record), false, false, JobExists: false);
        }

        if (job.Metadata.DeletionTimestamp is not null && record?.CancelRequestedAt is not null)
        {
            return new KubernetesStatus(Vanished(jobId, record), false, false);
        }

        var (info, deleteJob) = MapLive(jobId, job, pods, record, now);
        return new KubernetesStatus(info, info.IsFinished && record is not null, deleteJob);
    }

    private static HPCJobInfo FromRecord(string jobId, KubernetesJobRecord r, V1Job? job)
    {
        var wall = r.StartedAt is { } s && r.FinishedAt is { } f ? Math.Max(0, (f - s).TotalSeconds) : (double?)null;
        return new HPCJobInfo(jobId, HPCBackendKind.Kubernetes, r.FinalStatus!.Value,
            jobName: r.JobName ?? JobName(job),
            exitCode: r.ExitCode,
            wallTimeSeconds: wall,
            reason: r.FinalReason,
            nativeState: r.NativeState,
            submittedAt: r.SubmittedAt ?? KubernetesJobRecord.ToOffset(job?.Metadata.CreationTimestamp),
            startedAt: r.StartedAt,
            finishedAt: r.FinishedAt,
            message: r.Message,
            allocatedCpuHours: wall is { } w && r.Cpu is { } c ? w / 3600 * c : null);
    }

    private static HPCJobInfo Vanished(string jobId, KubernetesJobRecord r)
    {
        if (r.CancelRequestedAt is { } cancelled)
        {
            var wall = r.StartedAt is { } s ? Math.Max(0, (cancelled - s).TotalSeconds) : (double?)null;
            return new HPCJobInfo(jobId, HPCBackendKind.Kubernetes, HPCJobStatus.Failed,
                jobName: r.JobName, wallTimeSeconds: wall, reason: HPCJobReason.Cancelled,
                nativeState: "Deleted (cancelled)", submittedAt: r.SubmittedAt, startedAt: r.StartedAt,
                finishedAt: cancelled, message: "Cancelled through Stop-CcatJob; the Job was deleted.",
                allocatedCpuHours: wall is { } w && r.Cpu is { } c ? w / 3600 * c : null);
        }

        CcatLog.Verbose($"Kubernetes job {jobId} judged lost: its Job is gone, its record has no result and no cancel.");
        return new HPCJobInfo(jobId, HPCBackendKind.Kubernetes, HPCJobStatus.Failed,
            jobName: r.JobName, reason: HPCJobReason.Lost, nativeState: "Deleted",
            submittedAt: r.SubmittedAt,
            message: "The Kubernetes Job was deleted before its result was recorded (deleted outside the module, or removed by its TTL before its status was read).");
    }

    internal static (HPCJobInfo Info, bool DeleteJob) MapLive(string jobId, V1Job job, IReadOnlyList<V1Pod> pods, KubernetesJobRecord? record, DateTimeOffset now)
    {
        var pod = pods
            .OrderByDescending(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue)
            .ThenByDescending(p => p.Metadata.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        var cs = pod?.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == KubernetesNames.ContainerName)
                 ?? pod?.Status?.ContainerStatuses?.FirstOrDefault();
        var term = cs?.State?.Terminated;
        var waiting = cs?.State?.Waiting;
        var running = cs?.State?.Running;

        var submittedAt = KubernetesJobRecord.ToOffset(job.Metadata.CreationTimestamp) ?? record?.SubmittedAt;
        var startedAt = KubernetesJobRecord.ToOffset(term?.StartedAt ?? running?.StartedAt);
        DateTimeOffset? finishedAt = KubernetesJobRecord.ToOffset(term?.FinishedAt);
        var cpu = CpuOf(job) ?? record?.Cpu;
        var jobName = JobName(job) ?? record?.JobName;

        var complete = Condition(job, "Complete") ?? Condition(job, "SuccessCriteriaMet");
        var failed = Condition(job, "Failed") ?? Condition(job, "FailureTarget");

        HPCJobStatus status;
        var reason = HPCJobReason.None;
        int? exitCode = null;
        string? message = null;
        var deleteJob = false;

        if (complete is not null)
        {
            status = HPCJobStatus.Completed;
            exitCode = term?.ExitCode ?? 0; // Complete means every container exited 0.
            finishedAt ??= KubernetesJobRecord.ToOffset(job.Status?.CompletionTime ?? complete.LastTransitionTime);
        }
        else if (failed is not null)
        {
            status = HPCJobStatus.Failed;
            exitCode = term?.ExitCode;
            if (failed.Reason == "DeadlineExceeded")
            {
                reason = HPCJobReason.Timeout;
                message = failed.Message ?? "The job ran longer than its activeDeadlineSeconds.";
            }
            else if (DependencyOutcome(pod) is { } dependency)
            {
                (reason, message) = dependency;
            }
            else
            {
                (reason, message) = PodFailure(pod, term);
                if (reason == HPCJobReason.Unknown)
                {
                    message = failed.Message ?? failed.Reason;
                }
            }

            finishedAt ??= KubernetesJobRecord.ToOffset(failed.LastTransitionTime);
        }
        else if (pod is null)
        {
            status = HPCJobStatus.Pending;
            var waits = job.Spec?.Template?.Spec?.InitContainers?.Any(c => c.Name == KubernetesDependencyWaiter.ContainerName) == true;
            reason = waits ? HPCJobReason.WaitingForDependency : HPCJobReason.None;
            message = job.Spec?.Suspend == true ? "The Job is suspended." : waits ? DependencyMessage(job) : "Waiting for the Job controller to create the pod.";
        }
        else if (pod.Status?.Phase == "Succeeded")
        {
            status = HPCJobStatus.Completed;
            exitCode = term?.ExitCode ?? 0;
        }
        else if (pod.Status?.Phase == "Failed" && (job.Spec?.BackoffLimit ?? 6) == 0)
        {
            // The Job controller will mark the Job failed in a moment; the pod already says how.
            status = HPCJobStatus.Failed;
            exitCode = term?.ExitCode;
            (reason, message) = DependencyOutcome(pod) ?? PodFailure(pod, term);
        }
        else if (waiting?.Reason is { } w && ImagePullReasons.Contains(w))
        {
            // Kubernetes would retry the pull forever and the Job would never end: fail fast.
            status = HPCJobStatus.Failed;
            reason = HPCJobReason.ImagePullFailure;
            message = $"{w}: {waiting.Message ?? "the image could not be pulled"}";
            finishedAt = now;
            deleteJob = true;
        }
        else if (Unschedulable(pod) is { } why)
        {
            status = HPCJobStatus.Pending;
            reason = HPCJobReason.Unschedulable;
            message = why;
        }
        else if (WaitingForDependency(pod))
        {
            status = HPCJobStatus.Pending;
            reason = HPCJobReason.WaitingForDependency;
            message = DependencyMessage(job);
        }
        else if (running is not null)
        {
            status = HPCJobStatus.Running;
        }
        else
        {
            status = HPCJobStatus.Pending;
            if (waiting?.Reason is { } wr) message = waiting.Message is { } wm ? $"{wr}: {wm}" : wr;
        }

        double? wall = null;
        if (startedAt is { } s)
        {
            if (finishedAt is { } f && term is not null) wall = Math.Max(0, (f - s).TotalSeconds);
            else if (status == HPCJobStatus.Running) wall = Math.Max(0, (now - s).TotalSeconds);
        }

        var info = new HPCJobInfo(jobId, HPCBackendKind.Kubernetes, status,
            jobName: jobName,
            exitCode: exitCode,
            wallTimeSeconds: wall,
            reason: reason,
            nativeState: NativeState(job, pod, cs),
            submittedAt: submittedAt,
            startedAt: startedAt,
            finishedAt: status is HPCJobStatus.Completed or HPCJobStatus.Failed ? finishedAt : null,
            message: message,
            allocatedCpuHours: wall is { } wt && cpu is { } c ? wt / 3600 * c : null);
        return (info, deleteJob);
    }

    /// <summary>
    /// How the dependency waiter (<see cref="KubernetesDependencyWaiter"/>) ended, when it ended
    /// non-zero: never satisfied, or could not read the parents (a launch failure); else null.
    /// </summary>
    internal static (HPCJobReason Reason, string? Message)? DependencyOutcome(V1Pod? pod)
    {
        var waiter = pod?.Status?.InitContainerStatuses?.FirstOrDefault(c => c.Name == KubernetesDependencyWaiter.ContainerName);
        if (waiter?.State?.Terminated is not { } t || t.ExitCode == 0) return null;
        var said = t.Message?.Trim().Split('\n')[^1] is { Length: > 0 } line ? line : null;
        return t.ExitCode switch
        {
            KubernetesDependencyWaiter.NeverSatisfiedExitCode => (HPCJobReason.DependencyNeverSatisfied, said ?? "A parent ended so that the dependency can never be met; the job did not run."),
            KubernetesDependencyWaiter.AccessDeniedExitCode => (HPCJobReason.LaunchFailure, said ?? "The pod's service account may not read the parents (get on jobs and configmaps); the job did not run."),
            _ => (HPCJobReason.LaunchFailure, $"The dependency waiter ended with exit code {t.ExitCode.ToString(CultureInfo.InvariantCulture)}{(said is null ? "" : ": " + said)}; the job did not run."),
        };
    }

    /// <summary>True while the pod's dependency waiter has not finished (the job's own container cannot start before).</summary>
    internal static bool WaitingForDependency(V1Pod? pod) =>
        pod?.Status?.Phase is not ("Failed" or "Succeeded")
        && pod?.Status?.InitContainerStatuses?.FirstOrDefault(c => c.Name == KubernetesDependencyWaiter.ContainerName) is { State.Terminated: null };

    internal static string DependencyMessage(V1Job job)
    {
        var a = job.Metadata.Annotations;
        var parents = a is not null && a.TryGetValue(KubernetesDependencyWaiter.DependsOnAnnotation, out var p) ? p : "its parents";
        var condition = a is not null && a.TryGetValue(KubernetesDependencyWaiter.ConditionAnnotation, out var c) ? c : "AfterOk";
        return $"Waiting for {parents} ({condition}).";
    }

    internal static (HPCJobReason Reason, string? Message) PodFailure(V1Pod? pod, V1ContainerStateTerminated? term)
    {
        if (pod?.Status?.Reason == "Evicted")
        {
            return (HPCJobReason.Evicted, pod.Status.Message ?? "The pod was evicted from its node.");
        }

        if (pod?.Status?.Reason == "DeadlineExceeded")
        {
            return (HPCJobReason.Timeout, pod.Status.Message ?? "The pod ran longer than its deadline.");
        }

        if (term is null)
        {
            return (HPCJobReason.Unknown, pod?.Status?.Message);
        }

        return term.Reason switch
        {
            "OOMKilled" => (HPCJobReason.OutOfMemory, term.Message ?? $"The container was killed for exceeding its memory limit (exit {term.ExitCode})."),
            "StartError" or "ContainerCannotRun" => (HPCJobReason.LaunchFailure, term.Message ?? term.Reason),
            _ when term.ExitCode == 0 => (HPCJobReason.Unknown, term.Message),
            _ when term.Signal is > 0 => (HPCJobReason.Signaled, term.Message ?? $"The container was ended by signal {term.Signal}."),
            _ => (HPCJobReason.NonZeroExit, term.Message ?? $"The command exited with code {term.ExitCode}."),
        };
    }

    internal static string? Unschedulable(V1Pod pod)
    {
        var c = pod.Status?.Conditions?.FirstOrDefault(x => x.Type == "PodScheduled");
        return c is { Status: "False", Reason: "Unschedulable" } ? c.Message ?? "No node can run the pod as requested." : null;
    }

    private static V1JobCondition? Condition(V1Job job, string type) =>
        job.Status?.Conditions?.FirstOrDefault(c => c.Type == type && c.Status == "True");

    private static string? JobName(V1Job? job) =>
        job?.Metadata.Annotations?.TryGetValue(KubernetesNames.JobNameAnnotation, out var n) == true ? n
        : job?.Metadata.Labels?.TryGetValue(KubernetesNames.JobNameLabel, out var l) == true ? l : null;

    private static int? CpuOf(V1Job job)
    {
        var c = job.Spec?.Template?.Spec?.Containers?.FirstOrDefault();
        if (c?.Resources?.Limits?.TryGetValue("cpu", out var q) == true || c?.Resources?.Requests?.TryGetValue("cpu", out q) == true)
        {
            try
            {
                var d = q!.ToDecimal();
                return d > 0 && d == Math.Floor(d) ? (int)d : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>The backend's own view, short: job condition, pod phase, container state.</summary>
    private static string NativeState(V1Job job, V1Pod? pod, V1ContainerStatus? cs)
    {
        var parts = new List<string>();
        var cond = job.Status?.Conditions?.LastOrDefault(c => c.Status == "True" && c.Type is "Complete" or "Failed" or "FailureTarget" or "SuccessCriteriaMet" or "Suspended");
        parts.Add(cond is null ? $"job active={job.Status?.Active ?? 0}" : $"job {cond.Type}{(cond.Reason is { } r ? $" ({r})" : "")}");
        if (pod?.Status is { } ps)
        {
            parts.Add($"pod {ps.Phase}{(ps.Reason is { } pr ? $" ({pr})" : "")}");
        }

        var st = cs?.State;
        if (st?.Terminated is { } t)
        {
            parts.Add($"container terminated ({t.Reason ?? "?"}, exit {t.ExitCode.ToString(CultureInfo.InvariantCulture)})");
        }
        else if (st?.Waiting is { } w)
        {
            parts.Add($"container waiting ({w.Reason})");
        }
        else if (st?.Running is not null)
        {
            parts.Add("container running");
        }

        return string.Join(", ", parts);
    }
}
