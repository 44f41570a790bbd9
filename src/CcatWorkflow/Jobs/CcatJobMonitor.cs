using System.Diagnostics;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Polling;

namespace CcatWorkflow.Commands.Jobs;

/// <summary>
/// Watches every unfinished <see cref="CcatJob"/> of the process with one loop on the thread
/// pool (no thread per job): each round asks each backend about all its watched jobs in one
/// batch call, following the module's polling policy (<see cref="PollSchedule"/>, as
/// Wait-CcatJob: fast at first, then POLL_INTERVAL_SECONDS; Slurm's floor and growth). The loop
/// ends when nothing is left to watch and starts again with the next job.
/// </summary>
internal static class CcatJobMonitor
{
    // One status batch never outlasts this: a hanging squeue or API server cannot stall the loop.
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(60);

    private static readonly object Gate = new();
    private static readonly List<CcatJob> Watched = [];
    private static readonly SemaphoreSlim Wake = new(0);
    private static CancellationTokenSource _shutdown = new();
    private static Task? _loop;

    /// <summary>Cancelled when the module is removed: the loop ends and the jobs' calls stop.</summary>
    public static CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>Adds a job to the next round.</summary>
    public static void Watch(CcatJob job)
    {
        lock (Gate)
        {
            if (!Watched.Contains(job)) Watched.Add(job);
            if (_loop is null)
            {
                var token = _shutdown.Token;
                _loop = Task.Run(() => RunAsync(token));
            }
        }

        Wake.Release();
    }

    /// <summary>Stops the loop (module removal); jobs not finished keep their state.</summary>
    public static void Shutdown()
    {
        Task? loop;
        lock (Gate)
        {
            _shutdown.Cancel();
            loop = _loop;
            Watched.Clear();
        }

        try
        {
            loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation: nothing to report on removal.
        }

        lock (Gate)
        {
            _shutdown.Dispose();
            _shutdown = new CancellationTokenSource();
            _loop = null;
        }
    }

    private static async Task RunAsync(CancellationToken cancellationToken)
    {
        // Each backend keeps its own schedule: a Slurm group slows down without slowing a Local one.
        var schedules = new Dictionary<HPCBackend, (PollSchedule Schedule, long Due)>();
        while (!cancellationToken.IsCancellationRequested)
        {
            List<IGrouping<HPCBackend, CcatJob>> groups;
            lock (Gate)
            {
                Watched.RemoveAll(j => j.IsDone);
                if (Watched.Count == 0)
                {
                    _loop = null;
                    return;
                }

                groups = Watched.GroupBy(j => j.Engine).ToList();
            }

            var next = TimeSpan.MaxValue;
            foreach (var group in groups)
            {
                if (!schedules.TryGetValue(group.Key, out var s))
                {
                    var first = group.First();
                    s = (new PollSchedule(first.MaxPauseSeconds, first.SlurmFloorSeconds), 0);
                }

                var now = Stopwatch.GetTimestamp();
                if (s.Due > now)
                {
                    next = Min(next, Stopwatch.GetElapsedTime(now, s.Due));
                    continue;
                }

                try
                {
                    await PollAsync(group.Key, group.ToList(), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A bug must not end the loop for every other job: these jobs fail with it.
                    var error = new CcatException(CcatErrorId.InternalError, $"Following jobs on {group.Key.Kind} failed: {e.Message}", null, e);
                    foreach (var j in group) j.FailWith(error);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                var waited = DateTime.UtcNow - group.Min(j => j.WatchedSince);
                var pause = TimeSpan.FromSeconds(s.Schedule.NextPause(group.Key.Kind == HPCBackendKind.Slurm, waited));
                schedules[group.Key] = (s.Schedule, Stopwatch.GetTimestamp() + (long)(pause.TotalSeconds * Stopwatch.Frequency));
                next = Min(next, pause);
            }

            foreach (var gone in schedules.Keys.Except(groups.Select(g => g.Key)).ToList()) schedules.Remove(gone);

            try
            {
                // A new job wakes the loop early, so it is asked about at once.
                await Wake.WaitAsync(next == TimeSpan.MaxValue ? TimeSpan.Zero : next, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    // One batch call for the group; each job is told what the backend said about it.
    private static async Task PollAsync(HPCBackend backend, List<CcatJob> jobs, CancellationToken cancellationToken)
    {
        var live = jobs.Where(j => !j.IsDone).ToList();
        if (live.Count == 0) return;
        IReadOnlyList<JobQueryResult> results;
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            limit.CancelAfter(CallLimit);
            try
            {
                results = await backend.QueryJobsAsync(live.Select(j => j.JobId).ToList(), limit.Token).ConfigureAwait(false);
            }
            catch (CcatException e) when (e.IsUnavailable)
            {
                foreach (var j in live) j.NoteUnavailable(e);
                return;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var e = new CcatException(CcatErrorId.SchedulerUnavailable, $"The {backend.Kind} backend did not answer within {CallLimit.TotalSeconds:0} s.");
                foreach (var j in live) j.NoteUnavailable(e);
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Not a per-job answer and not an outage the engine recognised: the jobs cannot be followed.
                var error = e as CcatException ?? new CcatException(CcatErrorId.InternalError, $"Unexpected {e.GetType().Name} while asking the {backend.Kind} backend: {e.Message}", null, e);
                foreach (var j in live) j.FailWith(error);
                return;
            }
        }

        var byId = results.ToDictionary(r => r.JobId, StringComparer.Ordinal);
        var finishing = new List<Task>();
        foreach (var job in live)
        {
            if (!byId.TryGetValue(job.JobId, out var r)) continue;
            if (r.Info is { } info) finishing.Add(job.ObserveAsync(info, cancellationToken));
            else if (r.Error is { IsUnavailable: true } down) job.NoteUnavailable(down);
            else if (r.Error is { } error) job.FailWith(error);
        }

        // Finished jobs read their logs together, not one after another.
        await Task.WhenAll(finishing).ConfigureAwait(false);
    }
}
