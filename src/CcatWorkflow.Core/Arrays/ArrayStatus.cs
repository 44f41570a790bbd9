namespace CcatWorkflow.Core.Arrays;

/// <summary>
/// What every backend says about a job array as a whole and about its elements: the rules live
/// here once, the backends read their own elements.
/// </summary>
public static class ArrayStatus
{
    /// <summary>
    /// One record for an array asked about by its array id: pending or running while any
    /// element is; completed when every element completed; otherwise failed with the reason and
    /// exit code of the first failed element. CPU hours add up; wall time and peak memory are
    /// the largest of any element. Pending reads WaitingForDependency when every unfinished
    /// element waits for its parents.
    /// </summary>
    public static HPCJobInfo Aggregate(string arrayId, HPCBackendKind backend, IReadOnlyList<HPCJobInfo> elements)
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
        // Pending only because every unfinished element waits for its parents: say so, as an
        // element does.
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
            // The elements share one submission: -RetryFailed reads command and resources here.
            .WithSubmission(elements[0].RequestedCpu, elements[0].RequestedMemoryGb, elements[0].RequestedTimeHours, elements[0].RequestedGpu, elements[0].Command, null);
    }

    /// <summary>
    /// <paramref name="info"/> as element <paramref name="index"/> of array
    /// <paramref name="arrayId"/>: its id <c>&lt;arrayId&gt;_&lt;index&gt;</c>, ArrayJobId and
    /// ArrayIndex set, everything else kept.
    /// </summary>
    public static HPCJobInfo AsElement(HPCJobInfo info, string arrayId, int index)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new HPCJobInfo(ArrayElementId.Format(arrayId, index), info.Backend, info.Status, info.JobName,
            info.ExitCode, info.WallTimeSeconds, info.CpuHours, info.PeakMemoryGb, info.Reason, info.NativeState,
            info.SubmittedAt, info.StartedAt, info.FinishedAt, info.Message, info.AllocatedCpuHours,
            arrayJobId: arrayId, arrayIndex: index)
            .WithSubmission(info.RequestedCpu, info.RequestedMemoryGb, info.RequestedTimeHours, info.RequestedGpu, info.Command, info.LogPath);
    }
}
