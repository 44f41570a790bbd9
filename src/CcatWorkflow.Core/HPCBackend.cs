using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core;

/// <summary>
/// The seed's backend interface: submit, get status, cancel, get logs — async and cancellable —
/// plus a batch form of get-status (many ids, few round trips) and a listing of the jobs the
/// module submitted. Implementations throw <see cref="CcatException"/> for everything they
/// report on purpose; "the scheduler could not be asked" is
/// <see cref="CcatErrorId.SchedulerUnavailable"/> (or <see cref="CcatErrorId.StoreUnavailable"/>),
/// never a failed job.
/// </summary>
public abstract class HPCBackend : IAsyncDisposable
{
    /// <summary>Which backend this is.</summary>
    public abstract HPCBackendKind Kind { get; }

    /// <summary>
    /// Submits a job and returns the backend-specific job id. Either the job exists afterwards
    /// and its id is returned, or an exception is thrown and nothing was submitted.
    /// </summary>
    public abstract Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken);

    /// <summary>
    /// What <see cref="SubmitAsync"/> would hand to the scheduler (the sbatch script, the Job
    /// manifest, the command line), without submitting: what <c>-WhatIf</c> shows.
    /// </summary>
    public abstract string DescribeSubmission(JobSubmission submission);

    /// <summary>Status and metrics of one job.</summary>
    public virtual async Task<HPCJobInfo> GetStatusAsync(string jobId, CancellationToken cancellationToken)
    {
        var results = await GetStatusesAsync([jobId], cancellationToken).ConfigureAwait(false);
        var r = results.Single();
        return r.Info ?? throw r.Error!;
    }

    /// <summary>
    /// Status of many jobs in a bounded number of round trips. Returns one result per distinct
    /// id, in the order given. A job the backend does not know gets a per-job
    /// <see cref="CcatErrorId.JobNotFound"/> error; a backend that cannot be asked throws.
    /// </summary>
    public abstract Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels a job. Cancelling a job that has already finished is not an error (nothing
    /// happens). An unknown job throws <see cref="CcatErrorId.JobNotFound"/>.
    /// </summary>
    public abstract Task CancelAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels many jobs; backends that can do it in one call override this. Returns one result
    /// per id (Info is null, Error set on failure).
    /// </summary>
    public virtual async Task<IReadOnlyList<JobQueryResult>> CancelManyAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var results = new List<JobQueryResult>();
        foreach (var id in jobIds.Distinct())
        {
            try
            {
                await CancelAsync(id, cancellationToken).ConfigureAwait(false);
                results.Add(new JobQueryResult(id, null, null));
            }
            catch (CcatException e) when (!e.IsUnavailable)
            {
                results.Add(new JobQueryResult(id, null, e));
            }
        }

        return results;
    }

    /// <summary>
    /// Removes jobs and everything the module keeps of them (records, job folders, log copies),
    /// in one batch per backend. The rule lives here, once: only a finished job is removed; an
    /// unfinished one is refused with <see cref="CcatErrorId.JobStillRunning"/>, unless
    /// <paramref name="cancelUnfinished"/>, which cancels it first. Backends remove only what
    /// carries the module's marks (<see cref="RemoveFinishedAsync"/>). Returns one result per
    /// distinct id (Info is the job as it was before removal; Error set on failure).
    /// </summary>
    public async Task<IReadOnlyList<JobQueryResult>> RemoveManyAsync(IReadOnlyList<string> jobIds, bool cancelUnfinished, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        var statuses = (await GetStatusesAsync(jobIds, cancellationToken).ConfigureAwait(false)).ToList();
        var unfinished = statuses.Where(s => s.Info is { IsFinished: false }).Select(s => s.JobId).ToList();
        if (cancelUnfinished && unfinished.Count > 0)
        {
            var cancels = (await CancelManyAsync(unfinished, cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.JobId, StringComparer.Ordinal);
            var again = (await GetStatusesAsync(unfinished, cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.JobId, StringComparer.Ordinal);
            for (var i = 0; i < statuses.Count; i++)
            {
                var id = statuses[i].JobId;
                if (cancels.TryGetValue(id, out var c) && c.Error is { } cancelError) statuses[i] = new JobQueryResult(id, null, cancelError);
                else if (again.TryGetValue(id, out var a)) statuses[i] = a;
            }
        }

        var results = new Dictionary<string, JobQueryResult>(StringComparer.Ordinal);
        var finished = new List<HPCJobInfo>();
        foreach (var s in statuses)
        {
            if (s.Info is not { } info) results[s.JobId] = s;
            else if (!info.IsFinished)
            {
                results[s.JobId] = new JobQueryResult(s.JobId, info, new CcatException(CcatErrorId.JobStillRunning,
                    $"Job '{s.JobId}' on {Kind} is {info.Status.ToString().ToLowerInvariant()}: it is not removed (Remove-CcatJob -Force cancels it first).", s.JobId));
            }
            else finished.Add(info);
        }

        if (finished.Count > 0)
        {
            var removed = await RemoveFinishedAsync(finished, cancellationToken).ConfigureAwait(false);
            foreach (var r in removed) results[r.JobId] = r;
        }

        return statuses.Select(s => results.TryGetValue(s.JobId, out var r)
            ? r
            : new JobQueryResult(s.JobId, null, new CcatException(CcatErrorId.RemoveFailed, $"The {Kind} backend returned nothing for job '{s.JobId}'.", s.JobId))).ToList();
    }

    /// <summary>
    /// Removes finished jobs' records and files: the primitive under <see cref="RemoveManyAsync"/>.
    /// Removes nothing that lacks the module's marks (<see cref="CcatErrorId.NotOwnedByModule"/>).
    /// Returns one result per job (Info: the job as it was; Error on failure).
    /// </summary>
    protected virtual Task<IReadOnlyList<JobQueryResult>> RemoveFinishedAsync(IReadOnlyList<HPCJobInfo> jobs, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JobQueryResult>>(jobs.Select(j => new JobQueryResult(j.JobId, j,
            new CcatException(CcatErrorId.RemoveFailed, $"The {Kind} backend cannot remove jobs.", j.JobId))).ToList());

    /// <summary>
    /// The jobs this module submitted, for a listing that looks back to
    /// <paramref name="submittedBefore"/> at least (Get-CcatJob -OlderThan). The default is
    /// <see cref="ListJobsAsync"/>; a backend whose listing looks back a
    /// limited time (Slurm's sacct window) adds the older jobs it can still find.
    /// </summary>
    public virtual Task<IReadOnlyList<HPCJobInfo>> ListJobsIncludingOlderAsync(DateTimeOffset submittedBefore, CancellationToken cancellationToken) =>
        ListJobsAsync(cancellationToken);

    /// <summary>The job's logs (stdout then stderr, or one of them), optionally only the last lines.</summary>
    public abstract Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the job's log as it is written, until the job ends or the token is cancelled.
    /// The default polls <see cref="GetLogsAsync"/> and the status.
    /// </summary>
    public virtual async IAsyncEnumerable<string> FollowLogsAsync(string jobId, LogQuery query,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var sent = 0;
        while (true)
        {
            var info = await GetStatusAsync(jobId, cancellationToken).ConfigureAwait(false);
            var text = await GetLogsAsync(jobId, query with { Tail = null }, cancellationToken).ConfigureAwait(false);
            if (sent == 0 && query.Tail is { } tail)
            {
                var tailed = LogText.TailLines(text, tail);
                sent = text.Length - tailed.Length;
            }

            if (text.Length > sent)
            {
                yield return text[sent..];
                sent = text.Length;
            }

            if (info.IsFinished)
            {
                yield break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The jobs this module submitted that the backend still knows, newest first.</summary>
    public abstract Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken);

    /// <summary>Releases clients and connections.</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The outcome for one id in a batch call: the job's info, or the error for that job.</summary>
/// <param name="JobId">The id asked about.</param>
/// <param name="Info">The job's info, when it could be read.</param>
/// <param name="Error">The per-job error (for example JobNotFound), when it could not.</param>
public sealed record JobQueryResult(string JobId, HPCJobInfo? Info, CcatException? Error);
