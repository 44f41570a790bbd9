using System.Runtime.CompilerServices;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Retries;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core;

/// <summary>
/// The seed's backend interface, in two layers.
/// <para><b>Callers</b> (the cmdlets, the Local runner's control commands) use the entry points:
/// <see cref="SubmitJobAsync"/>, <see cref="PreviewSubmission"/>, <see cref="QueryJobsAsync"/>,
/// <see cref="GetStatusAsync"/>, <see cref="CancelJobsAsync"/>, <see cref="CancelAsync"/>,
/// <see cref="ReadLogsAsync"/>, <see cref="StreamLogsAsync"/> and <see cref="ListAsync"/>. They hold
/// the rules every backend shares, once: ids are trimmed, repeats dropped and checked against the
/// backend's id form (<see cref="NormalizeJobId"/>) before the backend sees them; a submission is
/// validated before it reaches the backend; a batch answers every id given, in the order given
/// (an id the backend left out is <see cref="CcatErrorId.JobNotFound"/>); large batches are cut
/// into chunks of <see cref="MaxBatch"/>; and "could not be asked" is never a per-job outcome.</para>
/// <para><b>Backends</b> implement the primitives: <see cref="SubmitAsync"/>,
/// <see cref="DescribeSubmission"/>, <see cref="GetStatusesAsync"/>, <see cref="CancelManyAsync"/>,
/// <see cref="GetLogsAsync"/>, <see cref="FollowLogsAsync"/> (a polling default exists),
/// <see cref="ListJobsAsync"/>, and <see cref="NormalizeJobId"/>. A primitive receives only
/// valid, distinct, canonical ids and a validated submission.</para>
/// <para>The unavailable rule: when the backend or its store cannot be asked, a primitive throws
/// a <see cref="CcatException"/> whose <see cref="CcatException.IsUnavailable"/> is true (for
/// example <see cref="CcatErrorId.SchedulerUnavailable"/>) for the whole call; it never reports
/// that as a failed job. Anything about one job (unknown, invalid, could not be cancelled) is
/// that job's result. <see cref="PerJobAsync"/> applies the rule when a backend fans out.</para>
/// docs/CONTRIBUTING-backends.md is the checklist for adding a backend.
/// </summary>
public abstract partial class HPCBackend : IAsyncDisposable
{
    /// <summary>Which backend this is.</summary>
    public abstract HPCBackendKind Kind { get; }

    /// <summary>Most ids handed to one batch primitive call; larger batches are cut into chunks.</summary>
    protected virtual int MaxBatch => 500;

    // ================================================================== primitives

    /// <summary>
    /// Primitive: the canonical form of <paramref name="jobId"/> (already trimmed), or null when
    /// it is not an id of this backend. The default accepts any non-empty text.
    /// </summary>
    public virtual string? NormalizeJobId(string jobId) => string.IsNullOrEmpty(jobId) ? null : jobId;

    /// <summary>Primitive: what this backend's ids look like, for the InvalidJobId message.</summary>
    protected virtual string JobIdForm => $"a {Kind} job id";

    /// <summary>
    /// Primitive: submits a validated job and returns the backend-specific job id. Either the job
    /// exists afterwards and its id is returned, or an exception is thrown and nothing was
    /// submitted (or the message says exactly what is unknown).
    /// </summary>
    public abstract Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken);

    /// <summary>
    /// Submits a validated job, job array or dependent job and returns the id of every job it
    /// made: the one job's id, or one element id (<c>&lt;arrayId&gt;_&lt;index&gt;</c>) per index
    /// of the array. The rule, once for every backend: a dependency's parents are decided first
    /// (<see cref="OutstandingParentsAsync"/>), then one <see cref="SubmitAsync"/> makes the job
    /// or the whole array. Reached only when <see cref="EnsureSupported"/> let the submission
    /// through.
    /// </summary>
    public virtual async Task<IReadOnlyList<string>> SubmitElementsAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        if (submission.Dependency is { } dependency)
        {
            submission = submission with { Dependency = await OutstandingParentsAsync(dependency, cancellationToken).ConfigureAwait(false) };
        }

        var id = await SubmitAsync(submission, cancellationToken).ConfigureAwait(false);
        return submission.ArrayIndex is { } array
            ? array.Indices.Select(i => ArrayElementId.Format(id, i)).ToList()
            : [id];
    }

    /// <summary>
    /// Primitive: the parents of <paramref name="dependency"/> the backend must still wait for,
    /// in the form its own mechanism takes; null when every parent has already met the
    /// condition. Refuses an id that is not the backend's (<see cref="CcatErrorId.InvalidDependency"/>)
    /// and a finished parent that can never meet it (<see cref="CcatErrorId.DependencyNeverSatisfied"/>).
    /// The default passes the dependency on unchanged.
    /// </summary>
    protected virtual Task<JobDependency?> OutstandingParentsAsync(JobDependency dependency, CancellationToken cancellationToken) =>
        Task.FromResult<JobDependency?>(dependency);

    /// <summary>Primitive: true when this backend runs job arrays (<see cref="JobSubmission.ArrayIndex"/>).</summary>
    public virtual bool SupportsArrays => false;

    /// <summary>Primitive: true when this backend runs dependent jobs (<see cref="JobSubmission.Dependency"/>).</summary>
    public virtual bool SupportsDependencies => false;

    /// <summary>
    /// Primitive: the per-job scheduler options (<see cref="JobSchedulerOptions.Given"/> names:
    /// Partition, Account, Qos, SchedulerOption, Namespace) this backend uses. Others are refused.
    /// </summary>
    public virtual IReadOnlyCollection<string> SchedulerOptionNames => [];

    /// <summary>
    /// Primitive: values a per-job scheduler option can take (Slurm partitions, Kubernetes
    /// namespaces), for completion: read-only, within the caller's deadline; empty when the
    /// backend cannot tell.
    /// </summary>
    public virtual Task<IReadOnlyList<string>> PeekSchedulerOptionValuesAsync(string optionName, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>
    /// Primitive: what <see cref="SubmitAsync"/> would hand to the scheduler (the sbatch script,
    /// the Job manifest, the command line), without submitting: what <c>-WhatIf</c> shows.
    /// </summary>
    public abstract string DescribeSubmission(JobSubmission submission);

    /// <summary>
    /// Primitive: status of many jobs (valid, distinct, canonical ids) in a bounded number of
    /// round trips. One result per id; a job the backend does not know is a per-job
    /// <see cref="CcatErrorId.JobNotFound"/> (or is left out: the entry point says so); a backend
    /// that cannot be asked throws.
    /// </summary>
    public abstract Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken);

    /// <summary>
    /// Primitive: cancels many jobs (valid, distinct, canonical ids). One result per id: Error
    /// null when the job is cancelled or had already finished (not an error); JobNotFound for an
    /// unknown job; a backend that cannot be asked throws.
    /// </summary>
    public abstract Task<IReadOnlyList<JobQueryResult>> CancelManyAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken);

    /// <summary>Primitive: the job's logs (stdout then stderr, or one of them), optionally only the last lines.</summary>
    public abstract Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Primitive: streams the job's log as it is written, until the job ends (everything it
    /// wrote is returned) or the token is cancelled. The default polls <see cref="GetLogsAsync"/>
    /// and the status every 500 ms; backends that can read only new bytes override it.
    /// </summary>
    public virtual async IAsyncEnumerable<string> FollowLogsAsync(string jobId, LogQuery query,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sent = 0;
        while (true)
        {
            // Status first: text read after "finished" was seen is the whole log.
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

    /// <summary>Primitive: the jobs this module submitted that the backend still knows.</summary>
    public abstract Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="max"/> of the jobs this module submitted, newest first, read as
    /// cheaply as the backend allows and strictly read-only: nothing is recorded, captured,
    /// pruned or declared lost. Status and metrics are the last ones the backend or its store
    /// holds and may be stale. What tab completion lists; the default lists nothing.
    /// </summary>
    public virtual Task<IReadOnlyList<HPCJobInfo>> PeekJobsAsync(int max, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<HPCJobInfo>>([]);

    /// <summary>
    /// Primitive: the jobs this module submitted, for a listing that must reach back to jobs
    /// submitted before <paramref name="submittedBefore"/> (Get-CcatJob -OlderThan). The default
    /// is <see cref="ListJobsAsync"/>; a backend whose listing looks back a limited time
    /// (Slurm's sacct window) adds the older jobs it can still find.
    /// </summary>
    protected virtual Task<IReadOnlyList<HPCJobInfo>> ListJobsIncludingOlderAsync(DateTimeOffset submittedBefore, CancellationToken cancellationToken) =>
        ListJobsAsync(cancellationToken);

    /// <summary>
    /// Primitive: removes finished jobs' records and files (<paramref name="jobs"/> as the
    /// backend just reported them, all finished). Removes nothing that lacks the module's marks:
    /// such a job is <see cref="CcatErrorId.NotOwnedByModule"/>. One result per job (Info: the job
    /// as it was; Error on failure); a backend that cannot be asked throws. The default removes
    /// nothing and says so.
    /// </summary>
    protected virtual Task<IReadOnlyList<JobQueryResult>> RemoveFinishedAsync(IReadOnlyList<HPCJobInfo> jobs, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JobQueryResult>>(jobs.Select(j => new JobQueryResult(j.JobId, j,
            new CcatException(CcatErrorId.RemoveFailed, $"The {Kind} backend cannot remove jobs.", j.JobId))).ToList());

    // ================================================================== entry points

    /// <summary>Validates <paramref name="submission"/> and submits it; returns the job id.</summary>
    public async Task<string> SubmitJobAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        RetryRules.Check(submission, Kind, SupportsRetries, RetriesUnsupportedWhy);
        var id = await SubmitAsync(FirstAttempt(submission), cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new InvalidOperationException($"The {Kind} backend returned no job id.");
        }

        await RecordRetryPlanAsync(id, submission, cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// Validates <paramref name="submission"/> and submits it, an array or a dependent job
    /// included; returns every job id it made (one per array element). A feature this backend
    /// does not have yet is refused (<see cref="EnsureSupported"/>), never ignored.
    /// </summary>
    public async Task<IReadOnlyList<string>> SubmitJobsAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        EnsureSupported(submission);
        var ids = await SubmitElementsAsync(FirstAttempt(submission), cancellationToken).ConfigureAwait(false);
        if (ids.Count == 0 || ids.Any(string.IsNullOrWhiteSpace))
        {
            throw new InvalidOperationException($"The {Kind} backend returned no job id.");
        }

        // An array's plan is recorded under the array's id and serves each of its elements.
        await RecordRetryPlanAsync(submission.ArrayIndex is null ? ids[0] : ArrayElementId.ArrayOf(ids[0]) ?? ids[0], submission, cancellationToken).ConfigureAwait(false);
        return ids;
    }

    /// <summary>
    /// Refuses, with <see cref="CcatErrorId.NotSupportedOnBackend"/> naming the backend, a
    /// submission that uses a feature this backend does not have yet: never ignored silently.
    /// </summary>
    public void EnsureSupported(JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        if (submission.ArrayIndex is not null && !SupportsArrays)
        {
            throw new CcatException(CcatErrorId.NotSupportedOnBackend, $"Job arrays (-ArrayIndex) are not yet supported on {Kind}; nothing was submitted.");
        }

        if (submission.Dependency is not null && !SupportsDependencies)
        {
            throw new CcatException(CcatErrorId.NotSupportedOnBackend, $"Job dependencies (-DependsOn) are not yet supported on {Kind}; nothing was submitted.");
        }

        if (submission.SchedulerOptions.Given.FirstOrDefault(n => !SchedulerOptionNames.Contains(n, StringComparer.Ordinal)) is { } unusable)
        {
            var where = unusable == nameof(JobSchedulerOptions.Namespace) ? "Kubernetes" : "Slurm";
            throw new CcatException(CcatErrorId.NotSupportedOnBackend,
                $"-{unusable} is an option of {where} jobs; the {Kind} backend has no use for it, and it is not ignored: nothing was submitted.");
        }

        RetryRules.Check(submission, Kind, SupportsRetries, RetriesUnsupportedWhy);
    }

    /// <summary>Validates <paramref name="submission"/> and returns what submitting it would hand to the scheduler.</summary>
    public string PreviewSubmission(JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        EnsureSupported(submission);
        return DescribeSubmission(FirstAttempt(submission));
    }

    /// <summary>
    /// Status of many jobs: one result per distinct id given, in the order given, each named by
    /// the id as given. A malformed id is InvalidJobId, an unknown one JobNotFound (per job); a
    /// backend that cannot be asked throws.
    /// </summary>
    /// <remarks>A job under a retry policy reads as its latest attempt; observing a retryable failure starts the next attempt (docs/retries.md).</remarks>
    public Task<IReadOnlyList<JobQueryResult>> QueryJobsAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
        QueryJobsCoreAsync(jobIds, startRetries: true, cancellationToken);

    private async Task<IReadOnlyList<JobQueryResult>> QueryJobsCoreAsync(IReadOnlyList<string> jobIds, bool startRetries, CancellationToken cancellationToken) =>
        await ResolveRetriesAsync(await FanOutAsync(jobIds, GetStatusesAsync, cancellationToken).ConfigureAwait(false), startRetries, cancellationToken).ConfigureAwait(false);

    /// <summary>Status and metrics of one job; its per-job error is thrown.</summary>
    public async Task<HPCJobInfo> GetStatusAsync(string jobId, CancellationToken cancellationToken)
    {
        var r = (await QueryJobsAsync([jobId], cancellationToken).ConfigureAwait(false)).Single();
        return r.Info ?? throw r.Error!;
    }

    /// <summary>
    /// Cancels many jobs: one result per distinct id given, in the order given (Error null when
    /// cancelled or already finished). A backend that cannot be asked throws.
    /// </summary>
    public async Task<IReadOnlyList<JobQueryResult>> CancelJobsAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        // A job under a retry policy: its latest attempt is cancelled and no further one is made.
        IReadOnlyList<JobQueryResult> results;
        if (RetryLedger is null)
        {
            results = await FanOutAsync(jobIds, CancelManyAsync, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            results = await FanOutAsync(jobIds, async (chunk, ct) =>
            {
                var arrays = new List<string>();
                var targets = await StopRetriesAsync(chunk, ct, arrays).ConfigureAwait(false);
                var back = targets.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
                var ids = chunk.Select(id => targets.GetValueOrDefault(id, id)).Distinct(StringComparer.Ordinal).ToList();
                // Cancelling an array under a policy also stops its elements' retries and cancels the attempts they run as jobs of their own.
                var extra = await StopElementRetriesAsync(arrays, ct).ConfigureAwait(false);
                var answers = await CancelManyAsync([.. ids, .. extra.Where(e => !ids.Contains(e, StringComparer.Ordinal))], ct).ConfigureAwait(false);
                var given = ids.ToHashSet(StringComparer.Ordinal);
                return answers.Where(r => given.Contains(r.JobId)).Select(r => back.TryGetValue(r.JobId, out var logical) ? r with { JobId = logical } : r).ToList();
            }, cancellationToken).ConfigureAwait(false);
        }

        // A cancel answers with no info: whatever a backend attached is dropped, so callers see one shape.
        return results.Select(r => r.Info is null ? r : r with { Info = null }).ToList();
    }

    /// <summary>Cancels one job; its per-job error is thrown. Cancelling a finished job is not an error.</summary>
    public async Task CancelAsync(string jobId, CancellationToken cancellationToken)
    {
        var r = (await CancelJobsAsync([jobId], cancellationToken).ConfigureAwait(false)).Single();
        if (r.Error is { } e) throw e;
    }

    /// <summary>The job's logs; a malformed id is InvalidJobId.</summary>
    public async Task<string> ReadLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var id = RequireJobId(jobId);
        // A job under a retry policy: the latest attempt's log, or the one -Attempt names.
        if (RetryLedger is not null || query.Attempt is not null) id = await LogJobIdAsync(id, query.Attempt, cancellationToken).ConfigureAwait(false);
        return await GetLogsAsync(id, query, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams the job's log until it ends; a malformed id is InvalidJobId.</summary>
    public IAsyncEnumerable<string> StreamLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var id = RequireJobId(jobId);
        return RetryLedger is null && query.Attempt is null ? FollowLogsAsync(id, query, cancellationToken) : FollowAttemptAsync(id, query, cancellationToken);
    }

    /// <summary>The jobs this module submitted that the backend still knows, newest first.</summary>
    public async Task<IReadOnlyList<HPCJobInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var jobs = await FoldRetriesAsync(await ListJobsAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        // OrderByDescending is stable: jobs without a submission time keep the backend's order, last.
        return jobs.OrderByDescending(j => j.SubmittedAt ?? DateTimeOffset.MinValue).ToList();
    }

    /// <summary>
    /// The jobs this module submitted, newest first, reaching back to jobs submitted before
    /// <paramref name="submittedBefore"/> where the backend's usual listing would not.
    /// </summary>
    public async Task<IReadOnlyList<HPCJobInfo>> ListIncludingOlderAsync(DateTimeOffset submittedBefore, CancellationToken cancellationToken)
    {
        var jobs = await FoldRetriesAsync(await ListJobsIncludingOlderAsync(submittedBefore, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return jobs.OrderByDescending(j => j.SubmittedAt ?? DateTimeOffset.MinValue).ToList();
    }

    /// <summary>
    /// Removes jobs and everything the module keeps of them (records, job folders, saved logs):
    /// one result per distinct id given, in the order given (Info: the job as it was before
    /// removal; Error on failure). The rule lives here, once: only a finished job is removed; an
    /// unfinished one is <see cref="CcatErrorId.JobStillRunning"/>, unless
    /// <paramref name="cancelUnfinished"/>, which cancels it first. A backend that cannot be
    /// asked throws.
    /// </summary>
    public async Task<IReadOnlyList<JobQueryResult>> RemoveJobsAsync(IReadOnlyList<string> jobIds, bool cancelUnfinished, CancellationToken cancellationToken)
    {
        // Removal never starts a retry (startRetries: false): a job due another attempt is removed as it is.
        var statuses = (await QueryJobsCoreAsync(jobIds, startRetries: false, cancellationToken).ConfigureAwait(false)).ToList();
        var unfinished = statuses.Where(s => s.Info is { IsFinished: false }).Select(s => s.JobId).ToList();
        if (cancelUnfinished && unfinished.Count > 0)
        {
            var cancels = (await CancelJobsAsync(unfinished, cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.JobId, StringComparer.Ordinal);
            var again = (await QueryJobsCoreAsync(unfinished, startRetries: false, cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.JobId, StringComparer.Ordinal);
            for (var i = 0; i < statuses.Count; i++)
            {
                var id = statuses[i].JobId;
                if (cancels.TryGetValue(id, out var c) && c.Error is { } cancelError) statuses[i] = new JobQueryResult(id, null, cancelError);
                else if (again.TryGetValue(id, out var a)) statuses[i] = a;
            }
        }

        var outcome = new Dictionary<string, JobQueryResult>(StringComparer.Ordinal);
        var finished = new List<HPCJobInfo>();
        foreach (var s in statuses)
        {
            if (s.Info is not { } info) outcome[s.JobId] = s;
            else if (!info.IsFinished)
            {
                outcome[s.JobId] = new JobQueryResult(s.JobId, info, new CcatException(CcatErrorId.JobStillRunning,
                    $"Job '{s.JobId}' on {Kind} is {info.Status.ToString().ToLowerInvariant()}: it is not removed (Remove-CcatJob -Force cancels it first).", s.JobId));
            }
            else finished.Add(info);
        }

        // The primitive answers by the backend's canonical id (the info's); map back to the id given.
        var given = statuses.Where(s => s.Info is { IsFinished: true }).ToDictionary(s => s.Info!.JobId, s => s.JobId, StringComparer.Ordinal);
        finished = await ExpandAttemptsAsync(finished, statuses.Where(s => s.Info is { IsFinished: true }).SelectMany(s => s.Elements ?? []).ToList(), cancellationToken).ConfigureAwait(false);
        foreach (var chunk in finished.Chunk(Math.Max(1, MaxBatch)))
        {
            foreach (var r in await RemoveFinishedAsync(chunk, cancellationToken).ConfigureAwait(false))
            {
                if (given.TryGetValue(r.JobId, out var g)) outcome.TryAdd(g, r with { JobId = g });
            }
        }

        return statuses.Select(s => outcome.TryGetValue(s.JobId, out var r)
            ? r
            : new JobQueryResult(s.JobId, s.Info, new CcatException(CcatErrorId.RemoveFailed, $"The {Kind} backend returned nothing for job '{s.JobId}'.", s.JobId))).ToList();
    }

    // ================================================================== shared rules

    /// <summary>The canonical id, or InvalidJobId.</summary>
    protected string RequireJobId(string jobId) =>
        NormalizeJobId(jobId?.Trim() ?? "") ?? throw InvalidJobId(jobId ?? "");

    /// <summary>The InvalidJobId error for <paramref name="given"/>.</summary>
    protected CcatException InvalidJobId(string given) =>
        new(CcatErrorId.InvalidJobId, $"'{given}' is not {JobIdForm}.", given);

    /// <summary>The JobNotFound error for <paramref name="jobId"/>.</summary>
    protected CcatException JobNotFound(string jobId) =>
        new(CcatErrorId.JobNotFound, $"The {Kind} backend has no job '{jobId}'.", jobId);

    /// <summary>
    /// The unavailable rule for a backend that handles a batch one job at a time: runs
    /// <paramref name="operation"/> for <paramref name="jobId"/>; an error about the job becomes
    /// its result, while "could not be asked" is thrown for the whole call.
    /// </summary>
    protected static async Task<JobQueryResult> PerJobAsync(string jobId, Func<Task<HPCJobInfo?>> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            return new JobQueryResult(jobId, await operation().ConfigureAwait(false), null);
        }
        catch (CcatException e) when (!e.IsUnavailable)
        {
            return new JobQueryResult(jobId, null, e);
        }
    }

    private async Task<IReadOnlyList<JobQueryResult>> FanOutAsync(IReadOnlyList<string> jobIds,
        Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<JobQueryResult>>> primitive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        var given = jobIds.Distinct(StringComparer.Ordinal).ToList();
        var canonical = given.Select(g => NormalizeJobId(g?.Trim() ?? "")).ToList();
        var valid = canonical.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var answers = new Dictionary<string, JobQueryResult>(StringComparer.Ordinal);
        foreach (var chunk in valid.Chunk(Math.Max(1, MaxBatch)))
        {
            foreach (var r in await primitive(chunk, cancellationToken).ConfigureAwait(false))
            {
                answers.TryAdd(r.JobId, r);
            }
        }

        var results = new List<JobQueryResult>(given.Count);
        for (var i = 0; i < given.Count; i++)
        {
            var g = given[i] ?? "";
            if (canonical[i] is not { } id)
            {
                results.Add(new JobQueryResult(g, null, InvalidJobId(g)));
            }
            else if (answers.TryGetValue(id, out var r))
            {
                results.Add(r with { JobId = g });
            }
            else
            {
                results.Add(new JobQueryResult(g, null, JobNotFound(id)));
            }
        }

        return results;
    }

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
/// <param name="Elements">
/// When <paramref name="JobId"/> is a job array's id: every element's info (Info is then the
/// array's summary). Null for a job that is not an array.
/// </param>
public sealed record JobQueryResult(string JobId, HPCJobInfo? Info, CcatException? Error, IReadOnlyList<HPCJobInfo>? Elements = null);
