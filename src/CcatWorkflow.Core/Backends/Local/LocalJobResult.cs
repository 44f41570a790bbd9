using System.Text.Json.Serialization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// <c>result.json</c>: the job's final record, the durable truth. Written once, atomically and
/// without replacing an existing one, by the runner (or by a reader that found the runner gone:
/// reason <c>lost</c>). The store's record is healed from it.
/// </summary>
internal sealed record LocalJobResult
{
    /// <summary>Format version of the file.</summary>
    public int Version { get; init; } = 1;

    /// <summary>The exit code (128 + signal for a signal death); null when the command never ran or nobody saw it end.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal that ended the command, if one did.</summary>
    public int? Signal { get; init; }

    /// <summary>The reason, as <see cref="LocalJobRecord.ReasonText"/> spells it (empty for a normal exit 0).</summary>
    public string Reason { get; init; } = "";

    /// <summary>Elapsed seconds from the command's start to its end.</summary>
    public double? WallSeconds { get; init; }

    /// <summary>User + system CPU seconds of the whole process tree.</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>User CPU seconds of the whole process tree.</summary>
    public double? UserCpuSeconds { get; init; }

    /// <summary>System CPU seconds of the whole process tree.</summary>
    public double? SystemCpuSeconds { get; init; }

    /// <summary>Peak resident memory of the process tree in bytes.</summary>
    public long? PeakRssBytes { get; init; }

    /// <summary>
    /// Enforcement periods in which the kernel held the job back at its CPU quota (cpu.stat
    /// <c>nr_throttled</c>); null when the job had no CPU cgroup.
    /// </summary>
    public long? CpuThrottledPeriods { get; init; }

    /// <summary>How long, in all, the kernel held the job back at its CPU quota; null when the job had no CPU cgroup.</summary>
    public double? CpuThrottledSeconds { get; init; }

    /// <summary>When the command started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the command ended (or when the job was found lost).</summary>
    public required DateTimeOffset FinishedAt { get; init; }

    /// <summary>A human-readable detail.</summary>
    public string? Message { get; init; }

    /// <summary>Who wrote the result: <c>runner</c> or <c>reader</c> (a lost verdict).</summary>
    public string RecordedBy { get; init; } = "runner";

    /// <summary>Host name of the writer.</summary>
    public string? Host { get; init; }

    /// <summary>The reason as the enum.</summary>
    [JsonIgnore]
    public HPCJobReason ReasonValue => LocalJobRecord.ParseReason(Reason);

    /// <summary>completed only for exit code 0 with no reason; failed otherwise.</summary>
    [JsonIgnore]
    public HPCJobStatus Status => ExitCode == 0 && ReasonValue == HPCJobReason.None ? HPCJobStatus.Completed : HPCJobStatus.Failed;
}
