namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>Where a Slurm state sits in a job's life, for deciding which source to believe.</summary>
public enum SlurmStatePhase
{
    /// <summary>Waiting to run (PENDING, REQUEUED, held…).</summary>
    Pending,
    /// <summary>Running (RUNNING, CONFIGURING, SUSPENDED…).</summary>
    Running,
    /// <summary>Over but not settled (COMPLETING, STAGE_OUT): accounting has or soon has the outcome.</summary>
    Ending,
    /// <summary>Finished for good (COMPLETED, FAILED, CANCELLED, TIMEOUT…).</summary>
    Terminal,
    /// <summary>A state word this module does not know (a newer Slurm).</summary>
    Unknown,
}

/// <summary>
/// Maps every Slurm job state (long names as sacct and squeue <c>%T</c> print them, and the
/// short codes of squeue <c>%t</c>) onto the four seed states plus a reason. The native state
/// is always kept on <see cref="HPCJobInfo.NativeState"/> as Slurm printed it.
/// </summary>
public static class SlurmStateMap
{
    private static readonly Dictionary<string, string> ShortCodes = new(StringComparer.Ordinal)
    {
        ["PD"] = "PENDING", ["R"] = "RUNNING", ["CG"] = "COMPLETING", ["CD"] = "COMPLETED", ["CA"] = "CANCELLED",
        ["F"] = "FAILED", ["TO"] = "TIMEOUT", ["NF"] = "NODE_FAIL", ["PR"] = "PREEMPTED", ["OOM"] = "OUT_OF_MEMORY",
        ["BF"] = "BOOT_FAIL", ["DL"] = "DEADLINE", ["S"] = "SUSPENDED", ["ST"] = "STOPPED", ["RQ"] = "REQUEUED",
        ["RH"] = "REQUEUE_HOLD", ["RF"] = "REQUEUE_FED", ["RV"] = "REVOKED", ["SE"] = "SPECIAL_EXIT",
        ["SI"] = "SIGNALING", ["SO"] = "STAGE_OUT", ["RD"] = "RESV_DEL_HOLD", ["RS"] = "RESIZING", ["CF"] = "CONFIGURING",
    };

    /// <summary>
    /// The state word without decorations, in upper case: <c>CANCELLED by 0</c> → <c>CANCELLED</c>,
    /// <c>CA</c> → <c>CANCELLED</c>, a truncated <c>CANCELLED+</c> → <c>CANCELLED</c>.
    /// </summary>
    public static string Normalize(string? nativeState)
    {
        if (string.IsNullOrWhiteSpace(nativeState)) return "";
        var word = nativeState.Trim().Split(' ', 2)[0].TrimEnd('+').ToUpperInvariant();
        return ShortCodes.GetValueOrDefault(word, word);
    }

    /// <summary>The phase of a state.</summary>
    public static SlurmStatePhase PhaseOf(string? nativeState) => Normalize(nativeState) switch
    {
        "PENDING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "RESV_DEL_HOLD" or "SPECIAL_EXIT" => SlurmStatePhase.Pending,
        "RUNNING" or "CONFIGURING" or "SUSPENDED" or "STOPPED" or "SIGNALING" or "RESIZING" => SlurmStatePhase.Running,
        "COMPLETING" or "STAGE_OUT" => SlurmStatePhase.Ending,
        "COMPLETED" or "FAILED" or "CANCELLED" or "TIMEOUT" or "NODE_FAIL" or "PREEMPTED" or "OUT_OF_MEMORY"
            or "BOOT_FAIL" or "DEADLINE" or "REVOKED" => SlurmStatePhase.Terminal,
        _ => SlurmStatePhase.Unknown,
    };

    /// <summary>
    /// The seed status, reason and exit code of a finished job.
    /// </summary>
    /// <param name="nativeState">sacct's State (e.g. <c>FAILED</c>, <c>CANCELLED by 0</c>).</param>
    /// <param name="exit">sacct's ExitCode of the job.</param>
    /// <param name="memoryKillInLog">
    /// True when the job's stderr says slurmstepd killed it for memory. Without cgroups Slurm's
    /// OverMemoryKill ends such a job FAILED 0:9, not OUT_OF_MEMORY; only the log tells.
    /// </param>
    /// <returns>
    /// The status; the reason; the exit code as a shell would report it (the script's code, or
    /// 128 + signal when a signal ended it), null when the scheduler ended the job and no code exists.
    /// </returns>
    public static (HPCJobStatus Status, HPCJobReason Reason, int? ExitCode) MapFinished(string? nativeState, SlurmExitCode? exit, bool memoryKillInLog)
    {
        var e = exit ?? new SlurmExitCode(0, 0);
        int? shellCode = e.HasRealSignal ? 128 + e.Signal : e.Code != 0 ? e.Code : null;
        switch (Normalize(nativeState))
        {
            case "COMPLETED":
                if (e.Code == 0 && e.Signal == 0)
                {
                    return (HPCJobStatus.Completed, HPCJobReason.None, 0);
                }

                return (HPCJobStatus.Failed, e.HasRealSignal ? HPCJobReason.Signaled : HPCJobReason.NonZeroExit, shellCode);
            case "FAILED":
                if (e.HasRealSignal)
                {
                    return (HPCJobStatus.Failed, memoryKillInLog ? HPCJobReason.OutOfMemory : HPCJobReason.Signaled, shellCode);
                }

                if (e.Code != 0)
                {
                    return (HPCJobStatus.Failed, memoryKillInLog ? HPCJobReason.OutOfMemory : HPCJobReason.NonZeroExit, e.Code);
                }

                // FAILED 0:0: the batch script never ran (working directory, output file, prolog).
                return (HPCJobStatus.Failed, memoryKillInLog ? HPCJobReason.OutOfMemory : HPCJobReason.LaunchFailure, null);
            case "CANCELLED":
                return (HPCJobStatus.Failed, HPCJobReason.Cancelled, shellCode);
            case "TIMEOUT":
                return (HPCJobStatus.Failed, HPCJobReason.Timeout, shellCode);
            case "OUT_OF_MEMORY":
                return (HPCJobStatus.Failed, HPCJobReason.OutOfMemory, shellCode);
            case "NODE_FAIL":
                return (HPCJobStatus.Failed, HPCJobReason.NodeFailure, shellCode);
            case "PREEMPTED":
                return (HPCJobStatus.Failed, HPCJobReason.Preempted, shellCode);
            case "BOOT_FAIL":
                return (HPCJobStatus.Failed, HPCJobReason.BootFailure, shellCode);
            case "DEADLINE":
                return (HPCJobStatus.Failed, HPCJobReason.Deadline, shellCode);
            default:
                // REVOKED (federation) and states newer than this module: over, cause unknown.
                return (HPCJobStatus.Failed, HPCJobReason.Unknown, shellCode);
        }
    }

    /// <summary>
    /// The reason a pending job waits. Per-job limits and impossible constraints never clear by
    /// themselves, so they read <see cref="HPCJobReason.Unschedulable"/>; waiting for parents reads
    /// <see cref="HPCJobReason.WaitingForDependency"/>, parents that can no longer meet the condition
    /// <see cref="HPCJobReason.DependencyNeverSatisfied"/> (the job never runs); ordinary waiting
    /// (Priority, Resources, BeginTime, held…) is <see cref="HPCJobReason.None"/>.
    /// </summary>
    public static HPCJobReason PendingReason(string? slurmReason)
    {
        if (string.IsNullOrWhiteSpace(slurmReason)) return HPCJobReason.None;
        var r = slurmReason.Trim();
        if (r.StartsWith("DependencyNeverSatisfied", StringComparison.Ordinal)) return HPCJobReason.DependencyNeverSatisfied;
        if (r == "Dependency") return HPCJobReason.WaitingForDependency;
        return r.StartsWith("BadConstraints", StringComparison.Ordinal)
               || r.StartsWith("PartitionTimeLimit", StringComparison.Ordinal)
               || r.StartsWith("PartitionNodeLimit", StringComparison.Ordinal)
               || r.StartsWith("InvalidAccount", StringComparison.Ordinal)
               || r.StartsWith("InvalidQOS", StringComparison.Ordinal)
               || r.Contains("PerJob", StringComparison.Ordinal)
            ? HPCJobReason.Unschedulable
            : HPCJobReason.None;
    }

    /// <summary>True when a stderr tail says slurmstepd killed the job for its memory use.</summary>
    public static bool IsMemoryKillMessage(string? stderrTail) =>
        stderrTail is not null
        && (stderrTail.Contains("exceeded memory limit", StringComparison.OrdinalIgnoreCase)
            || stderrTail.Contains("Exceeded job memory limit", StringComparison.OrdinalIgnoreCase)
            || stderrTail.Contains("oom-kill event", StringComparison.OrdinalIgnoreCase)
            || stderrTail.Contains("Exceeded step memory limit", StringComparison.OrdinalIgnoreCase));
}
