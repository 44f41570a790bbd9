using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// A job's record in the store: a flat map of string fields (a Redis hash; a JSON object in
/// the file store), so another program — the Python service, <c>redis-cli</c> — can read it.
/// Field names and values are documented in docs/local-backend.md.
/// </summary>
internal sealed class LocalJobRecord
{
    /// <summary>Field names.</summary>
    public const string Id = "id", Name = "name", Status = "status", Reason = "reason", ExitCode = "exit_code",
        Signal = "signal", WallSeconds = "wall_seconds", CpuSeconds = "cpu_seconds", PeakRssBytes = "peak_rss_bytes",
        SubmittedAt = "submitted_at", StartedAt = "started_at", FinishedAt = "finished_at", Host = "host",
        RunnerPid = "runner_pid", JobPid = "job_pid", JobDir = "job_dir", Command = "command", Message = "message",
        UpdatedAt = "updated_at", RecordedBy = "recorded_by", Runner = "runner";

    /// <summary>Field name of the cgroups the job runs in (see <see cref="LocalRunnerState.CgroupUse"/>).</summary>
    public const string Cgroup = "cgroup";

    /// <summary>
    /// Field set to <see cref="ResultFileMissing"/> by a runner whose job folder refused
    /// result.json (a full or read-only disk): the store alone holds the result, and readers
    /// write it to the folder (then empty the field) as soon as the folder takes it.
    /// </summary>
    public const string ResultFile = "result_file", ResultFileMissing = "missing";

    /// <summary>Field names of what was asked at submission (empty when not asked).</summary>
    public const string RequestedCpu = "cpu", RequestedMemoryGb = "memory_gb", RequestedTimeHours = "time_hours", RequestedGpu = "gpu";

    /// <summary>Field names of arrays and dependencies (empty when not used).</summary>
    public const string ArrayIndex = "array_index", ThrottleLimit = "throttle_limit", ArrayJobId = "array_job_id",
        ArrayTaskIndex = "array_task_index", DependsOn = "depends_on", DependencyCondition = "dependency_condition", RetryOf = "retry_of";

    public LocalJobRecord(IReadOnlyDictionary<string, string> fields) => Fields = fields;

    /// <summary>The raw fields.</summary>
    public IReadOnlyDictionary<string, string> Fields { get; }

    public string? Get(string name) => Fields.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    public HPCJobStatus? StatusValue => Get(Status) switch
    {
        "pending" => HPCJobStatus.Pending,
        "running" => HPCJobStatus.Running,
        "completed" => HPCJobStatus.Completed,
        "failed" => HPCJobStatus.Failed,
        _ => null,
    };

    public DateTimeOffset? Time(string name) =>
        Get(name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null; // no offset written = UTC (redis-cli, other programs)

    // ---- building field sets

    /// <summary>The fields of a new record (status pending).</summary>
    public static Dictionary<string, string> ForSubmission(LocalJobSpec spec, string jobDir) => new Dictionary<string, string>
    {
        [Id] = spec.Id,
        [Name] = spec.Name,
        [Status] = "pending",
        [SubmittedAt] = FormatTime(spec.SubmittedAt),
        [Host] = spec.SubmitHost,
        [JobDir] = jobDir,
        [Command] = spec.Command,
        [RequestedCpu] = Format(spec.Cpu),
        [RequestedMemoryGb] = Format(spec.MemoryGb),
        [RequestedTimeHours] = Format(spec.TimeHours),
        [RequestedGpu] = Format(spec.Gpu),
        [UpdatedAt] = FormatTime(DateTimeOffset.UtcNow),
    }.WithCampaignFields(spec);

    /// <summary>
    /// <paramref name="info"/> with what was asked at submission, from the record; a record
    /// written before these fields existed falls back to the job's <c>job.json</c>.
    /// </summary>
    public HPCJobInfo WithSubmission(HPCJobInfo info, Func<LocalJobSpec?> spec, string logPath)
    {
        static double? D(string? s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
        static int? I(string? s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
        if (Fields.ContainsKey(RequestedCpu))
        {
            return info.WithSubmission(I(Get(RequestedCpu)), D(Get(RequestedMemoryGb)), D(Get(RequestedTimeHours)), I(Get(RequestedGpu)), Get(Command), logPath);
        }

        var s = spec();
        return info.WithSubmission(s?.Cpu, s?.MemoryGb, s?.TimeHours, s?.Gpu, Get(Command) ?? s?.Command, logPath);
    }

    /// <summary>The fields the runner sets once the command runs.</summary>
    public static Dictionary<string, string> ForRunning(LocalRunnerState state) => new()
    {
        [Status] = "running",
        [StartedAt] = FormatTime(state.StartedAt),
        [Host] = state.Host,
        [RunnerPid] = state.RunnerPid.ToString(CultureInfo.InvariantCulture),
        [JobPid] = state.JobPid.ToString(CultureInfo.InvariantCulture),
        [Runner] = state.Runner ?? "",
        [Cgroup] = state.CgroupUse ?? "",
        [UpdatedAt] = FormatTime(DateTimeOffset.UtcNow),
    };

    /// <summary>The fields of a final result. Unmeasured values are written as empty strings.</summary>
    public static Dictionary<string, string> ForResult(LocalJobResult r) => new()
    {
        [Status] = StatusText(r.Status),
        [Reason] = r.Reason,
        [ExitCode] = Format(r.ExitCode),
        [Signal] = Format(r.Signal),
        [WallSeconds] = Format(r.WallSeconds),
        [CpuSeconds] = Format(r.CpuSeconds),
        [PeakRssBytes] = Format(r.PeakRssBytes),
        [StartedAt] = r.StartedAt is { } s ? FormatTime(s) : "",
        [FinishedAt] = FormatTime(r.FinishedAt),
        [Message] = r.Message ?? "",
        [RecordedBy] = r.RecordedBy,
        [UpdatedAt] = FormatTime(DateTimeOffset.UtcNow),
    };

    /// <summary>
    /// The final result this record holds, when its runner recorded one here (its folder could
    /// not take it: a read-only or full disk); null otherwise.
    /// </summary>
    public LocalJobResult? RunnerResult()
    {
        if (Get(RecordedBy) != "runner" || StatusValue is not (HPCJobStatus.Completed or HPCJobStatus.Failed) || Time(FinishedAt) is not { } finished)
        {
            return null;
        }

        static double? D(string? s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
        static int? I(string? s) => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
        return new LocalJobResult
        {
            ExitCode = I(Get(ExitCode)),
            Signal = I(Get(Signal)),
            Reason = Get(Reason) ?? "",
            WallSeconds = D(Get(WallSeconds)),
            CpuSeconds = D(Get(CpuSeconds)),
            PeakRssBytes = long.TryParse(Get(PeakRssBytes), NumberStyles.None, CultureInfo.InvariantCulture, out var peak) ? peak : null,
            StartedAt = Time(StartedAt),
            FinishedAt = finished,
            Message = Get(Message),
            RecordedBy = "runner",
            Host = Get(Host),
        };
    }

    /// <summary>
    /// The final result the runner recorded here when result.json holds the very same one: the
    /// runner writes result.json first, create-only, and then these fields (or, when a result
    /// stood already, that result's, recorded by whoever wrote it), so the record alone answers
    /// and the folder need not be read. Null for anything else: a record not final yet, a
    /// verdict of a reader (one from another host is not in result.json), a result the folder
    /// refused (<see cref="ResultFile"/>).
    /// </summary>
    public LocalJobResult? SettledResult() =>
        Get(ResultFile) is null && RunnerResult() is { } result ? result : null;

    /// <summary>The fields a runner writes when its job folder refused the result: the result, marked as not in the folder.</summary>
    public static Dictionary<string, string> ForResultNotInFolder(LocalJobResult r)
    {
        var fields = ForResult(r);
        fields[ResultFile] = ResultFileMissing;
        return fields;
    }

    /// <summary>True when the record already says what the result says (no heal needed).</summary>
    public bool Matches(LocalJobResult r)
    {
        var want = ForResult(r);
        foreach (var (k, v) in want)
        {
            if (k == UpdatedAt) continue;
            if ((Fields.TryGetValue(k, out var have) ? have : "") != v) return false;
        }

        return true;
    }

    public static string StatusText(HPCJobStatus s) => s switch
    {
        HPCJobStatus.Pending => "pending",
        HPCJobStatus.Running => "running",
        HPCJobStatus.Completed => "completed",
        _ => "failed",
    };

    /// <summary>The reason as stored: snake_case of the enum name, empty for None.</summary>
    public static string ReasonText(HPCJobReason reason) => reason switch
    {
        HPCJobReason.None => "",
        HPCJobReason.NonZeroExit => "non_zero_exit",
        HPCJobReason.OutOfMemory => "out_of_memory",
        HPCJobReason.NodeFailure => "node_failure",
        HPCJobReason.ImagePullFailure => "image_pull_failure",
        HPCJobReason.BootFailure => "boot_failure",
        HPCJobReason.LaunchFailure => "launch_failure",
        HPCJobReason.DependencyNeverSatisfied => "dependency_never_satisfied",
        HPCJobReason.WaitingForDependency => "waiting_for_dependency",
        _ => reason.ToString().ToLowerInvariant(),
    };

    public static HPCJobReason ParseReason(string? text)
    {
        if (string.IsNullOrEmpty(text)) return HPCJobReason.None;
        foreach (var r in Enum.GetValues<HPCJobReason>())
        {
            if (ReasonText(r) == text) return r;
        }

        return HPCJobReason.Unknown;
    }

    public static string FormatTime(DateTimeOffset t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static string Format(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Format(long? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Format(double? v) => v?.ToString("R", CultureInfo.InvariantCulture) ?? "";
}

/// <summary>The array and dependency fields of a record, written only when the job uses them.</summary>
internal static class LocalJobRecordCampaign
{
    /// <summary>Adds the array and dependency fields of <paramref name="spec"/> that are set.</summary>
    public static Dictionary<string, string> WithCampaignFields(this Dictionary<string, string> fields, LocalJobSpec spec)
    {
        void Put(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value)) fields[name] = value;
        }

        Put(LocalJobRecord.ArrayIndex, spec.ArrayIndex);
        Put(LocalJobRecord.ThrottleLimit, spec.ThrottleLimit?.ToString(CultureInfo.InvariantCulture));
        Put(LocalJobRecord.ArrayJobId, spec.ArrayJobId);
        Put(LocalJobRecord.ArrayTaskIndex, spec.ArrayTaskIndex?.ToString(CultureInfo.InvariantCulture));
        Put(LocalJobRecord.DependsOn, spec.DependsOn is { Count: > 0 } parents ? string.Join(",", parents) : null);
        Put(LocalJobRecord.DependencyCondition, spec.DependsOn is { Count: > 0 } ? spec.DependencyCondition : null);
        Put(LocalJobRecord.RetryOf, spec.RetryOf);
        return fields;
    }
}
