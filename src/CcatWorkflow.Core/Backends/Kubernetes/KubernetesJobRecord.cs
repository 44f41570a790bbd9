using System.Globalization;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// What the module keeps about a job outside the Job itself, in a ConfigMap named like the
/// Job (label <c>ccat-workflow/record=job</c>). It is written at submission, when a cancel is
/// asked for, and once when the job is first seen finished (the "capture": exit code, reason,
/// times). A Job deleted by its TTL therefore still reads with its result, a cancelled job reads
/// cancelled, and a Job that vanished without a result reads lost — the record is what tells
/// "deleted behind our back" from "never existed".
/// </summary>
public sealed record KubernetesJobRecord
{
    internal const string JobNameKey = "jobName", SubmittedAtKey = "submittedAt", CpuKey = "cpu",
        CancelRequestedAtKey = "cancelRequestedAt", StatusKey = "status", ReasonKey = "reason",
        ExitCodeKey = "exitCode", StartedAtKey = "startedAt", FinishedAtKey = "finishedAt",
        NativeStateKey = "nativeState", MessageKey = "message", CapturedAtKey = "capturedAt", LogCapturedKey = "logCaptured";

    internal const string MemoryGbKey = "memoryGb", TimeHoursKey = "timeHours", GpuKey = "gpu", CommandKey = "command";

    /// <summary>The job id (the record's name).</summary>
    public required string JobId { get; init; }

    /// <summary>The job name as given.</summary>
    public string? JobName { get; init; }

    /// <summary>When the job was submitted.</summary>
    public DateTimeOffset? SubmittedAt { get; init; }

    /// <summary>CPUs requested (for allocated core-hours).</summary>
    public int? Cpu { get; init; }

    /// <summary>Memory requested in GiB.</summary>
    public double? MemoryGb { get; init; }

    /// <summary>Time limit requested in hours.</summary>
    public double? TimeHours { get; init; }

    /// <summary>GPUs requested.</summary>
    public int? Gpu { get; init; }

    /// <summary>The execution command as submitted.</summary>
    public string? Command { get; init; }

    /// <summary>When Stop-CcatJob asked for the job to be cancelled.</summary>
    public DateTimeOffset? CancelRequestedAt { get; init; }

    /// <summary>The captured final state, if the job was seen finished.</summary>
    public HPCJobStatus? FinalStatus { get; init; }

    /// <summary>The captured reason.</summary>
    public HPCJobReason FinalReason { get; init; }

    /// <summary>The captured exit code.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The captured start time (container start).</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>The captured end time (container finish).</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The captured native state.</summary>
    public string? NativeState { get; init; }

    /// <summary>The captured message.</summary>
    public string? Message { get; init; }

    /// <summary>True when the log ConfigMap was written at capture.</summary>
    public bool LogCaptured { get; init; }

    /// <summary>True once the final state is recorded.</summary>
    public bool IsCaptured => FinalStatus is not null;

    /// <summary>Reads a record ConfigMap.</summary>
    public static KubernetesJobRecord FromConfigMap(V1ConfigMap cm)
    {
        var d = cm.Data ?? new Dictionary<string, string>();
        string? S(string k) => d.TryGetValue(k, out var v) && v.Length > 0 ? v : null;
        return new KubernetesJobRecord
        {
            JobId = cm.Metadata.Name,
            JobName = S(JobNameKey),
            SubmittedAt = ParseTime(S(SubmittedAtKey)) ?? ToOffset(cm.Metadata.CreationTimestamp),
            Cpu = int.TryParse(S(CpuKey), NumberStyles.Integer, CultureInfo.InvariantCulture, out var cpu) ? cpu : null,
            MemoryGb = double.TryParse(S(MemoryGbKey), NumberStyles.Float, CultureInfo.InvariantCulture, out var mem) ? mem : null,
            TimeHours = double.TryParse(S(TimeHoursKey), NumberStyles.Float, CultureInfo.InvariantCulture, out var hours) ? hours : null,
            Gpu = int.TryParse(S(GpuKey), NumberStyles.Integer, CultureInfo.InvariantCulture, out var gpu) ? gpu : null,
            Command = S(CommandKey),
            CancelRequestedAt = ParseTime(S(CancelRequestedAtKey)),
            FinalStatus = Enum.TryParse<HPCJobStatus>(S(StatusKey), true, out var st) ? st : null,
            FinalReason = Enum.TryParse<HPCJobReason>(S(ReasonKey), true, out var r) ? r : HPCJobReason.None,
            ExitCode = int.TryParse(S(ExitCodeKey), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ec) ? ec : null,
            StartedAt = ParseTime(S(StartedAtKey)),
            FinishedAt = ParseTime(S(FinishedAtKey)),
            NativeState = S(NativeStateKey),
            Message = S(MessageKey),
            LogCaptured = S(LogCapturedKey) == "true",
        };
    }

    /// <summary>The data keys a capture writes (a merge patch of the record's data).</summary>
    public static Dictionary<string, string?> CaptureData(HPCJobInfo info, bool logCaptured, DateTimeOffset now) => new()
    {
        [StatusKey] = info.Status.ToString(),
        [ReasonKey] = info.Reason.ToString(),
        [ExitCodeKey] = info.ExitCode?.ToString(CultureInfo.InvariantCulture),
        [StartedAtKey] = info.StartedAt is { } s ? FormatTime(s) : null,
        [FinishedAtKey] = info.FinishedAt is { } f ? FormatTime(f) : null,
        [NativeStateKey] = info.NativeState,
        [MessageKey] = info.Message,
        [LogCapturedKey] = logCaptured ? "true" : null,
        [CapturedAtKey] = FormatTime(now),
    };

    /// <summary>Times as the API writes them: RFC 3339, UTC.</summary>
    public static string FormatTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    internal static DateTimeOffset? ParseTime(string? s) =>
        s is not null && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    internal static DateTimeOffset? ToOffset(DateTime? t) =>
        t is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, v.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : v.Kind).ToUniversalTime(), TimeSpan.Zero) : null;
}
