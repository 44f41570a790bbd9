namespace CcatWorkflow.Core.Logs;

/// <summary>What part of a job's log to read.</summary>
/// <param name="Stream">Which stream.</param>
/// <param name="Tail">Only the last N lines of each stream; null for all.</param>
public sealed record LogQuery(LogStream Stream = LogStream.All, int? Tail = null)
{
    /// <summary>The whole log, both streams.</summary>
    public static LogQuery All { get; } = new();

    /// <summary>For a job under a retry policy, which attempt's log (1 = the first); null = the latest attempt.</summary>
    public int? Attempt { get; init; }
}
