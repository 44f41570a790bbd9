namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// One job as sacct reports it: the allocation row, with the step rows (<c>.batch</c>,
/// <c>.extern</c>, <c>.0</c>…) folded in. MaxRSS exists only on step rows, so it is the maximum
/// over the steps.
/// </summary>
public sealed record SacctJob
{
    /// <summary>JobID as printed (<c>123</c>, <c>123_4</c> for an array task).</summary>
    public required string JobId { get; init; }

    /// <summary>JobIDRaw: the unique numeric id (array tasks have their own).</summary>
    public string? JobIdRaw { get; init; }

    /// <summary>State as printed (<c>CANCELLED by 0</c> included).</summary>
    public required string State { get; init; }

    /// <summary>ExitCode (<c>code:signal</c>) of the job.</summary>
    public SlurmExitCode? ExitCode { get; init; }

    /// <summary>When Slurm accepted the job.</summary>
    public DateTimeOffset? Submit { get; init; }

    /// <summary>When it started; null while it has not.</summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>When it ended; null while it has not.</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>ElapsedRaw, in seconds.</summary>
    public long? ElapsedSeconds { get; init; }

    /// <summary>TotalCPU: user + system CPU time actually used (the job row, else the sum of the steps).</summary>
    public TimeSpan? TotalCpu { get; init; }

    /// <summary>CPUTimeRAW: elapsed × allocated CPUs, in core-seconds.</summary>
    public long? CpuTimeRawSeconds { get; init; }

    /// <summary>The largest MaxRSS of any step, in bytes; null when no step recorded one.</summary>
    public long? MaxRssBytes { get; init; }

    /// <summary>AllocCPUS.</summary>
    public int? AllocCpus { get; init; }

    /// <summary>Reason (why it waited, or None).</summary>
    public string? Reason { get; init; }

    /// <summary>WorkDir: the module submits with <c>--chdir</c> = the job's directory, so this identifies its jobs.</summary>
    public string? WorkDir { get; init; }

    /// <summary>JobName.</summary>
    public string? JobName { get; init; }

    /// <summary>Comment (stored when the cluster has <c>AccountingStoreFlags=job_comment</c>).</summary>
    public string? Comment { get; init; }

    /// <summary>How many step rows the job has.</summary>
    public int StepCount { get; init; }

    /// <summary>
    /// This row, standing for array element <paramref name="elementId"/> that has no row of its
    /// own. A compressed or plain-array-id row describes the elements that have not started yet,
    /// so it is taken as it is only while it has not started itself (pending, or cancelled before
    /// any start); a row that has a start time is one task's own record (the task whose raw id is
    /// the array id, seen before sacct gives it its _N suffix) and says nothing of the others,
    /// which are then pending.
    /// </summary>
    public SacctJob ForUnsplitElement(string elementId) =>
        Start is null
            ? this with { JobId = elementId, JobIdRaw = null }
            : this with
            {
                JobId = elementId, JobIdRaw = null, State = "PENDING", ExitCode = null, Start = null, End = null,
                ElapsedSeconds = null, TotalCpu = null, CpuTimeRawSeconds = null, MaxRssBytes = null, StepCount = 0,
            };
}
