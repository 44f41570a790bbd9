using System.Diagnostics;
using System.Management.Automation;
using CcatWorkflow.Core.Polling;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Waits until jobs finish and returns their final status.</para>
/// <para type="description">Polls the backends with one batch call per backend per round, starting fast and slowing to POLL_INTERVAL_SECONDS, and writes each job to the pipeline as soon as it is completed or failed. Shows a progress bar. With -Timeout, jobs still unfinished when it passes get a WaitTimeout error each. A scheduler that cannot be asked for a while is reported as a warning and asked again; it never makes a job look failed.</para>
/// </summary>
/// <example>
/// <code>$jobs = 1..100 | ForEach-Object { Submit-CcatJob -ExecutionCommand "reduce --scan $_" -JobName "scan-$_" }
/// $done = $jobs | Wait-CcatJob -Timeout 3600</code>
/// <para>Waits for a hundred jobs with one batch status call per poll; each is written out as it finishes.</para>
/// </example>
/// <example>
/// <code>$jobs | Wait-CcatJob -AsJob | Wait-Job -Any | Receive-Job</code>
/// <para>Follows the jobs as PowerShell jobs and receives the first one to end: its log lines, then its final HPCJobInfo.</para>
/// </example>
/// <example>
/// <code>Wait-CcatJob -JobId 123456 -Backend Slurm -Timeout 60 -ErrorAction Stop</code>
/// <para>Waits at most a minute; a WaitTimeout error stops the script if the job is still running.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Wait, "CcatJob", DefaultParameterSetName = ByIdSet, HelpUri = HelpLinks.Online)]
[OutputType(typeof(HPCJobInfo))]
[OutputType(typeof(Jobs.CcatJob))]
public sealed class WaitCcatJobCommand : JobCmdlet
{
    private const int ProgressId = 1;
    private const string Activity = "Waiting for CcatWorkflow jobs";

    /// <summary>Seconds to wait at most; -1 (the default) waits for ever.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>The longest pause between two polls, in seconds; default POLL_INTERVAL_SECONDS.</summary>
    [Parameter]
    [ValidateRange(0.05, 3600)]
    public double PollInterval { get; set; }

    /// <summary>Return at once a PowerShell job (CcatJob) for each job instead of waiting: Wait-Job, Receive-Job -Wait and Stop-Job then work on them. Cannot be used with -Timeout (use Wait-Job -Timeout).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var total = Targets.Count;
        if (total == 0) return;
        if (AsJob)
        {
            StartJobs();
            return;
        }

        var maxPause = PollInterval > 0 ? PollInterval : Settings.GetFloat("POLL_INTERVAL_SECONDS");
        // Slurm sites ask for a few scheduler calls a minute: SLURM_MIN_POLL_SECONDS is a floor no
        // parameter undercuts, and the pause may grow with the wait (PollSchedule).
        var slurmFloor = Targets.Any(t => t.Backend == HPCBackendKind.Slurm) ? Settings.GetFloat("SLURM_MIN_POLL_SECONDS") : 0;
        var schedule = new PollSchedule(maxPause, slurmFloor,
            Targets.All(t => t.Backend == HPCBackendKind.Local) ? PollSchedule.LocalFirstPauseSeconds : PollSchedule.FirstPauseSeconds);
        var pending = Targets.ToList();
        var latest = new Dictionary<JobTarget, HPCJobInfo>();
        var clock = Stopwatch.StartNew();
        // Every status call is bounded by the time left, so a hanging squeue (or Redis, or API
        // server) cannot hold the wait past -Timeout.
        DateTime? deadline = Timeout >= 0 ? DateTime.UtcNow.AddSeconds(Timeout) : null;
        var firstRound = true;
        string? lastOutage = null;

        while (true)
        {
            // The first round always gets a second, so -Timeout 0 still reports each job once.
            var floor = DateTime.UtcNow.AddSeconds(1);
            var outcome = QueryStatuses(pending, firstRound && deadline < floor ? floor : deadline);
            firstRound = false;
            foreach (var t in pending.ToList())
            {
                var (info, error) = outcome[t];
                if (info is not null)
                {
                    latest[t] = info;
                    if (info.IsFinished)
                    {
                        // An array's id: finished when every element is, and each element is written.
                        if (ArrayElements.TryGetValue(t, out var elements)) WriteObject(elements, enumerateCollection: true);
                        else WriteObject(info);
                        pending.Remove(t);
                    }
                }
                else if (error!.ErrorId == CcatErrorId.WaitTimeout)
                {
                    // The deadline passed while the backend was asked: reported below, with the last status seen.
                }
                else if (error.IsUnavailable)
                {
                    if (lastOutage != error.Message)
                    {
                        WriteWarning($"{error.Message} Asking again.");
                        lastOutage = error.Message;
                    }
                }
                else
                {
                    WriteCcatError(error, t.Target);
                    pending.Remove(t);
                }
            }

            if (pending.Count == 0) break;

            var running = pending.Count(t => latest.TryGetValue(t, out var i) && i.Status == HPCJobStatus.Running);
            // A new record each time: hosts and runspaces keep the records they are given.
            WriteProgress(new ProgressRecord(ProgressId, Activity,
                $"{total - pending.Count} of {total} finished, {running} running, {pending.Count - running} pending; waited {Elapsed(clock.Elapsed)}")
            {
                PercentComplete = (int)(100.0 * (total - pending.Count) / total),
            });

            if (deadline is { } d && DateTime.UtcNow >= d)
            {
                WriteVerbose($"Timed out: {Timeout} s passed ({clock.Elapsed.TotalSeconds:0.0} s waited) with {pending.Count} job{(pending.Count == 1 ? "" : "s")} unfinished.");
                foreach (var t in pending)
                {
                    var last = latest.GetValueOrDefault(t);
                    WriteCcatError(
                        new CcatException(CcatErrorId.WaitTimeout,
                            $"Job '{t.JobId}' on {t.Backend} did not finish within {Timeout} s (last seen {last?.Status.ToString().ToLowerInvariant() ?? "unknown"}).", t.JobId),
                        (object?)last ?? t.Target);
                }

                break;
            }

            var sleep = schedule.NextPause(pending.Any(t => t.Backend == HPCBackendKind.Slurm), clock.Elapsed);
            if (deadline is { } until)
            {
                sleep = Math.Max(0.01, Math.Min(sleep, (until - DateTime.UtcNow).TotalSeconds));
            }

            WriteDebug($"{pending.Count} unfinished; next poll in {sleep:0.00} s.");
            Sleep(TimeSpan.FromSeconds(sleep));
        }

        WriteProgress(new ProgressRecord(ProgressId, Activity, $"done; waited {Elapsed(clock.Elapsed)}") { RecordType = ProgressRecordType.Completed });
    }

    // -AsJob: each job is read once (one batch per backend) and handed to a CcatJob that follows
    // it; an array's id means each of its elements.
    private void StartJobs()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)))
        {
            ThrowTerminatingError(Errors.ErrorRecordFactory.From(new CcatException(CcatErrorId.InvalidParameterCombination,
                "-Timeout cannot be used with -AsJob: use Wait-Job -Timeout on the jobs it returns."), null));
        }

        var outcome = QueryStatuses(Targets);
        double? maxPause = PollInterval > 0 ? PollInterval : null;
        foreach (var t in Targets)
        {
            var (info, error) = outcome[t];
            if (info is null)
            {
                WriteCcatError(error!, t.Target);
                continue;
            }

            var backend = GetBackend(t.Backend);
            foreach (var each in ArrayElements.TryGetValue(t, out var elements) ? elements : [info])
            {
                WriteObject(RunSync(ct => Jobs.CcatJobTable.FollowAsync(each, backend, Settings, each.Command, maxPause, ct)));
            }
        }
    }

    /// <summary>Elapsed time as the progress bar shows it: 42s, 3m05s, 2h07m.</summary>
    internal static string Elapsed(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:00}s"
        : $"{(int)t.TotalSeconds}s";
}
