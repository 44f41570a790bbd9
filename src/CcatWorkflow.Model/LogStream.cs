namespace CcatWorkflow;

/// <summary>Which of a job's output streams Get-CcatJobLog reads.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix",
    Justification = "Public, shipped parameter type (-Stream); the name is the output stream, not a System.IO.Stream.")]
public enum LogStream
{
    /// <summary>Standard output, then standard error.</summary>
    All,
    /// <summary>Standard output only.</summary>
    Output,
    /// <summary>Standard error only.</summary>
    Error,
}
