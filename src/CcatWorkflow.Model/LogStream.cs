namespace CcatWorkflow;

/// <summary>Which of a job's output streams Get-CcatJobLog reads.</summary>
public enum LogStream
{
    /// <summary>Standard output, then standard error.</summary>
    All,
    /// <summary>Standard output only.</summary>
    Output,
    /// <summary>Standard error only.</summary>
    Error,
}
