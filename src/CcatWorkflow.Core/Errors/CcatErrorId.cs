namespace CcatWorkflow.Core.Errors;

/// <summary>
/// The stable error ids of the module, in one place. The name of each member is the ErrorId a
/// script sees in <c>$Error[0].FullyQualifiedErrorId</c>; never rename one.
/// </summary>
public enum CcatErrorId
{
    // ---- bad input: nothing was submitted
    /// <summary>A resource requirement key is unknown or its value impossible.</summary>
    InvalidResourceRequirement,
    /// <summary>An environment variable name is empty or contains '=' or NUL.</summary>
    InvalidEnvironmentVariable,
    /// <summary>The submission as a whole is incomplete or contradictory.</summary>
    InvalidSubmission,
    /// <summary>A job id does not have the form the backend uses.</summary>
    InvalidJobId,
    /// <summary>The settings file or a setting's value is malformed.</summary>
    InvalidConfiguration,

    // ---- the job is not there
    /// <summary>The backend does not know the job.</summary>
    JobNotFound,

    // ---- the backend could not be asked (never a job failure)
    /// <summary>The scheduler or API could not be reached or did not answer.</summary>
    SchedulerUnavailable,
    /// <summary>The job store (file or Redis) could not be read or written.</summary>
    StoreUnavailable,

    // ---- the backend refused
    /// <summary>The backend refused the submission (sbatch error, API validation).</summary>
    SubmissionRejected,
    /// <summary>The backend refused or failed to cancel the job.</summary>
    CancelFailed,
    /// <summary>The job's logs cannot be read.</summary>
    LogUnavailable,

    // ---- Kubernetes API errors, one id each
    /// <summary>401 from the Kubernetes API.</summary>
    KubernetesUnauthorized,
    /// <summary>403 from the Kubernetes API.</summary>
    KubernetesForbidden,
    /// <summary>404 from the Kubernetes API (namespace or resource missing).</summary>
    KubernetesNotFound,
    /// <summary>409 from the Kubernetes API (name taken).</summary>
    KubernetesConflict,
    /// <summary>422 from the Kubernetes API (invalid spec).</summary>
    KubernetesInvalid,
    /// <summary>5xx from the Kubernetes API.</summary>
    KubernetesServerError,
    /// <summary>The Kubernetes API server refused the connection.</summary>
    KubernetesConnectionFailed,
    /// <summary>TLS with the Kubernetes API server failed.</summary>
    KubernetesTlsFailed,

    // ---- the Slurm SSH transport, one id each
    /// <summary>The SSH login node could not be reached (refused, timed out, name unknown): the scheduler could not be asked.</summary>
    SshHostUnreachable,
    /// <summary>The SSH login node refused the key (or the key file cannot be used).</summary>
    SshAuthenticationFailed,
    /// <summary>The SSH login node's host key is not the one pinned in the known_hosts file (unknown or changed): never accepted.</summary>
    HostKeyMismatch,

    // ---- waiting
    /// <summary>Wait-CcatJob's timeout passed before the job finished.</summary>
    WaitTimeout,

    // ---- removing jobs (Remove-CcatJob)
    /// <summary>The job has not finished: Remove-CcatJob refuses it without -Force.</summary>
    JobStillRunning,
    /// <summary>The job's folder, record or objects lack the module's marks: nothing of it is removed.</summary>
    NotOwnedByModule,
    /// <summary>Removing the job's record or files failed.</summary>
    RemoveFailed,

    // ---- anything else
    /// <summary>An unexpected failure inside the module (a bug): the message and inner exception say what.</summary>
    InternalError,

    // ---- job arrays and dependencies
    /// <summary>An -ArrayIndex spec or -ThrottleLimit is malformed or out of range (nothing was submitted).</summary>
    InvalidArraySpec,
    /// <summary>A -DependsOn parent is unusable: on another backend, malformed, or unknown (nothing was submitted).</summary>
    InvalidDependency,
    /// <summary>A -DependsOn parent has already ended in a way that can never meet the condition (nothing was submitted).</summary>
    DependencyNeverSatisfied,
    /// <summary>The backend does not support this feature yet (for example job arrays on Local); nothing was submitted.</summary>
    NotSupportedOnBackend,

    // ---- input
    /// <summary>A backend name (from -Backend or a piped object's Backend) that names no registered backend.</summary>
    UnknownBackend,

    // ---- names
    /// <summary>A job name or a name pattern (-Name wildcards) is malformed.</summary>
    InvalidJobName,

    // ---- PowerShell jobs
    /// <summary>The reason of a PowerShell job (-AsJob, Get-Job) whose HPC job failed; Receive-Job reports it. Never a cmdlet's error.</summary>
    JobFailed,
    /// <summary>Two parameters that cannot be used together (for example Wait-CcatJob -AsJob with -Timeout).</summary>
    InvalidParameterCombination,

    // ---- the Slurm REST transport (slurmrestd), one id each
    /// <summary>slurmrestd could not be reached (refused, timed out, no such socket): the scheduler could not be asked.</summary>
    SlurmRestUnreachable,
    /// <summary>slurmrestd, slurmctld or slurmdbd refused the token (on 22.05 a wrong token reads as HTTP 500 with a misleading message, or as HTTP 200 with error 1007 and no jobs).</summary>
    SlurmRestAuthenticationFailed,
    /// <summary>The JWT has expired or is about to, by its own exp claim: it was not sent.</summary>
    SlurmRestTokenExpired,
    /// <summary>slurmrestd refused the request as malformed (HTTP 4xx other than 401).</summary>
    SlurmRestRequestRejected,
    /// <summary>slurmrestd answered with a server error (HTTP 5xx) that means nothing more specific: could not be asked.</summary>
    SlurmRestServerError,

    // ---- re-runs
    /// <summary>Submit-CcatJob -RetryFailed found no failed element in the array or elements given: nothing was submitted.</summary>
    NoFailedElements,

    // ---- retries
    /// <summary>A retry policy (-RetryOn, -MaxAttempts, -MemoryGrowth, -TimeGrowth, -RetryPolicy) is malformed or cannot apply to this job (nothing was submitted).</summary>
    InvalidRetryPolicy,

    // ---- the Slurm REST transport, continued
    /// <summary>slurmrestd serves none of the API versions the module speaks (v0.0.36–38, Slurm 21.08–22.05); the message names those it serves.</summary>
    SlurmRestVersionUnsupported,
}
