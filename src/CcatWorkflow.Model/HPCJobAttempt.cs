namespace CcatWorkflow;

/// <summary>
/// One earlier attempt of a job that a retry policy (Submit-CcatJob -RetryOn) ran again: which
/// backend job it was, how it ended and what it had asked for. Immutable.
/// </summary>
public sealed class HPCJobAttempt
{
    /// <summary>Creates an attempt record.</summary>
    /// <param name="attempt">The attempt's number: 1 is the job as first submitted.</param>
    /// <param name="jobId">The backend's id of this attempt; null when it was claimed but never submitted.</param>
    /// <param name="reason">Why the attempt failed (the reason that triggered the next one).</param>
    /// <param name="exitCode">The attempt's exit code, if known.</param>
    /// <param name="requestedMemoryGb">Memory the attempt asked for, in GiB.</param>
    /// <param name="requestedTimeHours">Time limit the attempt asked for, in hours.</param>
    /// <param name="retriedAt">When the next attempt was claimed.</param>
    public HPCJobAttempt(int attempt, string? jobId, HPCJobReason reason, int? exitCode = null,
        double? requestedMemoryGb = null, double? requestedTimeHours = null, DateTimeOffset? retriedAt = null)
    {
        Attempt = attempt;
        JobId = jobId;
        Reason = reason;
        ExitCode = exitCode;
        RequestedMemoryGb = requestedMemoryGb;
        RequestedTimeHours = requestedTimeHours;
        RetriedAt = retriedAt;
    }

    /// <summary>The attempt's number: 1 is the job as first submitted.</summary>
    public int Attempt { get; }

    /// <summary>The backend's id of this attempt (Get-CcatJobLog -Attempt reads its log); null when it was never submitted.</summary>
    public string? JobId { get; }

    /// <summary>Why the attempt failed.</summary>
    public HPCJobReason Reason { get; }

    /// <summary>The attempt's exit code, if known.</summary>
    public int? ExitCode { get; }

    /// <summary>Memory the attempt asked for, in GiB; null when not asked.</summary>
    public double? RequestedMemoryGb { get; }

    /// <summary>Time limit the attempt asked for, in hours; null when not asked.</summary>
    public double? RequestedTimeHours { get; }

    /// <summary>When the next attempt was claimed (the failure was observed).</summary>
    public DateTimeOffset? RetriedAt { get; }

    /// <inheritdoc />
    public override string ToString() => $"#{Attempt} {JobId ?? "(not submitted)"} {Reason}";
}
