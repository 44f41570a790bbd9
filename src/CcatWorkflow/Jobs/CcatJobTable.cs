using System.Collections.Concurrent;
using System.Diagnostics;
using CcatWorkflow.Commands.Completion;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands.Jobs;

/// <summary>
/// The process's PowerShell jobs for HPC jobs, one <see cref="CcatJob"/> per HPC job (by its
/// InstanceId), so a job keeps its session Id and its output across Get-Job calls. Also finds
/// this module's recent HPC jobs for Get-Job in a session that did not submit them: the newest
/// <see cref="ListCount"/> of the configured backend (HPC_BACKEND) and of every backend a job of
/// this process is on, with one listing and one status batch per backend, reused for a few seconds.
/// </summary>
internal static class CcatJobTable
{
    /// <summary>How many of a backend's newest jobs Get-Job lists (Get-CcatJob lists them all).</summary>
    public const int ListCount = 20;

    /// <summary>How long finding a backend's jobs may take before Get-Job answers without them.</summary>
    public static TimeSpan ListDeadline { get; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a backend's listing is reused: Get-Job twice in a row asks once.</summary>
    public static TimeSpan ListLifetime { get; } = TimeSpan.FromSeconds(5);

    private static readonly ConcurrentDictionary<Guid, CcatJob> Jobs = new();

    // When each backend (by settings) was last listed.
    private static readonly ConcurrentDictionary<string, long> Listed = new(StringComparer.Ordinal);

    // Jobs Remove-Job removed: a later listing does not bring them back in this process.
    private static readonly ConcurrentDictionary<Guid, byte> Removed = new();

    /// <summary>
    /// The job that follows <paramref name="info"/>: the one this process already has, or a new
    /// one, started (a finished HPC job is finished at once: its log read, its output written).
    /// </summary>
    /// <param name="info">The HPC job as just submitted or read.</param>
    /// <param name="engine">Its backend.</param>
    /// <param name="settings">The settings of the call (the polling policy).</param>
    /// <param name="command">The job's command, when known.</param>
    /// <param name="maxPauseSeconds">-PollInterval, when given; else POLL_INTERVAL_SECONDS.</param>
    /// <param name="cancellationToken">Ends a log read of a finished job.</param>
    public static async Task<CcatJob> FollowAsync(HPCJobInfo info, HPCBackend engine, CcatSettings settings, string? command,
        double? maxPauseSeconds, CancellationToken cancellationToken)
    {
        var id = CcatJob.InstanceIdOf(info.Backend, info.JobId);
        Removed.TryRemove(id, out _);
        return await GetOrStartAsync(id, info, engine, settings, command, maxPauseSeconds, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<CcatJob> GetOrStartAsync(Guid id, HPCJobInfo info, HPCBackend engine, CcatSettings settings, string? command,
        double? maxPauseSeconds, CancellationToken cancellationToken)
    {
        if (Jobs.TryGetValue(id, out var existing)) return existing;
        var job = new CcatJob(info, engine, command)
        {
            MaxPauseSeconds = maxPauseSeconds ?? settings.GetFloat("POLL_INTERVAL_SECONDS"),
            SlurmFloorSeconds = info.Backend == HPCBackendKind.Slurm ? settings.GetFloat("SLURM_MIN_POLL_SECONDS") : 0,
        };
        var kept = Jobs.GetOrAdd(id, job);
        if (!ReferenceEquals(kept, job))
        {
            job.Dispose();
            return kept;
        }

        await job.StartFollowingAsync(cancellationToken).ConfigureAwait(false);
        return job;
    }

    /// <summary>This process submitted a job: the next Get-Job lists the backends again, so it shows.</summary>
    public static void Invalidate() => Listed.Clear();

    /// <summary>The job with this InstanceId, if this process has it.</summary>
    public static CcatJob? Find(Guid instanceId) =>
        Jobs.TryGetValue(instanceId, out var job) && !Removed.ContainsKey(instanceId) ? job : null;

    /// <summary>The job with this session Id, if this process has it.</summary>
    public static CcatJob? Find(int sessionId) => Current().FirstOrDefault(j => j.Id == sessionId);

    /// <summary>Every job of this process, newest first (nothing is asked).</summary>
    public static List<CcatJob> Current() =>
        Jobs.Values.Where(j => !Removed.ContainsKey(j.InstanceId))
            .OrderByDescending(j => j.HPCJob.SubmittedAt ?? DateTimeOffset.MinValue)
            .ThenByDescending(j => j.Id)
            .ToList();

    /// <summary>Forgets a job (Remove-Job): the HPC job itself is left alone.</summary>
    public static void Remove(CcatJob job)
    {
        Removed[job.InstanceId] = 0;
        Jobs.TryRemove(job.InstanceId, out _);
    }

    /// <summary>
    /// Every job of this process after finding the recent jobs of the configured backends (see
    /// the class); a backend that cannot be asked in time adds nothing and says nothing: Get-Job
    /// serves every kind of job, and one slow scheduler must not break it.
    /// </summary>
    public static List<CcatJob> List()
    {
        var settings = CompletionContext.Settings();
        if (settings is not null)
        {
            var kinds = new HashSet<HPCBackendKind>(Jobs.Values.Select(j => j.Backend));
            try
            {
                kinds.Add(settings.Backend);
            }
            catch (CcatException)
            {
                // HPC_BACKEND names no backend: only this process's jobs.
            }

            var fingerprint = settings.Fingerprint(SettingsSchema.All.Select(d => d.Name).ToList());
            foreach (var kind in kinds)
            {
                var key = $"{kind}\n{fingerprint}";
                if (Listed.TryGetValue(key, out var at) && Stopwatch.GetElapsedTime(at) < ListLifetime) continue;
                Discover(kind, settings);
                Listed[key] = Stopwatch.GetTimestamp();
            }
        }

        return Current();
    }

    private static void Discover(HPCBackendKind kind, CcatSettings settings)
    {
        try
        {
            var engine = BackendRegistry.Get(kind, settings);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(CcatJobMonitor.ShutdownToken);
            deadline.CancelAfter(ListDeadline);
            var task = Task.Run(() => DiscoverAsync(engine, settings, deadline.Token));
            task.Wait(ListDeadline + TimeSpan.FromSeconds(1));
        }
        catch (Exception e) when (e is CcatException or AggregateException or OperationCanceledException)
        {
            // Not answered in time, or not at all: this listing adds nothing.
        }
    }

    private static async Task DiscoverAsync(HPCBackend engine, CcatSettings settings, CancellationToken cancellationToken)
    {
        var recent = await engine.PeekJobsAsync(ListCount, cancellationToken).ConfigureAwait(false);
        // A listing's status may be stale: the jobs this process does not have yet are read once, in one batch.
        var fresh = recent.Where(i => !Jobs.ContainsKey(CcatJob.InstanceIdOf(i.Backend, i.JobId))).Select(i => i.JobId).ToList();
        var read = fresh.Count == 0 ? [] : await engine.QueryJobsAsync(fresh, cancellationToken).ConfigureAwait(false);
        var infos = read.Select(r => r.Info).OfType<HPCJobInfo>().ToList();
        await Task.WhenAll(infos
            .Where(i => !Removed.ContainsKey(CcatJob.InstanceIdOf(i.Backend, i.JobId)))
            .Select(i => GetOrStartAsync(CcatJob.InstanceIdOf(i.Backend, i.JobId), i, engine, settings, i.Command, null, cancellationToken))).ConfigureAwait(false);
    }
}
