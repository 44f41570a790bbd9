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

    /// <summary>
    /// At most <paramref name="max"/> of the jobs this module submitted, newest first, read as
    /// cheaply as the backend allows and strictly read-only: nothing is recorded, captured,
    /// pruned or declared lost. Status and metrics are the last ones the backend or its store
    /// holds and may be stale. What tab completion lists; the default lists nothing.
    /// </summary>
    public virtual Task<IReadOnlyList<HPCJobInfo>> PeekJobsAsync(int max, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<HPCJobInfo>>([]);

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
