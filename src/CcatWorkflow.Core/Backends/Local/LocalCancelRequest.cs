namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// <c>cancel-requested</c>: the marker a canceller leaves in the job directory. The runner
/// polls for it and ends the job (TERM, the grace period, KILL); it works from any host that
/// shares the directory.
/// </summary>
internal sealed record LocalCancelRequest
{
    /// <summary>When the cancel was asked for.</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>Host of the canceller.</summary>
    public string? Host { get; init; }

    /// <summary>Pid of the canceller.</summary>
    public int? Pid { get; init; }

    /// <summary>The canceller's LOCAL_CANCEL_GRACE_SECONDS.</summary>
    public double? GraceSeconds { get; init; }
}
