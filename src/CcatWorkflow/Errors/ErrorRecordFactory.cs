using System.Management.Automation;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands.Errors;

/// <summary>Turns engine exceptions into ErrorRecords with stable ids, categories and targets.</summary>
internal static class ErrorRecordFactory
{
    public static ErrorRecord From(CcatException ex, object? target) =>
        new(ex, ex.ErrorId.ToString(), Category(ex.Kind), target ?? ex.JobId);

    public static ErrorRecord Unexpected(Exception ex, object? target) =>
        new(ex, nameof(CcatErrorId.InternalError), ErrorCategory.NotSpecified, target);

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
