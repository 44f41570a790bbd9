using System.Management.Automation;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands.Errors;

/// <summary>
/// Turns engine exceptions into ErrorRecords with stable ids, categories and targets. The
/// record's exception is the public <see cref="CcatWorkflowException"/> (the engine's own type
/// lives in the private load context, where scripts cannot name it), carrying the same id and job.
/// </summary>
internal static class ErrorRecordFactory
{
    public static ErrorRecord From(CcatException ex, object? target) =>
        new(ToPublic(ex), ex.ErrorId.ToString(), Category(ex.Kind), target ?? ex.JobId);

    /// <summary>
    /// The public exception for an engine exception. An id refused as malformed gets a hint
    /// when it has another backend's form (a Slurm id sent to the Local backend).
    /// </summary>
    public static CcatWorkflowException ToPublic(CcatException ex)
    {
        var message = ex.ErrorId == CcatErrorId.InvalidJobId ? ex.Message + JobIdHint.For(ex.JobId, null) : ex.Message;
        return new CcatWorkflowException(message, ex.ErrorId.ToString(), ex.JobId, ex.IsUnavailable, ex);
    }

    public static ErrorCategory Category(CcatErrorKind kind) => kind switch
    {
        CcatErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        CcatErrorKind.InvalidData => ErrorCategory.InvalidData,
        CcatErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        CcatErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        CcatErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        CcatErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        CcatErrorKind.AuthenticationError => ErrorCategory.AuthenticationError,
        CcatErrorKind.ResourceExists => ErrorCategory.ResourceExists,
        CcatErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        CcatErrorKind.OperationTimeout => ErrorCategory.OperationTimeout,
        _ => ErrorCategory.NotSpecified,
    };
}
