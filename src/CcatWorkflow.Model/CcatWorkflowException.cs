namespace CcatWorkflow;

/// <summary>
/// The exception of every error a CcatWorkflow cmdlet reports on purpose, as scripts see it in
/// <c>$_.Exception</c>. It lives in the public model assembly so a script can write
/// <c>catch [CcatWorkflow.CcatWorkflowException] { $_.Exception.ErrorId }</c>; the engine's own
/// exception type is private to the module's load context and is mapped to this one at the
/// cmdlet edge.
/// </summary>
public sealed class CcatWorkflowException : Exception
{
    /// <summary>Creates an error with no id (InternalError).</summary>
    public CcatWorkflowException()
        : this("An error occurred in CcatWorkflow.")
    {
    }

    /// <summary>Creates an error with a message and no id (InternalError).</summary>
    public CcatWorkflowException(string message)
        : this(message, (Exception?)null)
    {
    }

    /// <summary>Creates an error with a message and the exception that caused it.</summary>
    public CcatWorkflowException(string message, Exception? innerException)
        : this(message, "InternalError", null, false, innerException)
    {
    }

    /// <summary>Creates an error with its stable id and the job it is about.</summary>
    /// <param name="message">What went wrong, for people.</param>
    /// <param name="errorId">The stable error id (the first part of FullyQualifiedErrorId).</param>
    /// <param name="jobId">The job the error is about, if any.</param>
    /// <param name="isUnavailable">True when the backend or its store could not be asked.</param>
    /// <param name="innerException">The exception that caused this one, if any.</param>
    public CcatWorkflowException(string message, string errorId, string? jobId, bool isUnavailable, Exception? innerException)
        : base(message, innerException)
    {
        ErrorId = string.IsNullOrEmpty(errorId) ? "InternalError" : errorId;
        JobId = jobId;
        IsUnavailable = isUnavailable;
    }

    /// <summary>The stable error id, for example <c>JobNotFound</c> or <c>SchedulerUnavailable</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The job the error is about, if any.</summary>
    public string? JobId { get; }

    /// <summary>
    /// True when the backend or its store could not be asked: the job's state is unknown, never
    /// failed, and asking again may work.
    /// </summary>
    public bool IsUnavailable { get; }
}
