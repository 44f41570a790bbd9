using System.Globalization;
using CcatWorkflow.Core.Diagnostics;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The status rule of the Local backend — no false states:
/// <list type="number">
/// <item>The record holds the runner's final result, and result.json the same
/// (<see cref="LocalJobRecord.SettledResult"/>) → final, from the record alone: no file is read.</item>
/// <item><c>result.json</c> present → final, whatever the store says (and the store is healed from it).</item>
/// <item>Else a runner is recorded in <c>runner.json</c>: on this machine (same boot id and pid
/// namespace) it is alive only if its pid exists, is not a zombie and started at the recorded
/// tick; on another host it is alive while its heartbeat is fresher than
/// <see cref="LocalBackendOptions.HeartbeatStale"/>. Alive → running.</item>
/// <item>Else no runner yet: pending while the submission is younger than
/// <see cref="LocalBackendOptions.LaunchGrace"/>.</item>
/// <item>Otherwise → failed, reason lost. Judged on the runner's own machine the verdict is
/// certain: it is written to result.json (create-only, so a real result can never be
/// overwritten, nor a verdict replace one) and the job's leftover processes are ended. Judged
/// from another host it is reported but not written: that host might only be slow to show the
/// heartbeat.</item>
/// </list>
/// </summary>
internal sealed class LocalJobInspector
{
    private readonly LocalBackendOptions _options;
    private readonly ILocalJobStore _store;

    public LocalJobInspector(LocalBackendOptions options, ILocalJobStore store)
    {
        _options = options;
        _store = store;
    }

    public LocalJobDirectory DirectoryOf(string id) => new(Path.Combine(_options.JobRoot, id));

    /// <summary>The job's info from its record and its directory, with what was asked at submission.</summary>
    /// <remarks>
    /// A record holding the runner's settled result (<see cref="LocalJobRecord.SettledResult"/>)
    /// is answered from the record alone: no file of the folder is looked at, so the status of a
    /// thousand finished jobs costs the store's one batch read and nothing per job. Every other
    /// record is checked against the folder (result.json, the runner's lock).
    /// </remarks>
    public async Task<HPCJobInfo> InspectAsync(string id, LocalJobRecord record, CancellationToken cancellationToken)
    {
        var dir = DirectoryOf(id);
        var info = record.SettledResult() is { } settled
            ? FromResult(id, null, record, settled)
            : await InspectStateAsync(id, record, cancellationToken).ConfigureAwait(false);
        return record.WithSubmission(info, () => dir.Exists ? dir.TryReadSpec() : null, dir.StdoutPath);
    }

    private async Task<HPCJobInfo> InspectStateAsync(string id, LocalJobRecord record, CancellationToken cancellationToken)
    {
        var dir = DirectoryOf(id);
        if (!dir.Exists)
        {
            return FromRecordOnly(id, record, $"The job directory {dir.Path} is not visible here; this is the store's last record.");
        }

        var spec = dir.TryReadSpec();
        var result = dir.TryReadResult();
        if (result is null && record.RunnerResult() is { } inStore)
        {
            // The runner's folder refused the result (full or read-only disk), the store took it.
            result = inStore;
            if (TryWriteResult(dir, inStore)) await ForgetMissingResultFileAsync(id, record, cancellationToken).ConfigureAwait(false);
        }
        else if (result is not null && record.Get(LocalJobRecord.ResultFile) is not null)
        {
            await ForgetMissingResultFileAsync(id, record, cancellationToken).ConfigureAwait(false); // written meanwhile
        }

        if (result is null)
        {
            var (info, lost) = await ObserveAsync(id, dir, spec, record, cancellationToken).ConfigureAwait(false);
            if (info is not null) return info;
            result = lost!;
        }

        if (!record.Matches(result))
        {
            try
            {
                await _store.UpdateAsync(id, LocalJobRecord.ForResult(result), cancellationToken).ConfigureAwait(false);
            }
            catch (CcatException e) when (e.ErrorId == CcatErrorId.StoreUnavailable)
            {
                // result.json stays the truth; the next read heals the record.
            }
        }

        return FromResult(id, spec, record, result);
    }

    /// <summary>result.json is in the folder now: the record's mark that it was not goes, so later reads answer from the record alone.</summary>
    private async Task ForgetMissingResultFileAsync(string id, LocalJobRecord record, CancellationToken cancellationToken)
    {
        if (record.Get(LocalJobRecord.ResultFile) is null) return;
        try
        {
            await _store.UpdateAsync(id, new Dictionary<string, string> { [LocalJobRecord.ResultFile] = "" }, cancellationToken).ConfigureAwait(false);
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.StoreUnavailable)
        {
            // the mark stays: the next read looks at the folder again, and finds result.json
        }
    }

    /// <summary>Running or pending (info set), or the lost verdict (result set).</summary>
    private async Task<(HPCJobInfo? Info, LocalJobResult? Lost)> ObserveAsync(
        string id, LocalJobDirectory dir, LocalJobSpec? spec, LocalJobRecord record, CancellationToken cancellationToken)
    {
        var name = spec?.Name ?? record.Get(LocalJobRecord.Name);
        var submitted = spec?.SubmittedAt ?? record.Time(LocalJobRecord.SubmittedAt);
        var now = DateTimeOffset.UtcNow;
        var runner = dir.TryReadRunner();
        var lockState = runner is null || runner.IsOnThisMachine() ? dir.ProbeLock() : RunnerLockState.Unknown;
        if (runner is not null)
        {
            if (runner.IsOnThisMachine())
            {
                // The lock is the proof: held, the runner lives (never "lost" while it does);
                // free, it is dead. Without a lock file (an older runner) or one we may not
                // open, the recorded pid and start time decide, which anyone could have written:
                // enough to report, never to signal.
                var alive = lockState == RunnerLockState.Held
                    || (lockState is RunnerLockState.Absent or RunnerLockState.Unknown && ProcFs.IsAlive(runner.RunnerPid, runner.RunnerStartTicks));
                if (alive)
                {
                    return (Running(id, name, submitted, runner, null), null);
                }

                return (null, await DeclareLostAsync(dir, record, runner, durable: lockState != RunnerLockState.Unknown, endLeftovers: lockState == RunnerLockState.Free,
                    lockState == RunnerLockState.Free
                        ? $"The runner (pid {runner.RunnerPid} on {runner.Host}) ended without recording a result: its lock on {LocalJobDirectory.LockFile} is free."
                        : $"The runner (pid {runner.RunnerPid} on {runner.Host}) ended without recording a result: no live process has its pid and start time.",
                    cancellationToken).ConfigureAwait(false));
            }

            var seen = dir.LastSignOfLife();
            if (seen is { } t && now - t < _options.HeartbeatStale)
            {
                return (Running(id, name, submitted, runner, $"Running on {runner.Host}; runner heartbeat {(now - t).TotalSeconds:0} s ago."), null);
            }

            return (null, await DeclareLostAsync(dir, record, runner, durable: false, endLeftovers: false,
                $"No sign of life from the runner (pid {runner.RunnerPid} on {runner.Host}) since {seen?.ToString("u", CultureInfo.InvariantCulture) ?? "it started"}.",
                cancellationToken).ConfigureAwait(false));
        }

        if (submitted is null || now - submitted.Value < _options.LaunchGrace || lockState == RunnerLockState.Held)
        {
            var waiting = lockState == RunnerLockState.Held && LocalArrayFiles.IsWaitingForParents(dir);
            return (new HPCJobInfo(id, HPCBackendKind.Local, HPCJobStatus.Pending, name,
                reason: waiting ? HPCJobReason.WaitingForDependency : HPCJobReason.None,
                nativeState: "PENDING", submittedAt: submitted,
                message: dir.CancelRequested ? "Cancel requested." : waiting ? "Waiting for the jobs it depends on." : null), null);
        }

        var sameMachine = spec is not null && spec.SubmitBootId == ProcFs.BootId && spec.SubmitPidNamespace == ProcFs.PidNamespace;
        return (null, await DeclareLostAsync(dir, record, null, sameMachine && lockState != RunnerLockState.Unknown, endLeftovers: false,
            $"No runner reported for this job within {_options.LaunchGrace.TotalSeconds:0} s of its submission.", cancellationToken).ConfigureAwait(false));
    }

    private async Task<LocalJobResult> DeclareLostAsync(LocalJobDirectory dir, LocalJobRecord record, LocalRunnerState? runner,
        bool durable, bool endLeftovers, string message, CancellationToken cancellationToken)
    {
        // The runner may have written its result and ended between the first look and now.
        if (dir.TryReadResult() is { } late) return late;

        CcatLog.Verbose($"Local job {System.IO.Path.GetFileName(dir.Path)} judged lost: {message}");
        var lost = LocalJobRecord.ReasonText(HPCJobReason.Lost);
        if (!durable)
        {
            var verdict = Verdict(runner, message);
            // Kept only in the store: the first verdict recorded there stays, so the job does not
            // get a new end time (and the store a new write) at every look.
            return record.Get(LocalJobRecord.Reason) == lost && record.Time(LocalJobRecord.FinishedAt) is { } at
                ? verdict with { FinishedAt = at, Message = record.Get(LocalJobRecord.Message) ?? message }
                : verdict;
        }

        if (endLeftovers)
        {
            // Nobody watches the job any more and nothing will record how it ends: end it, so
            // that "failed" is true. Only on proof no other user can forge: the runner's lock was
            // free, and each process carries the job's mark and runs as the folder's owner.
            var report = await JobSessionKiller.EndAsync(dir, _options.CancelGrace, cancellationToken).ConfigureAwait(false);
            JobCgroup.TryRemove(Path.GetFileName(dir.Path));
            message += " " + report.Describe();
        }

        var final = Verdict(runner, message);
        return TryWriteResult(dir, final) ? final : dir.TryReadResult() ?? final;
    }

    private static LocalJobResult Verdict(LocalRunnerState? runner, string message) => new()
    {
        Reason = LocalJobRecord.ReasonText(HPCJobReason.Lost),
        StartedAt = runner?.StartedAt,
        FinishedAt = DateTimeOffset.UtcNow,
        Message = message,
        RecordedBy = "reader",
        Host = Environment.MachineName,
    };

    /// <summary>result.json, create-only; false when it cannot be written (or another was first).</summary>
    private static bool TryWriteResult(LocalJobDirectory dir, LocalJobResult result)
    {
        try
        {
            return dir.TryWriteResult(result);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // a read-only folder or another user's: the verdict is reported, not written
        }
    }

    private static HPCJobInfo Running(string id, string? name, DateTimeOffset? submitted, LocalRunnerState runner, string? message) =>
        new(id, HPCBackendKind.Local, HPCJobStatus.Running, name,
            wallTimeSeconds: Math.Max(0, (DateTimeOffset.UtcNow - runner.StartedAt).TotalSeconds),
            nativeState: "RUNNING", submittedAt: submitted, startedAt: runner.StartedAt, message: message);

    /// <summary>The info of a finished job.</summary>
    public static HPCJobInfo FromResult(string id, LocalJobSpec? spec, LocalJobRecord record, LocalJobResult r) =>
        new(id, HPCBackendKind.Local, r.Status,
            jobName: spec?.Name ?? record.Get(LocalJobRecord.Name),
            exitCode: r.ExitCode,
            wallTimeSeconds: r.WallSeconds,
            cpuHours: r.CpuSeconds / 3600.0,
            peakMemoryGb: r.PeakRssBytes / (1024.0 * 1024 * 1024),
            reason: r.ReasonValue,
            nativeState: NativeState(r),
            submittedAt: spec?.SubmittedAt ?? record.Time(LocalJobRecord.SubmittedAt),
            startedAt: r.StartedAt,
            finishedAt: r.FinishedAt,
            message: r.Message);

    /// <summary>The state word of a finished job: EXITED 3, SIGNALED 9, CANCELLED, TIMEOUT, OUT_OF_MEMORY, LOST, LAUNCH_FAILED.</summary>
    public static string NativeState(LocalJobResult r) => r.ReasonValue switch
    {
        HPCJobReason.Cancelled => "CANCELLED",
        HPCJobReason.Timeout => "TIMEOUT",
        HPCJobReason.OutOfMemory => "OUT_OF_MEMORY",
        HPCJobReason.Lost => "LOST",
        HPCJobReason.LaunchFailure => "LAUNCH_FAILED",
        _ when r.Signal is { } s => $"SIGNALED {s}",
        _ when r.ExitCode is { } c => $"EXITED {c}",
        _ => "UNKNOWN",
    };

    /// <summary>The store's record as it stands, when the job directory cannot be seen.</summary>
    private static HPCJobInfo FromRecordOnly(string id, LocalJobRecord rec, string message)
    {
        static double? D(string? s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
        static int? I(string? s) => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
        var status = rec.StatusValue ?? HPCJobStatus.Pending;
        return new HPCJobInfo(id, HPCBackendKind.Local, status, rec.Get(LocalJobRecord.Name),
            exitCode: I(rec.Get(LocalJobRecord.ExitCode)),
            wallTimeSeconds: D(rec.Get(LocalJobRecord.WallSeconds)),
            cpuHours: D(rec.Get(LocalJobRecord.CpuSeconds)) / 3600.0,
            peakMemoryGb: D(rec.Get(LocalJobRecord.PeakRssBytes)) / (1024.0 * 1024 * 1024),
            reason: LocalJobRecord.ParseReason(rec.Get(LocalJobRecord.Reason)),
            nativeState: status.ToString().ToUpperInvariant(),
            submittedAt: rec.Time(LocalJobRecord.SubmittedAt),
            startedAt: rec.Time(LocalJobRecord.StartedAt),
            finishedAt: rec.Time(LocalJobRecord.FinishedAt),
            message: message);
    }
}
