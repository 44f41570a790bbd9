using System.ComponentModel;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Text;
using CcatWorkflow.Commands.Errors;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;

namespace CcatWorkflow.Commands.Jobs;

/// <summary>
/// A PowerShell job that follows one HPC job, as <c>Submit-CcatJob -AsJob</c>,
/// <c>Wait-CcatJob -AsJob</c> and <c>Get-Job</c> return it. Its state follows the HPC job
/// (Running while it is pending or running, then Completed, Failed, or Stopped when it was
/// cancelled); when the HPC job ends, its output is the job's log lines (strings, standard output
/// then standard error, as Get-CcatJobLog writes one job's log) followed by the final <see cref="HPCJobInfo"/>.
/// <c>Stop-Job</c> cancels the HPC job. Nothing is written to the host: the job's records go to
/// its own streams, for <c>Receive-Job</c>.
/// </summary>
/// <remarks>
/// No thread per job: one monitor (<see cref="CcatJobMonitor"/>) asks each backend about all its
/// watched jobs in one batch call per round, with the module's polling policy. The job's
/// InstanceId is derived from its backend and id, so it is the same in every session.
/// </remarks>
public sealed class CcatJob : Job2
{
    /// <summary>What Get-Job shows as PSJobTypeName.</summary>
    public const string JobTypeName = "CcatJob";

    // A single backend call the job makes (cancel, status, log) never outlasts this.
    private static readonly TimeSpan CallLimit = TimeSpan.FromMinutes(2);

    private readonly object _gate = new();
    private Task? _finishing;
    private volatile bool _stopRequested;
    private volatile string _statusMessage;

    internal CcatJob(HPCJobInfo info, HPCBackend engine, string? command)
        : base(command ?? info.Command ?? info.JobName ?? info.JobId, info.JobName ?? info.JobId, InstanceIdOf(info.Backend, info.JobId))
    {
        PSJobTypeName = JobTypeName;
        JobId = info.JobId;
        Backend = info.Backend;
        HPCJob = info;
        Engine = engine;
        _statusMessage = Describe(info);
        if (info.SubmittedAt is { } submitted) PSBeginTime = submitted.LocalDateTime;
    }

    /// <summary>The HPC job's backend-specific id; pipe the job to Get-CcatJobStatus and the other cmdlets by it.</summary>
    public string JobId { get; }

    /// <summary>The backend that runs the HPC job.</summary>
    public HPCBackendKind Backend { get; }

    /// <summary>The HPC job as last seen (the final one once the job ended).</summary>
    public HPCJobInfo HPCJob { get; private set; }

    /// <summary>The engine's backend this job is asked through (its settings are those of the call that made the job).</summary>
    internal HPCBackend Engine { get; }

    /// <summary>The longest pause between two polls (POLL_INTERVAL_SECONDS or -PollInterval of the call that made the job).</summary>
    internal double MaxPauseSeconds { get; init; } = 2;

    /// <summary>SLURM_MIN_POLL_SECONDS of the call that made the job.</summary>
    internal double SlurmFloorSeconds { get; init; }

    /// <summary>When the monitor started watching this job.</summary>
    internal DateTime WatchedSince { get; } = DateTime.UtcNow;

    /// <summary>True once the job is in a finished state, or about to be.</summary>
    internal bool IsDone => _finishing is not null || IsEnded(JobStateInfo.State);

    /// <inheritdoc />
    public override string Location => Backend.ToString();

    /// <inheritdoc />
    public override string StatusMessage => _statusMessage;

    /// <inheritdoc />
    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Debug.Count > 0 || Information.Count > 0;

    /// <summary>The InstanceId of the PowerShell job that follows <paramref name="jobId"/> on <paramref name="backend"/>: the same in every session.</summary>
    public static Guid InstanceIdOf(HPCBackendKind backend, string jobId)
    {
        // A name-based id (SHA-256, RFC 9562 version 8 layout): stable, and distinct per backend and job.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"CcatWorkflow/{backend}/{jobId}"));
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }

    /// <summary>
    /// Starts following the HPC job: a finished one is finished here (its log read, its output
    /// written); an unfinished one goes Running and is watched by the monitor.
    /// </summary>
    internal async Task StartFollowingAsync(CancellationToken cancellationToken)
    {
        if (HPCJob.IsFinished)
        {
            await FinishAsync(HPCJob, cancellationToken).ConfigureAwait(false);
            return;
        }

        SetJobState(JobState.Running);
        CcatJobMonitor.Watch(this);
    }

    /// <summary>The monitor saw the HPC job's status: finished ends this job, anything else is noted.</summary>
    internal Task ObserveAsync(HPCJobInfo info, CancellationToken cancellationToken)
    {
        if (info.IsFinished) return FinishAsync(info, cancellationToken);
        HPCJob = info;
        _statusMessage = Describe(info);
        return Task.CompletedTask;
    }

    /// <summary>The backend answered for this job with an error of its own (unknown, removed): the job fails with it.</summary>
    internal void FailWith(CcatException error)
    {
        lock (_gate)
        {
            if (_finishing is not null) return;
            _finishing = Task.CompletedTask;
        }

        _statusMessage = error.Message;
        Fail(ErrorRecordFactory.ToPublic(error));
    }

    /// <summary>The backend could not be asked: said once in the job's warning stream; the job keeps its state.</summary>
    internal void NoteUnavailable(CcatException error)
    {
        var text = $"{error.Message} Asking again.";
        if (_lastWarning == text) return;
        _lastWarning = text;
        Warning.Add(new WarningRecord(text));
    }

    private string? _lastWarning;

    /// <summary>
    /// Ends this job with the HPC job's final status: its log lines then the status go to the
    /// output, then the state changes (Completed, Failed, or Stopped for a cancelled job). Runs
    /// once; a second caller waits for the first.
    /// </summary>
    internal Task FinishAsync(HPCJobInfo info, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _finishing ??= FinishCoreAsync(info, cancellationToken);
        }
    }

    private async Task FinishCoreAsync(HPCJobInfo info, CancellationToken cancellationToken)
    {
        // Off the caller's stack: a caller holding the lock must not run the reads.
        await Task.Yield();
        HPCJob = info;
        _statusMessage = Describe(info);
        try
        {
            foreach (var line in await ReadLogAsync(cancellationToken).ConfigureAwait(false))
            {
                Output.Add(PSObject.AsPSObject(line));
            }
        }
        catch (CcatException e)
        {
            Warning.Add(new WarningRecord($"The log of job '{JobId}' could not be read: {e.Message}"));
        }
        catch (OperationCanceledException)
        {
            Warning.Add(new WarningRecord($"The log of job '{JobId}' was not read: the module was removed or the read took too long."));
        }

        Output.Add(PSObject.AsPSObject(info));
        if (info.FinishedAt is { } finished) PSEndTime = finished.LocalDateTime;
        if (info.Status == HPCJobStatus.Completed)
        {
            SetJobState(JobState.Completed);
        }
        else if (_stopRequested || info.Reason == HPCJobReason.Cancelled)
        {
            SetJobState(JobState.Stopped);
        }
        else if (info.IsFinished)
        {
            Fail(new CcatWorkflowException(
                $"Job '{JobId}' ({info.JobName}) on {Backend} {Describe(info)}.", nameof(CcatErrorId.JobFailed), JobId, false, null));
        }
        else
        {
            // Stop-Job: the cancel was accepted but the scheduler still reports the job; it is stopped for PowerShell.
            SetJobState(JobState.Stopped);
        }
    }

    // Standard output then standard error, as plain strings: what Get-CcatJobLog writes for one
    // job (and what prints cleanly before the final status in Receive-Job's output).
    private async Task<List<string>> ReadLogAsync(CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(CallLimit);
        var text = await Engine.ReadLogsAsync(JobId, LogQuery.All, limit.Token).ConfigureAwait(false);
        if (text.Length == 0) return [];
        if (text.EndsWith('\n')) text = text[..^1];
        return [.. text.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l)];
    }

    private static bool IsEnded(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Stopped;

    // Failed with a reason, which Receive-Job reports as an error. Job2.SetJobState(state, reason)
    // is in every PowerShell 7 but not in the PowerShellStandard reference this module compiles
    // against, so it is found once by reflection; without it the job still fails, with no reason.
    private static readonly System.Reflection.MethodInfo? SetStateWithReason = typeof(Job2).GetMethod("SetJobState",
        System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public,
        null, [typeof(JobState), typeof(Exception)], null);

    private void Fail(Exception reason)
    {
        if (SetStateWithReason is { } set) set.Invoke(this, [JobState.Failed, reason]);
        else SetJobState(JobState.Failed);
    }

    private static string Describe(HPCJobInfo info) => info.Status switch
    {
        HPCJobStatus.Failed when info.Reason == HPCJobReason.Cancelled => "was cancelled",
        HPCJobStatus.Failed when info.ExitCode is { } code => $"failed with exit code {code}" + (info.Reason == HPCJobReason.None ? "" : $" ({info.Reason})"),
        HPCJobStatus.Failed => $"failed ({info.Reason})",
        _ => info.Reason == HPCJobReason.None ? info.Status.ToString() : $"{info.Status} ({info.Reason})",
    };

    // ------------------------------------------------------------------ Stop-Job

    /// <summary>Cancels the HPC job (Stop-Job); the job then reads Stopped.</summary>
    public override void StopJob() => StopJob(false, null);

    /// <summary>Cancels the HPC job; <paramref name="force"/> and <paramref name="reason"/> change nothing.</summary>
    public override void StopJob(bool force, string? reason) =>
        Task.Run(() => StopCoreAsync(CcatJobMonitor.ShutdownToken)).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void StopJobAsync() => StopJobAsync(false, null);

    /// <inheritdoc />
    public override void StopJobAsync(bool force, string? reason) =>
        _ = Task.Run(async () =>
        {
            Exception? error = null;
            try
            {
                await StopCoreAsync(CcatJobMonitor.ShutdownToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                error = e;
            }

            OnStopJobCompleted(new AsyncCompletedEventArgs(error, false, null));
        });

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        if (IsEnded(JobStateInfo.State)) return;
        _stopRequested = true;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(CallLimit);
        try
        {
            await Engine.CancelAsync(JobId, limit.Token).ConfigureAwait(false);
            var info = await Engine.GetStatusAsync(JobId, limit.Token).ConfigureAwait(false);
            await FinishAsync(info, cancellationToken).ConfigureAwait(false);
        }
        catch (CcatException e)
        {
            _stopRequested = false;
            throw ErrorRecordFactory.ToPublic(e);
        }
    }

    // ------------------------------------------------------------------ not supported

    /// <summary>The HPC job started when it was submitted: nothing to do.</summary>
    public override void StartJob()
    {
    }

    /// <summary>The HPC job started when it was submitted: nothing to do.</summary>
    public override void StartJobAsync() => OnStartJobCompleted(new AsyncCompletedEventArgs(null, false, null));

    /// <summary>Not supported: an HPC job cannot be suspended from PowerShell.</summary>
    public override void SuspendJob() => throw NotSupported("suspended");

    /// <summary>Not supported: an HPC job cannot be suspended from PowerShell.</summary>
    public override void SuspendJobAsync() => throw NotSupported("suspended");

    /// <summary>Not supported: an HPC job cannot be suspended from PowerShell.</summary>
    public override void SuspendJob(bool force, string? reason) => throw NotSupported("suspended");

    /// <summary>Not supported: an HPC job cannot be suspended from PowerShell.</summary>
    public override void SuspendJobAsync(bool force, string? reason) => throw NotSupported("suspended");

    /// <summary>Not supported: an HPC job cannot be resumed from PowerShell.</summary>
    public override void ResumeJob() => throw NotSupported("resumed");

    /// <summary>Not supported: an HPC job cannot be resumed from PowerShell.</summary>
    public override void ResumeJobAsync() => throw NotSupported("resumed");

    /// <summary>An HPC job is never blocked: nothing to do.</summary>
    public override void UnblockJob()
    {
    }

    /// <summary>An HPC job is never blocked: nothing to do.</summary>
    public override void UnblockJobAsync() => OnUnblockJobCompleted(new AsyncCompletedEventArgs(null, false, null));

    private NotSupportedException NotSupported(string what) =>
        new($"Job '{JobId}' on {Backend} cannot be {what} from PowerShell; Stop-Job cancels it.");
}
