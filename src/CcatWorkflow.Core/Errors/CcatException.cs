namespace CcatWorkflow.Core.Errors;

/// <summary>
/// Every error the engine reports on purpose. Carries a stable <see cref="ErrorId"/>, a
/// <see cref="Kind"/> and, where one is concerned, the job it is about.
/// </summary>
public class CcatException : Exception
{
    /// <summary>Creates an error.</summary>
    public CcatException(CcatErrorId errorId, string message, string? jobId = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorId = errorId;
        JobId = jobId;
    }

    /// <summary>The stable error id.</summary>
    public CcatErrorId ErrorId { get; }

    /// <summary>The job the error is about, if any.</summary>
    public string? JobId { get; }

    /// <summary>The kind of error (PowerShell's category).</summary>
    public CcatErrorKind Kind => KindOf(ErrorId);

    /// <summary>
    /// True when the backend or its store could not be asked (unreachable, TLS, a server error):
    /// the job's state is unknown — never a reason to call it failed. Asking again may work.
    /// </summary>
    public bool IsUnavailable => Kind == CcatErrorKind.ConnectionError || ErrorId is CcatErrorId.KubernetesServerError or CcatErrorId.SlurmRestServerError;

    /// <summary>The kind each id maps to.</summary>
    public static CcatErrorKind KindOf(CcatErrorId id) => id switch
    {
        CcatErrorId.InvalidResourceRequirement or CcatErrorId.InvalidEnvironmentVariable
            or CcatErrorId.InvalidSubmission or CcatErrorId.InvalidJobId
            or CcatErrorId.InvalidArraySpec or CcatErrorId.InvalidDependency or CcatErrorId.UnknownBackend
            or CcatErrorId.InvalidJobName or CcatErrorId.InvalidParameterCombination or CcatErrorId.InvalidRetryPolicy => CcatErrorKind.InvalidArgument,
        CcatErrorId.DependencyNeverSatisfied or CcatErrorId.NotSupportedOnBackend or CcatErrorId.JobFailed or CcatErrorId.NoFailedElements => CcatErrorKind.InvalidOperation,
        CcatErrorId.InvalidConfiguration => CcatErrorKind.InvalidData,
        CcatErrorId.JobNotFound or CcatErrorId.KubernetesNotFound => CcatErrorKind.ObjectNotFound,
        CcatErrorId.SchedulerUnavailable or CcatErrorId.StoreUnavailable
            or CcatErrorId.KubernetesConnectionFailed or CcatErrorId.KubernetesTlsFailed
            or CcatErrorId.SshHostUnreachable => CcatErrorKind.ConnectionError,
        CcatErrorId.SshAuthenticationFailed or CcatErrorId.HostKeyMismatch => CcatErrorKind.AuthenticationError,
        CcatErrorId.KubernetesServerError or CcatErrorId.LogUnavailable => CcatErrorKind.ResourceUnavailable,
        CcatErrorId.KubernetesUnauthorized => CcatErrorKind.AuthenticationError,
        CcatErrorId.KubernetesForbidden => CcatErrorKind.PermissionDenied,
        CcatErrorId.KubernetesConflict => CcatErrorKind.ResourceExists,
        CcatErrorId.KubernetesInvalid or CcatErrorId.SubmissionRejected => CcatErrorKind.InvalidData,
        CcatErrorId.CancelFailed => CcatErrorKind.InvalidOperation,
        CcatErrorId.JobStillRunning or CcatErrorId.RemoveFailed => CcatErrorKind.InvalidOperation,
        CcatErrorId.NotOwnedByModule => CcatErrorKind.PermissionDenied,
        CcatErrorId.WaitTimeout => CcatErrorKind.OperationTimeout,
        CcatErrorId.SlurmRestUnreachable => CcatErrorKind.ConnectionError,
        CcatErrorId.SlurmRestAuthenticationFailed or CcatErrorId.SlurmRestTokenExpired => CcatErrorKind.AuthenticationError,
        CcatErrorId.SlurmRestRequestRejected => CcatErrorKind.InvalidData,
        CcatErrorId.SlurmRestServerError => CcatErrorKind.ResourceUnavailable,
        CcatErrorId.SlurmRestVersionUnsupported => CcatErrorKind.InvalidOperation,
        _ => CcatErrorKind.NotSpecified,
    };
}
