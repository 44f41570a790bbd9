namespace CcatWorkflow.Core.Errors;

/// <summary>
/// The kind of an error, mapped one to one onto PowerShell's ErrorCategory by the cmdlet layer
/// (Core has no PowerShell reference).
/// </summary>
public enum CcatErrorKind
{
    /// <summary>ErrorCategory.InvalidArgument.</summary>
    InvalidArgument,
    /// <summary>ErrorCategory.InvalidData.</summary>
    InvalidData,
    /// <summary>ErrorCategory.ObjectNotFound.</summary>
    ObjectNotFound,
    /// <summary>ErrorCategory.ConnectionError.</summary>
    ConnectionError,
    /// <summary>ErrorCategory.ResourceUnavailable.</summary>
    ResourceUnavailable,
    /// <summary>ErrorCategory.PermissionDenied.</summary>
    PermissionDenied,
    /// <summary>ErrorCategory.AuthenticationError.</summary>
    AuthenticationError,
    /// <summary>ErrorCategory.ResourceExists.</summary>
    ResourceExists,
    /// <summary>ErrorCategory.InvalidOperation.</summary>
    InvalidOperation,
    /// <summary>ErrorCategory.OperationTimeout.</summary>
    OperationTimeout,
    /// <summary>ErrorCategory.NotSpecified.</summary>
    NotSpecified,
}
