namespace CcatWorkflow.Core.Arrays;

/// <summary>
/// The one-line summary of a whole job array that status, wait and cancel show for the array's
/// own id (its elements come with it): running while any element runs, else pending while any
/// waits, else failed when any failed (with the first failure's exit code and reason), else
/// completed. Metrics add up (CPU) or take the largest (wall time, peak memory).
/// </summary>
public static class ArraySummary
{
    /// <summary>The summary of <paramref name="elements"/> (at least one) under the array's id.</summary>
    public static HPCJobInfo Aggregate(HPCBackendKind backend, string arrayId, IReadOnlyList<HPCJobInfo> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        if (elements.Count == 0) throw new ArgumentException("An array needs at least one element.", nameof(elements));
        var counts = string.Join(", ", elements.GroupBy(t => t.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"));
        var firstFailed = elements.FirstOrDefault(t => t.Status == HPCJobStatus.Failed);
        HPCJobStatus status;
        if (elements.Any(t => t.Status == HPCJobStatus.Running)) status = HPCJobStatus.Running;
        else if (elements.Any(t => t.Status == HPCJobStatus.Pending)) status = HPCJobStatus.Pending;
        else status = firstFailed is null ? HPCJobStatus.Completed : HPCJobStatus.Failed;
        var finished = status is HPCJobStatus.Completed or HPCJobStatus.Failed;
        var reason = status == HPCJobStatus.Failed ? firstFailed!.Reason
            : status == HPCJobStatus.Pending && elements.All(e => e.IsFinished || e.Reason == HPCJobReason.WaitingForDependency) ? HPCJobReason.WaitingForDependency
            : HPCJobReason.None;
        static double? Sum(IEnumerable<double?> v) => v.Any(x => x is not null) ? v.Sum(x => x ?? 0) : null;
        static double? Max(IEnumerable<double?> v) => v.Any(x => x is not null) ? v.Max(x => x ?? 0) : null;
        return new HPCJobInfo(arrayId, backend, status, elements[0].JobName,
            exitCode: finished ? (firstFailed?.ExitCode ?? 0) : null,
            wallTimeSeconds: Max(elements.Select(t => t.WallTimeSeconds)),
            cpuHours: Sum(elements.Select(t => t.CpuHours)),
            peakMemoryGb: Max(elements.Select(t => t.PeakMemoryGb)),
            reason: reason,
            nativeState: status == HPCJobStatus.Failed ? firstFailed!.NativeState : elements[0].NativeState,
            submittedAt: elements.Min(t => t.SubmittedAt),
            startedAt: elements.Where(t => t.StartedAt is not null).Min(t => t.StartedAt),
            finishedAt: finished ? elements.Max(t => t.FinishedAt) : null,
            message: $"Array of {elements.Count} tasks: {counts}.",
            allocatedCpuHours: Sum(elements.Select(t => t.AllocatedCpuHours)))
            .WithSubmission(elements[0].RequestedCpu, elements[0].RequestedMemoryGb, elements[0].RequestedTimeHours, elements[0].RequestedGpu, elements[0].Command, null);
    }
}
