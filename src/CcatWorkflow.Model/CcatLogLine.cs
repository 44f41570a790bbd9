namespace CcatWorkflow;

/// <summary>
/// One line of a job's output, as Get-CcatJobLog writes it for several jobs: the line and the
/// job it came from, so the output of many jobs can be told apart, grouped and filtered.
/// Displays as its text; it binds to <c>-JobId</c> and <c>-Backend</c> by property name.
/// </summary>
public sealed class CcatLogLine
{
    /// <summary>Creates a log line.</summary>
    /// <param name="jobId">The backend-specific id of the job that wrote the line.</param>
    /// <param name="backend">The backend that owns the job.</param>
    /// <param name="jobName">The job's name, if known.</param>
    /// <param name="stream">Output or Error; All where the backend keeps both in one log (Kubernetes) or the log was followed.</param>
    /// <param name="text">The line, without its line ending.</param>
    public CcatLogLine(string jobId, HPCBackendKind backend, string? jobName, LogStream stream, string text)
    {
        if (string.IsNullOrWhiteSpace(jobId))
        {
            throw new ArgumentException("A job id is required.", nameof(jobId));
        }

        JobId = jobId;
        Backend = backend;
        JobName = jobName;
        Stream = stream;
        Text = text ?? "";
    }

    /// <summary>The backend-specific id of the job that wrote the line.</summary>
    public string JobId { get; }

    /// <summary>The backend that owns the job.</summary>
    public HPCBackendKind Backend { get; }

    /// <summary>The job's name, if known.</summary>
    public string? JobName { get; }

    /// <summary>Output or Error; All where both streams come as one log (Kubernetes, or -Follow).</summary>
    public LogStream Stream { get; }

    /// <summary>The line, without its line ending.</summary>
    public string Text { get; }

    /// <inheritdoc />
    public override string ToString() => Text;
}
