using System.Text.Json;

namespace CcatWorkflow.Core.Retries;

/// <summary>
/// A claim on one attempt (2 and up) of a retried job, as stored in the ledger: who claimed it
/// and why (the previous attempt's id and reason), the attempt's resources, and — once
/// submitted — its id. A claim with <see cref="Stopped"/> is Stop-CcatJob's: no attempt follows.
/// </summary>
public sealed record RetryClaim
{
    /// <summary>The attempt claimed.</summary>
    public int Attempt { get; init; }

    /// <summary>The backend's id of the attempt, once submitted.</summary>
    public string? JobId { get; init; }

    /// <summary>True for Stop-CcatJob's claim: the job was stopped, no further attempt.</summary>
    public bool Stopped { get; init; }

    /// <summary>Why submitting the attempt failed (the job then ends failed), if it did.</summary>
    public string? Error { get; init; }

    /// <summary>When the claim was made.</summary>
    public DateTimeOffset ClaimedAt { get; init; }

    /// <summary>Who claimed it: host and process id.</summary>
    public string ClaimedBy { get; init; } = "";

    /// <summary>The previous attempt's backend id (null when it was never submitted).</summary>
    public string? PreviousJobId { get; init; }

    /// <summary>Why the previous attempt failed.</summary>
    public HPCJobReason PreviousReason { get; init; }

    /// <summary>The previous attempt's exit code.</summary>
    public int? PreviousExitCode { get; init; }

    /// <summary>This attempt's CPUs.</summary>
    public int? Cpu { get; init; }

    /// <summary>This attempt's memory (GiB).</summary>
    public double? MemoryGb { get; init; }

    /// <summary>This attempt's time limit (hours).</summary>
    public double? TimeHours { get; init; }

    /// <summary>This attempt's GPUs.</summary>
    public int? Gpu { get; init; }

    /// <summary>The claim as stored.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RetryJsonContext.Default.RetryClaim);

    /// <summary>
    /// A stored claim. A text that does not parse (a claim being written by a file system that
    /// cannot create whole files at once) reads as a fresh claim without an id.
    /// </summary>
    public static RetryClaim FromJson(int attempt, string? text)
    {
        try
        {
            if (!string.IsNullOrWhiteSpace(text) && JsonSerializer.Deserialize(text, RetryJsonContext.Default.RetryClaim) is { } c) return c with { Attempt = attempt };
        }
        catch (JsonException)
        {
        }

        return new RetryClaim { Attempt = attempt, ClaimedAt = DateTimeOffset.UtcNow, ClaimedBy = "?" };
    }
}
