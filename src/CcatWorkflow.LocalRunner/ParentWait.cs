using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.LocalRunner;

/// <summary>
/// How a runner waits for the jobs its job depends on: it asks for the parents' status — one
/// batch read of the store plus their folders, the same rule every reader applies (a dead
/// parent runner is found lost, an array's id means all its elements) — every
/// <see cref="PollInterval"/>, while it checks for a cancel every 200 ms without touching the
/// store. Parents that had already ended when it began are decided at the first look.
/// </summary>
internal static class ParentWait
{
    /// <summary>How often a waiting runner reads its parents' status (one store batch each time).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Waits until the condition is met (returns null: start the job), can never be met (returns
    /// the DependencyNeverSatisfied result to record), or <paramref name="cancelled"/> says
    /// stop (returns the Cancelled result). A store that cannot be asked is waited out.
    /// </summary>
    public static LocalJobResult? Wait(JobDependency dependency, LocalStoreOptions storeOptions, Func<bool> cancelled, Action<string> log)
    {
        var backend = new LocalBackend(new LocalBackendOptions { Store = storeOptions }, storeOptions.CreateStore());
        try
        {
            var next = DateTime.UtcNow;
            while (true)
            {
                if (cancelled())
                {
                    return Ended(HPCJobReason.Cancelled, $"Cancelled at {DateTimeOffset.UtcNow:u}, while it waited for the jobs it depends on; it never ran.");
                }

                if (DateTime.UtcNow >= next)
                {
                    next = DateTime.UtcNow + PollInterval;
                    if (Look(backend, dependency, log) is { } verdict) return verdict.Result;
                }

                Thread.Sleep(200);
            }
        }
        finally
        {
            backend.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    // Null: still waiting; else the verdict (Result null: start the job).
    private static (LocalJobResult? Result, bool Done)? Look(LocalBackend backend, JobDependency dependency, Action<string> log)
    {
        IReadOnlyList<Core.JobQueryResult> statuses;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            statuses = backend.QueryJobsAsync(dependency.ParentIds, deadline.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is CcatException or OperationCanceledException)
        {
            log($"cannot read the parents' status yet ({e.Message}); waiting");
            return null;
        }

        var parents = new List<HPCJobInfo>();
        foreach (var r in statuses)
        {
            if (r.Error is { } error)
            {
                if (error.ErrorId == CcatErrorId.JobNotFound)
                {
                    return (Ended(HPCJobReason.DependencyNeverSatisfied, $"Job '{r.JobId}' it depends on no longer exists; it never ran, and never will."), true);
                }

                log($"cannot read parent {r.JobId} yet ({error.Message}); waiting");
                return null;
            }

            var parent = r.Info!;
            if (parent.IsFinished && !dependency.IsMetBy(parent))
            {
                return (Ended(HPCJobReason.DependencyNeverSatisfied,
                    DependencyCheck.Describe(dependency, r.JobId, parent) + "; it never ran, and never will."), true);
            }

            parents.Add(parent);
        }

        switch (dependency.Evaluate(parents))
        {
            case DependencyVerdict.Met:
                log($"the jobs it depends on met {dependency.Condition}: starting");
                return (null, true);
            default:
                return null;
        }
    }

    private static LocalJobResult Ended(HPCJobReason reason, string message) => new()
    {
        Reason = LocalJobRecord.ReasonText(reason),
        FinishedAt = DateTimeOffset.UtcNow,
        Message = message,
        Host = Environment.MachineName,
    };
}
