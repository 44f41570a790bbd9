using System.Globalization;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Decides a job's <see cref="HPCJobInfo"/> from what squeue (the controller's live view) and
/// sacct (the accounting record, the only source of final metrics) said. The rules:
/// <list type="bullet">
/// <item>squeue says pending or running → that (it is current; sacct may hold an older attempt of a requeued job).</item>
/// <item>otherwise a finished sacct record → the final state and metrics from sacct.</item>
/// <item>sacct could not be asked → its error for this job ("scheduler unavailable"), never a failed job.</item>
/// <item>squeue says it ended but sacct has no final record yet → still running ("waiting for
///       accounting"), so the caller's next look returns the real exit code and metrics; a cancel
///       is reported at once.</item>
/// <item>neither knows it but the module submitted it → as last seen, else pending: never failed.</item>
/// <item>neither knows it and the module did not submit it → JobNotFound.</item>
/// </list>
/// </summary>
public static class SlurmStatusResolver
{
    /// <summary>Clock difference tolerated between this machine and the controller when comparing submit times.</summary>
    public static TimeSpan ClockSkew { get; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// True when sacct's record is the job the module submitted into <paramref name="folder"/>,
    /// not an older job that had the same id (ids restart after a cluster reinstall): the
    /// working directory is the job's own folder; where no working directory was recorded, the
    /// submit time must not be earlier than the folder's.
    /// </summary>
    public static bool IsSameJob(SlurmJobFolder? folder, SacctJob record)
    {
        if (folder is null) return true;
        if (record.WorkDir is { } wd) return SamePath(wd, folder.Path);
        return record.Submit is not { } submit || submit >= folder.SubmittedAt - ClockSkew;
    }

    /// <summary>The same check for squeue's row.</summary>
    public static bool IsSameJob(SlurmJobFolder? folder, SqueueJob row)
    {
        if (folder is null) return true;
        if (row.WorkDir is { } wd) return SamePath(wd, folder.Path);
        return row.Submit is not { } submit || submit >= folder.SubmittedAt - ClockSkew;
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(a.TrimEnd('/'), b.TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>Decides one job.</summary>
    /// <param name="e">The evidence.</param>
    /// <param name="stderrTail">Reads the end of the job's stderr (for the memory-kill message), given its folder.</param>
    public static JobQueryResult Resolve(SlurmJobEvidence e, Func<SlurmJobFolder, string?> stderrTail)
    {
        var sq = e.Squeue;
        var sa = e.Sacct;
        var sqPhase = sq is null ? (SlurmStatePhase?)null : SlurmStateMap.PhaseOf(sq.State);
        var saTerminal = sa is not null && SlurmStateMap.PhaseOf(sa.State) == SlurmStatePhase.Terminal;

        if (sq is not null && sqPhase is SlurmStatePhase.Pending or SlurmStatePhase.Running)
        {
            return Ok(e.CancelRequested ? Cancelling(e, sq.State, sq.Submit) : FromSqueue(e, sq));
        }

        if (sa is not null && saTerminal)
        {
            return Ok(FromSacctFinished(e, sa, stderrTail));
        }

        if (e.AccountingError is { } error)
        {
            return new JobQueryResult(e.JobId, null,
                new CcatException(error.ErrorId, error.Message, e.JobId, error));
        }

        if (e.CancelRequested && (sq is not null || sa is not null))
        {
            return Ok(Cancelling(e, sq?.State ?? sa!.State, sq?.Submit ?? sa?.Submit));
        }

        if (sq is not null)
        {
            if (sqPhase == SlurmStatePhase.Terminal && SlurmStateMap.Normalize(sq.State) == "CANCELLED"
                && SlurmStateMap.PendingReason(sq.Reason) == HPCJobReason.DependencyNeverSatisfied)
            {
                return Ok(NeverSatisfied(e, sq.Name, sq.State, sq.Submit, null));
            }

            if (sqPhase == SlurmStatePhase.Terminal && SlurmStateMap.Normalize(sq.State) == "CANCELLED")
            {
                // The controller's word is final for a cancel; accounting adds only metrics.
                return Ok(new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, HPCJobStatus.Failed, Name(e, sq.Name),
                    reason: HPCJobReason.Cancelled, nativeState: sq.State, submittedAt: sq.Submit,
                    wallTimeSeconds: sq.TimeUsed?.TotalSeconds,
                    message: "Cancelled; the accounting record is not written yet.",
                    arrayJobId: Element(e.JobId).ArrayJobId, arrayIndex: Element(e.JobId).ArrayIndex));
            }

            // COMPLETING, or ended in squeue while sacct has not got the record: not final yet.
            return Ok(new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, HPCJobStatus.Running, Name(e, sq.Name),
                nativeState: sq.State, submittedAt: sq.Submit, startedAt: sq.Start,
                wallTimeSeconds: sq.TimeUsed?.TotalSeconds,
                message: sqPhase == SlurmStatePhase.Ending
                    ? "Ending (Slurm is cleaning up the job)."
                    : $"Ended ({sq.State}); waiting for the accounting record with the exit code and metrics.",
                arrayJobId: Element(e.JobId).ArrayJobId, arrayIndex: Element(e.JobId).ArrayIndex));
        }

        if (sa is not null)
        {
            return Ok(FromSacctLive(e, sa));
        }

        if (e.Folder is not null && (e.CancelRequested || e.ArrayHasOtherRecords) && e.Folder.ArrayIndex is not null)
        {
            // An element cancelled while its whole array was still one pending record leaves no
            // row anywhere; accounting lists its siblings but never it.
            var (arrayId, index) = Element(e.JobId);
            return Ok(new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, HPCJobStatus.Failed, e.JobName,
                reason: HPCJobReason.Cancelled, submittedAt: e.Folder.SubmittedAt,
                message: "Cancelled before it started; Slurm keeps no record of an element cancelled while pending.",
                arrayJobId: arrayId, arrayIndex: index));
        }

        if (e.Folder is not null)
        {
            if (e.LastKnown is { IsFinished: false } last)
            {
                return Ok(last);
            }

            return Ok(new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, HPCJobStatus.Pending, e.JobName,
                submittedAt: e.Folder.SubmittedAt,
                message: "Submitted; neither squeue nor sacct lists the job yet.",
                arrayJobId: Element(e.JobId).ArrayJobId, arrayIndex: Element(e.JobId).ArrayIndex));
        }

        return new JobQueryResult(e.JobId, null, new CcatException(CcatErrorId.JobNotFound,
            $"Slurm knows no job '{e.JobId}' (neither squeue nor sacct lists it, and it was not submitted through this job directory).", e.JobId));
    }

    /// <summary>The final record of a finished job, from sacct.</summary>
    public static HPCJobInfo FromSacctFinished(SlurmJobEvidence e, SacctJob sa, Func<SlurmJobFolder, string?> stderrTail)
    {
        var memoryKill = false;
        var state = SlurmStateMap.Normalize(sa.State);
        if (state == "FAILED" && e.Folder is not null && sa.ExitCode is { } x && (x.Signal == 9 || x.Code != 0))
        {
            // Without cgroups, OverMemoryKill ends a job FAILED 0:9; only its stderr says why.
            memoryKill = SlurmStateMap.IsMemoryKillMessage(stderrTail(e.Folder));
        }

        if (e.HasDependency && state == "CANCELLED" && !sa.State.Contains(" by ", StringComparison.Ordinal) && sa.StepCount == 0)
        {
            // Not cancelled by anyone ("CANCELLED by <uid>"): Slurm's --kill-on-invalid-dep ended it before it ran.
            return NeverSatisfied(e, sa.JobName, sa.State, sa.Submit, sa.End);
        }

        var (status, reason, exitCode) = SlurmStateMap.MapFinished(sa.State, sa.ExitCode, memoryKill);
        var started = sa.Start is not null;
        return new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, status, Name(e, sa.JobName),
            exitCode: exitCode,
            wallTimeSeconds: started ? sa.ElapsedSeconds : null,
            cpuHours: started ? sa.TotalCpu?.TotalHours : null,
            peakMemoryGb: sa.MaxRssBytes is > 0 and { } rss ? rss / SlurmMemory.BytesPerGb : null,
            reason: reason,
            nativeState: sa.State,
            submittedAt: sa.Submit,
            startedAt: sa.Start,
            finishedAt: sa.End,
            message: FinishedMessage(sa, reason, memoryKill),
            allocatedCpuHours: started && sa.CpuTimeRawSeconds is { } raw ? raw / 3600.0 : null,
            arrayJobId: Element(e.JobId).ArrayJobId, arrayIndex: Element(e.JobId).ArrayIndex);
    }

    private static string? FinishedMessage(SacctJob sa, HPCJobReason reason, bool memoryKill)
    {
        if (memoryKill) return $"Slurm killed the job for exceeding its memory limit ({sa.State} {sa.ExitCode}).";
        return reason switch
        {
            HPCJobReason.None => null,
            HPCJobReason.NonZeroExit => string.Create(CultureInfo.InvariantCulture, $"The command exited with code {sa.ExitCode?.Code}."),
            HPCJobReason.Signaled => string.Create(CultureInfo.InvariantCulture, $"The command was ended by signal {sa.ExitCode?.Signal}."),
            HPCJobReason.LaunchFailure => "Slurm reports FAILED 0:0: the batch script could not be started (working directory, log file or prolog).",
            _ => $"Slurm state {sa.State}" + (sa.Reason is { } r && r != "None" ? $" ({r})." : "."),
        };
    }

    private static HPCJobInfo FromSacctLive(SlurmJobEvidence e, SacctJob sa)
    {
        var phase = SlurmStateMap.PhaseOf(sa.State);
        var pending = phase == SlurmStatePhase.Pending || (phase == SlurmStatePhase.Unknown && sa.Start is null);
        if (pending && SlurmStateMap.PendingReason(sa.Reason) == HPCJobReason.DependencyNeverSatisfied)
        {
            return NeverSatisfied(e, sa.JobName, sa.State, sa.Submit, null);
        }

        return new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, pending ? HPCJobStatus.Pending : HPCJobStatus.Running, Name(e, sa.JobName),
            reason: pending ? SlurmStateMap.PendingReason(sa.Reason) : HPCJobReason.None,
            nativeState: sa.State, submittedAt: sa.Submit, startedAt: pending ? null : sa.Start,
            wallTimeSeconds: pending ? null : sa.ElapsedSeconds,
            message: pending && sa.Reason is { } r && r != "None" ? r : null,
            arrayJobId: Element(e.JobId).ArrayJobId, arrayIndex: Element(e.JobId).ArrayIndex);
    }

    private static HPCJobInfo FromSqueue(SlurmJobEvidence e, SqueueJob sq)
    {
        var pending = SlurmStateMap.PhaseOf(sq.State) == SlurmStatePhase.Pending;
        if (pending && SlurmStateMap.PendingReason(sq.Reason) == HPCJobReason.DependencyNeverSatisfied)
        {
            // Only a job submitted without --kill-on-invalid-dep stays queued like this; it never runs.
            return NeverSatisfied(e, sq.Name, sq.State, sq.Submit, null);
        }

        string? message = null;
        if (pending && sq.Reason is { } r && r != "None") message = r;
        else if (SlurmStateMap.Normalize(sq.State) is "SUSPENDED" or "STOPPED") message = $"The job is {sq.State.ToLowerInvariant()}.";
        return new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, pending ? HPCJobStatus.Pending : HPCJobStatus.Running, Name(e, sq.Name),
            reason: pending ? SlurmStateMap.PendingReason(sq.Reason) : HPCJobReason.None,
            nativeState: sq.State, submittedAt: sq.Submit,
            // squeue's %S of a pending job is the expected start, not a start.
            startedAt: pending ? null : sq.Start,
            wallTimeSeconds: pending ? null : sq.TimeUsed?.TotalSeconds,
            message: message,
            arrayJobId: Element(e.JobId).ArrayJobId, arrayIndex: Element(e.JobId).ArrayIndex);
    }

    private static HPCJobInfo Cancelling(SlurmJobEvidence e, string nativeState, DateTimeOffset? submitted) =>
        new(e.JobId, HPCBackendKind.Slurm, HPCJobStatus.Failed, e.JobName ?? e.Squeue?.Name ?? e.Sacct?.JobName,
            reason: HPCJobReason.Cancelled, nativeState: nativeState, submittedAt: submitted ?? e.Folder?.SubmittedAt,
            message: "Cancelled; Slurm is ending the job.",
            arrayJobId: Element(e.JobId).ArrayJobId, arrayIndex: Element(e.JobId).ArrayIndex);

    private static string? Name(SlurmJobEvidence e, string? slurmName) => e.JobName ?? slurmName;

    // The array an element id belongs to, and its index; nulls for a job that is not an element.
    private static (string? ArrayJobId, int? ArrayIndex) Element(string jobId) =>
        Arrays.ArrayElementId.TryParse(jobId, out var a, out var i) ? (a, i) : (null, null);

    private static HPCJobInfo NeverSatisfied(SlurmJobEvidence e, string? name, string nativeState, DateTimeOffset? submitted, DateTimeOffset? finished)
    {
        var (arrayId, index) = Element(e.JobId);
        return new HPCJobInfo(e.JobId, HPCBackendKind.Slurm, HPCJobStatus.Failed, Name(e, name),
            reason: HPCJobReason.DependencyNeverSatisfied, nativeState: nativeState, submittedAt: submitted, finishedAt: finished,
            message: "The jobs it depends on ended in a way that can never meet its condition: it never ran, and never will.",
            arrayJobId: arrayId, arrayIndex: index);
    }

    private static JobQueryResult Ok(HPCJobInfo info) => new(info.JobId, info, null);

    /// <summary>
    /// One record for an array job asked about by its parent id (<c>123</c> for tasks <c>123_1…</c>):
    /// pending or running while any task is; completed when every task completed; otherwise
    /// failed with the reason and exit code of the first failed task. CPU hours add up; wall
    /// time and peak memory are the largest of any task.
    /// </summary>
    public static HPCJobInfo AggregateArray(string jobId, IReadOnlyList<HPCJobInfo> tasks) =>
        Arrays.ArrayStatus.Aggregate(jobId, HPCBackendKind.Slurm, tasks);
}
