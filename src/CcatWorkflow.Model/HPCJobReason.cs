namespace CcatWorkflow;

/// <summary>
/// Why a job is in its state: for a failed job how it ended, for a pending job what holds it.
/// The four-state <see cref="HPCJobStatus"/> folds every scheduler outcome into <c>Failed</c>;
/// this keeps the difference a script needs (retry a timeout, do not retry a bad command).
/// </summary>
public enum HPCJobReason
{
    /// <summary>Nothing to report: pending, running or completed normally.</summary>
    None,
    /// <summary>The command exited with a non-zero code.</summary>
    NonZeroExit,
    /// <summary>The command was ended by a signal that nobody on our side sent.</summary>
    Signaled,
    /// <summary>Cancelled through Stop-CcatJob or the scheduler.</summary>
    Cancelled,
    /// <summary>The job ran past its time limit.</summary>
    Timeout,
    /// <summary>The job was killed for using more memory than it asked for.</summary>
    OutOfMemory,
    /// <summary>A node the job ran on failed.</summary>
    NodeFailure,
    /// <summary>The job was preempted by the scheduler.</summary>
    Preempted,
    /// <summary>The pod was evicted from its node.</summary>
    Evicted,
    /// <summary>The container image could not be pulled.</summary>
    ImagePullFailure,
    /// <summary>No node can run the job as requested (pending).</summary>
    Unschedulable,
    /// <summary>The job's process or record disappeared without a result.</summary>
    Lost,
    /// <summary>The node failed to boot for the job.</summary>
    BootFailure,
    /// <summary>The job reached its scheduler deadline.</summary>
    Deadline,
    /// <summary>The command could not be started (container or program missing).</summary>
    LaunchFailure,
    /// <summary>The backend reported a failure it did not explain.</summary>
    Unknown,
    /// <summary>The job depended on other jobs whose outcome can no longer meet its condition: it never ran and never will.</summary>
    DependencyNeverSatisfied,
    /// <summary>The job waits for the jobs it depends on (pending).</summary>
    WaitingForDependency,
}
