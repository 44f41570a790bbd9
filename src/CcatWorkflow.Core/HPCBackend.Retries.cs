using System.Globalization;
using System.Runtime.CompilerServices;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Diagnostics;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Retries;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core;

/// <summary>
/// Retry policies (docs/retries.md), once for every backend. The rule: whenever a status, wait
/// or listing observes the latest attempt of a job under a policy failed with a reason the
/// policy retries on, and attempts are left, claim attempt N+1 in the backend's ledger
/// (<see cref="RetryLedger"/>, an exclusive create or compare-and-set) and — only when this
/// caller won the claim — submit it and record its id. However many processes observe the
/// failure at once, exactly one new attempt is made; no process has to stay alive for it.
/// The job keeps its first id: every entry point maps it to the latest attempt.
/// </summary>
public abstract partial class HPCBackend
{
    /// <summary>
    /// Primitive: where this backend keeps retry plans and attempt claims; null (the default)
    /// when it does not run retry policies (-RetryOn is then refused with NotSupportedOnBackend).
    /// </summary>
    protected virtual IRetryLedger? RetryLedger => null;

    /// <summary>Primitive: the steps in which this backend's scheduler takes memory and time (grown requests are rounded up to them).</summary>
    protected virtual RetryRounding RetryRounding => RetryRounding.Default;

    /// <summary>Primitive: why this backend, as configured, does not run retry policies (null: no reason to add).</summary>
    protected virtual string? RetriesUnsupportedWhy => null;

    /// <summary>True when this backend runs retry policies.</summary>
    public bool SupportsRetries => RetryLedger is not null;

    /// <summary>
    /// Primitive: the variables a retried array element's new attempt (a job of its own) gets so
    /// its command sees the index it had in the array: <c>CCAT_ARRAY_INDEX</c> on every backend;
    /// a backend adds its own array variable where a command may read it (Slurm's
    /// <c>SLURM_ARRAY_TASK_ID</c>).
    /// </summary>
    protected virtual IReadOnlyList<KeyValuePair<string, string>> ElementAttemptEnvironment(string arrayId, int index) =>
        [new(ArrayElementId.IndexVariable, index.ToString(CultureInfo.InvariantCulture))];

    private static JobSubmission FirstAttempt(JobSubmission submission) =>
        submission.Retry is null ? submission : RetryRules.ForAttempt(submission, 1);

    private async Task RecordRetryPlanAsync(string jobId, JobSubmission submission, CancellationToken cancellationToken)
    {
        if (submission.Retry is null || RetryLedger is not { } ledger) return;
        try
        {
            await ledger.WritePlanAsync(jobId, RetryPlan.Of(submission).ToJson(), cancellationToken).ConfigureAwait(false);
        }
        catch (CcatException e)
        {
            // A job whose policy is not recorded would silently not be retried: stop it instead.
            try
            {
                await CancelManyAsync([jobId], cancellationToken).ConfigureAwait(false);
            }
            catch (CcatException)
            {
                // the message below says what is left
            }

            throw new CcatException(e.ErrorId, $"Job {jobId} was submitted but its retry policy could not be recorded ({e.Message}); it was cancelled (check with Get-CcatJobStatus).", jobId, e);
        }
    }

    private async Task<IReadOnlyList<JobQueryResult>> ResolveRetriesAsync(IReadOnlyList<JobQueryResult> results, bool startRetries, CancellationToken cancellationToken)
    {
        if (RetryLedger is null) return results;
        // Only a failed first attempt can have later ones: jobs (and array elements) that did not
        // fail cost nothing here. An array's elements are retried one by one.
        var firsts = results.SelectMany(r => r.Elements ?? (r.Info is { } i ? [i] : []))
            .Where(i => i.Status == HPCJobStatus.Failed).DistinctBy(i => i.JobId).ToList();
        if (firsts.Count == 0) return results;
        var (latest, _) = await ResolveAsync(firsts, null, startRetries, cancellationToken).ConfigureAwait(false);
        return latest.Count == 0 ? results : results.Select(r => WithLatest(r, latest)).ToList();
    }

    /// <summary>
    /// <paramref name="r"/> with each job or element as its latest attempt; an array's summary
    /// counts each element's latest attempt (an element being retried is not failed).
    /// </summary>
    private JobQueryResult WithLatest(JobQueryResult r, Dictionary<string, HPCJobInfo> latest)
    {
        if (r.Elements is not { } elements)
        {
            return r.Info is { } i && latest.TryGetValue(i.JobId, out var l) ? r with { Info = l } : r;
        }

        if (!elements.Any(e => latest.ContainsKey(e.JobId)) || r.Info is not { } summary) return r;
        var now = elements.Select(e => latest.GetValueOrDefault(e.JobId, e)).ToList();
        var again = ArrayStatus.Aggregate(summary.JobId, Kind, now)
            .WithScheduling(summary.Partition, summary.Account, summary.Qos, summary.Namespace);
        return r with { Info = again, Elements = now };
    }

    /// <summary>A listing with each retried job once, under its first id, as its latest attempt (later attempts' own entries folded in).</summary>
    private async Task<IReadOnlyList<HPCJobInfo>> FoldRetriesAsync(IReadOnlyList<HPCJobInfo> jobs, CancellationToken cancellationToken)
    {
        if (RetryLedger is null) return jobs;
        var firsts = jobs.Where(j => j.Status == HPCJobStatus.Failed).ToList();
        if (firsts.Count == 0) return jobs;
        var known = jobs.GroupBy(j => j.JobId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var (latest, attemptIds) = await ResolveAsync(firsts, known, startRetries: true, cancellationToken).ConfigureAwait(false);
        return latest.Count == 0
            ? jobs
            : jobs.Where(j => !attemptIds.Contains(j.JobId)).Select(j => latest.TryGetValue(j.JobId, out var l) ? l : j).ToList();
    }

    private async Task<(Dictionary<string, HPCJobInfo> Latest, HashSet<string> AttemptIds)> ResolveAsync(
        IReadOnlyList<HPCJobInfo> firsts, IReadOnlyDictionary<string, HPCJobInfo>? known, bool startRetries, CancellationToken cancellationToken)
    {
        var ledger = RetryLedger!;
        var latest = new Dictionary<string, HPCJobInfo>(StringComparer.Ordinal);
        var attemptIds = new HashSet<string>(StringComparer.Ordinal);
        var entries = await ledger.ReadAsync(firsts.Select(f => f.JobId).Distinct(StringComparer.Ordinal).ToList(), cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0) return (latest, attemptIds);

        var states = new List<RetryState>();
        foreach (var (id, entry) in entries)
        {
            if (RetryState.From(id, entry) is { } s) states.Add(s);
        }

        var infos = new Dictionary<string, HPCJobInfo>(known ?? new Dictionary<string, HPCJobInfo>(), StringComparer.Ordinal);
        foreach (var f in firsts) infos[f.JobId] = f;
        foreach (var s in states) attemptIds.UnionWith(s.Claims.Values.Select(c => c.JobId).OfType<string>());

        // The current attempts' statuses in one batch.
        var wanted = states.Select(s => s.CurrentJobId).OfType<string>().Where(id => !infos.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToList();
        await FetchAsync(wanted, infos, cancellationToken).ConfigureAwait(false);

        foreach (var s in states)
        {
            latest[s.JobId] = await StepAsync(s, infos, startRetries, cancellationToken).ConfigureAwait(false);
        }

        return (latest, attemptIds);
    }

    private async Task FetchAsync(IReadOnlyList<string> ids, Dictionary<string, HPCJobInfo> infos, CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return;
        foreach (var r in await FanOutAsync(ids, GetStatusesAsync, cancellationToken).ConfigureAwait(false))
        {
            if (r.Info is { } i) infos[r.JobId] = i;
        }
    }

    /// <summary>The rule for one job: from its current attempt, start the next one if the policy says so and this caller wins the claim.</summary>
    private async Task<HPCJobInfo> StepAsync(RetryState s, Dictionary<string, HPCJobInfo> infos, bool startRetries, CancellationToken cancellationToken)
    {
        var ledger = RetryLedger!;
        var policy = s.Plan.Policy;
        for (var round = 0; round < policy.MaxAttempts + 5; round++)
        {
            var m = s.LatestAttempt;
            var claim = m >= 2 ? s.Claims[m] : null;
            var lostClaim = false;
            HPCJobInfo info;
            if (claim is { Stopped: true })
            {
                return Present(s, await AttemptInfoAsync(s, m - 1, infos, cancellationToken).ConfigureAwait(false), m - 1);
            }

            if (claim is { Error: { } error })
            {
                return Present(s, Synthetic(s, m, HPCJobStatus.Failed, HPCJobReason.Unknown, $"Attempt {m} could not be submitted: {error}"), m);
            }

            if (claim is { JobId: null })
            {
                var age = DateTimeOffset.UtcNow - claim.ClaimedAt;
                if (age < RetryRules.StaleClaimAge)
                {
                    return Present(s, Synthetic(s, m, HPCJobStatus.Pending, HPCJobReason.None,
                        $"Attempt {m} is being submitted by {claim.ClaimedBy} (claimed {claim.ClaimedAt.ToString("u", CultureInfo.InvariantCulture)})."), m);
                }

                info = Synthetic(s, m, HPCJobStatus.Failed, HPCJobReason.Lost,
                    $"Attempt {m} was claimed by {claim.ClaimedBy} at {claim.ClaimedAt.ToString("u", CultureInfo.InvariantCulture)} but never submitted (that process ended).");
                lostClaim = true;
            }
            else
            {
                info = await AttemptInfoAsync(s, m, infos, cancellationToken).ConfigureAwait(false);
            }

            if (info.Status != HPCJobStatus.Failed || !(lostClaim || policy.RetriesOn(info.Reason)))
            {
                return Present(s, info, m);
            }

            if (m >= policy.MaxAttempts)
            {
                CcatLog.Verbose($"Job {s.JobId}: attempt {m} failed ({info.Reason}); not retried: all {policy.MaxAttempts} attempts used.");
                return Present(s, info, m);
            }

            var step = policy.Next(s.ResourcesOf(m), info.Reason, RetryRounding);
            if (step.Resources is not { } next)
            {
                CcatLog.Verbose($"Job {s.JobId}: attempt {m} failed ({info.Reason}); not retried: {step.What}.");
                return Present(s, info.WithMessage(Join(info.Message, $"Not retried: {step.What}.")), m);
            }

            if (!startRetries)
            {
                return Present(s, info, m);
            }

            var mine = new RetryClaim
            {
                Attempt = m + 1,
                ClaimedAt = DateTimeOffset.UtcNow,
                ClaimedBy = RetryRules.Claimer,
                PreviousJobId = lostClaim ? null : info.AttemptJobId,
                PreviousReason = info.Reason,
                PreviousExitCode = info.ExitCode,
                Cpu = next.Cpu,
                MemoryGb = next.MemoryGb,
                TimeHours = next.TimeHours,
                Gpu = next.Gpu,
            };
            if (!await ledger.TryClaimAsync(s.JobId, m + 1, mine.ToJson(), cancellationToken).ConfigureAwait(false))
            {
                CcatLog.Verbose($"Job {s.JobId}: attempt {m + 1} was claimed by another process first; following it.");
                await ReloadAsync(s, infos, cancellationToken).ConfigureAwait(false);
                continue;
            }

            CcatLog.Verbose($"Job {s.JobId}: attempt {m} ({(lostClaim ? "never submitted" : info.AttemptJobId)}) failed with reason {info.Reason}"
                + (info.ExitCode is { } ec ? $" (exit {ec})" : "") + $"; retrying as attempt {m + 1} of {policy.MaxAttempts} ({step.What}).");
            string newId;
            try
            {
                newId = await SubmitAsync(AttemptSubmission(s, m + 1, next), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException || e is CcatException { IsUnavailable: true })
            {
                // Nothing was submitted and the scheduler may answer later: give the claim back.
                await ReleaseQuietlyAsync(s.JobId, m + 1).ConfigureAwait(false);
                throw;
            }
            catch (CcatException e)
            {
                CcatLog.Verbose($"Job {s.JobId}: attempt {m + 1} was refused: {e.Message}");
                mine = mine with { Error = e.Message };
                await ledger.UpdateClaimAsync(s.JobId, m + 1, mine.ToJson(), CancellationToken.None).ConfigureAwait(false);
                s.Claims[m + 1] = mine;
                continue;
            }

            mine = mine with { JobId = newId };
            await ledger.UpdateClaimAsync(s.JobId, m + 1, mine.ToJson(), cancellationToken).ConfigureAwait(false);
            s.Claims[m + 1] = mine;
            CcatLog.Verbose($"Job {s.JobId}: attempt {m + 1} submitted as {newId}.");
            infos[newId] = new HPCJobInfo(newId, Kind, HPCJobStatus.Pending, s.Plan.JobName, submittedAt: mine.ClaimedAt)
                .WithSubmission(next.Cpu, next.MemoryGb, next.TimeHours, next.Gpu, s.Plan.ExecutionCommand, null);
        }

        throw new CcatException(CcatErrorId.InternalError, $"The attempts of job {s.JobId} did not settle.", s.JobId);
    }

    /// <summary>Attempt <paramref name="attempt"/> as submitted: an array element's is a job of its own that sees the element's index.</summary>
    private JobSubmission AttemptSubmission(RetryState s, int attempt, ResourceRequirements resources)
    {
        var submission = s.Plan.ToSubmission(attempt, resources);
        if (s.Element is not { } e) return submission;
        var extra = ElementAttemptEnvironment(e.ArrayId, e.Index);
        var names = extra.Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
        return submission with { Environment = [.. submission.Environment.Where(kv => !names.Contains(kv.Key)), .. extra] };
    }

    private async Task ReleaseQuietlyAsync(string jobId, int attempt)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await RetryLedger!.ReleaseClaimAsync(jobId, attempt, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CcatException or OperationCanceledException)
        {
            // the claim stays; observers count it lost after RetryRules.StaleClaimAge
        }
    }

    private async Task ReloadAsync(RetryState s, Dictionary<string, HPCJobInfo> infos, CancellationToken cancellationToken)
    {
        var entries = await RetryLedger!.ReadAsync([s.JobId], cancellationToken).ConfigureAwait(false);
        if (entries.TryGetValue(s.JobId, out var e) && RetryState.From(s.JobId, e) is { } again)
        {
            s.Claims.Clear();
            foreach (var (k, v) in again.Claims) s.Claims[k] = v;
        }

        if (s.CurrentJobId is { } id && !infos.ContainsKey(id)) await FetchAsync([id], infos, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HPCJobInfo> AttemptInfoAsync(RetryState s, int attempt, Dictionary<string, HPCJobInfo> infos, CancellationToken cancellationToken)
    {
        var id = s.JobIdOf(attempt);
        if (id is null) return Synthetic(s, attempt, HPCJobStatus.Failed, HPCJobReason.Lost, $"Attempt {attempt} was never submitted.");
        if (!infos.ContainsKey(id)) await FetchAsync([id], infos, cancellationToken).ConfigureAwait(false);
        return infos.TryGetValue(id, out var info)
            ? info
            : new HPCJobInfo(id, Kind, HPCJobStatus.Failed, s.Plan.JobName, reason: HPCJobReason.Lost,
                message: $"Attempt {attempt} ({id}) is no longer known to the {Kind} backend.");
    }

    private HPCJobInfo Synthetic(RetryState s, int attempt, HPCJobStatus status, HPCJobReason reason, string message)
    {
        var r = s.ResourcesOf(attempt);
        return new HPCJobInfo(s.JobId, Kind, status, s.Plan.JobName, reason: reason, message: message,
            submittedAt: attempt >= 2 ? s.Claims[attempt].ClaimedAt : null)
            .WithSubmission(r.Cpu, r.MemoryGb, r.TimeHours, r.Gpu, s.Plan.ExecutionCommand, null);
    }

    private static HPCJobInfo Present(RetryState s, HPCJobInfo info, int attempt)
    {
        // An element's later attempt is a job of its own: it is shown as the element it stands for.
        if (s.Element is { } e && info.ArrayJobId is null) info = info.WithArrayElement(e.ArrayId, e.Index);

        var previous = new List<HPCJobAttempt>();
        for (var k = 1; k < attempt; k++)
        {
            var after = s.Claims[k + 1];
            var r = s.ResourcesOf(k);
            previous.Add(new HPCJobAttempt(k, after.PreviousJobId, after.PreviousReason, after.PreviousExitCode, r.MemoryGb, r.TimeHours, after.ClaimedAt));
        }

        return info.WithAttempts(s.JobId, attempt, previous);
    }

    private static string Join(string? a, string b) => string.IsNullOrEmpty(a) ? b : a + " " + b;

    // ------------------------------------------------------------------ cancel, logs, removal

    /// <summary>
    /// For Stop-CcatJob: the attempt to cancel for each id under a retry policy, after claiming
    /// the next attempt's slot as "stopped" — so no observer retries a job someone stopped.
    /// </summary>
    /// <remarks>The ids among <paramref name="ids"/> that are arrays under a policy are added to <paramref name="plannedArrays"/> (their elements are stopped one by one).</remarks>
    private async Task<Dictionary<string, string>> StopRetriesAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken, List<string>? plannedArrays = null)
    {
        var targets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (RetryLedger is not { } ledger || ids.Count == 0) return targets;
        var entries = await ledger.ReadAsync(ids, cancellationToken).ConfigureAwait(false);
        foreach (var (id, entry) in entries)
        {
            // An array's own id: its elements are stopped one by one (StopElementRetriesAsync).
            if (RetryState.From(id, entry) is not { } s) continue;
            if (s.Plan.ArrayIndex is not null && s.Element is null)
            {
                plannedArrays?.Add(id);
                continue;
            }

            for (var round = 0; ; round++)
            {
                var m = s.LatestAttempt;
                var claim = m >= 2 ? s.Claims[m] : null;
                if (claim is { Stopped: true })
                {
                    targets[id] = s.JobIdOf(m - 1) ?? id;
                    break;
                }

                if (claim is { JobId: null, Error: null } && DateTimeOffset.UtcNow - claim.ClaimedAt < RetryRules.StaleClaimAge && round < 100)
                {
                    // Attempt m is being submitted right now: wait for its id, then stop that.
                    await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
                    await ReloadAsync(s, new Dictionary<string, HPCJobInfo>(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var stop = new RetryClaim { Attempt = m + 1, Stopped = true, ClaimedAt = DateTimeOffset.UtcNow, ClaimedBy = RetryRules.Claimer };
                if (await ledger.TryClaimAsync(id, m + 1, stop.ToJson(), cancellationToken).ConfigureAwait(false))
                {
                    CcatLog.Verbose($"Job {id}: stopped at attempt {m}; no further attempts.");
                    targets[id] = s.JobIdOf(m) ?? id;
                    break;
                }

                await ReloadAsync(s, new Dictionary<string, HPCJobInfo>(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
            }
        }

        return targets;
    }

    /// <summary>
    /// For Stop-CcatJob on arrays under a policy (<paramref name="arrays"/>): claims "stopped"
    /// for every element that failed or was retried, so no observer retries it after the
    /// cancel, and returns the ids of the attempts those elements run as jobs of their own (to
    /// cancel with the array). Elements still at their first attempt are cancelled with the array.
    /// </summary>
    private async Task<List<string>> StopElementRetriesAsync(IReadOnlyList<string> arrays, CancellationToken cancellationToken)
    {
        var extra = new List<string>();
        if (arrays.Count == 0) return extra;
        var statuses = await QueryJobsCoreAsync(arrays, startRetries: false, cancellationToken).ConfigureAwait(false);
        var elements = statuses.SelectMany(r => r.Elements ?? []).Where(e => e.Attempt > 1 || e.Status == HPCJobStatus.Failed).Select(e => e.JobId).ToList();
        if (elements.Count == 0) return extra;
        var targets = await StopRetriesAsync(elements, cancellationToken).ConfigureAwait(false);
        // An element's first attempt is the array's to cancel; later ones are jobs of their own.
        extra.AddRange(targets.Values.Where(t => ArrayElementId.ArrayOf(t) is null));
        return extra;
    }

    /// <summary>The backend id whose log is read for <paramref name="jobId"/>: the latest submitted attempt, or attempt <paramref name="attempt"/>.</summary>
    private async Task<string> LogJobIdAsync(string jobId, int? attempt, CancellationToken cancellationToken)
    {
        if (attempt is < 1) throw new CcatException(CcatErrorId.InvalidSubmission, $"-Attempt must be 1 or more, not {attempt}.", jobId);
        if (RetryLedger is not { } ledger)
        {
            return attempt is null or 1 ? jobId : throw NoSuchAttempt(jobId, attempt.Value, 1);
        }

        var entries = await ledger.ReadAsync([jobId], cancellationToken).ConfigureAwait(false);
        if (!entries.TryGetValue(jobId, out var entry) || RetryState.From(jobId, entry) is not { } s)
        {
            return attempt is null or 1 ? jobId : throw NoSuchAttempt(jobId, attempt.Value, 1);
        }

        if (attempt is { } n)
        {
            return n == 1 ? jobId
                : s.Claims.TryGetValue(n, out var c) && !c.Stopped
                    ? c.JobId ?? throw new CcatException(CcatErrorId.JobNotFound, $"Attempt {n} of job {jobId} was never submitted{(c.Error is null ? "" : ": " + c.Error)}.", jobId)
                    : throw NoSuchAttempt(jobId, n, s.Claims.Values.Count(c2 => !c2.Stopped) + 1);
        }

        return s.Claims.Where(kv => kv.Value.JobId is not null).OrderByDescending(kv => kv.Key).Select(kv => kv.Value.JobId!).FirstOrDefault() ?? jobId;
    }

    private static CcatException NoSuchAttempt(string jobId, int attempt, int count) =>
        new(CcatErrorId.JobNotFound, $"Job {jobId} has no attempt {attempt}: it has {count} attempt{(count == 1 ? "" : "s")}.", jobId);

    private async IAsyncEnumerable<string> FollowAttemptAsync(string jobId, LogQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var id = await LogJobIdAsync(jobId, query.Attempt, cancellationToken).ConfigureAwait(false);
        await foreach (var chunk in FollowLogsAsync(id, query, cancellationToken).ConfigureAwait(false))
        {
            yield return chunk;
        }
    }

    /// <summary>
    /// For Remove-CcatJob: a retried job (as resolved, finished) stands for every attempt's own
    /// backend job, as the backend reports each; the ledger is removed with it.
    /// </summary>
    private async Task<List<HPCJobInfo>> ExpandAttemptsAsync(List<HPCJobInfo> finished, IReadOnlyList<HPCJobInfo> elements, CancellationToken cancellationToken)
    {
        if (RetryLedger is not { } ledger) return finished;
        // What the ledger keeps outside the jobs' own records (Redis) goes with them.
        await ledger.RemoveAsync(finished.Select(f => f.JobId).ToList(), cancellationToken).ConfigureAwait(false);
        var expanded = new List<HPCJobInfo>();
        var ids = new List<string>();
        // A removed array takes its retried elements' later attempts (jobs of their own) with it.
        foreach (var e in elements.Where(e => e.Attempt > 1))
        {
            ids.AddRange(e.PreviousAttempts.Select(a => a.JobId).OfType<string>().Where(a => ArrayElementId.ArrayOf(a) is null));
            ids.Add(e.AttemptJobId);
        }

        if (!finished.Any(f => f.Attempt > 1) && ids.Count == 0) return finished;
        foreach (var f in finished)
        {
            if (f.Attempt <= 1)
            {
                expanded.Add(f);
                continue;
            }

            ids.Add(f.JobId);
            ids.AddRange(f.PreviousAttempts.Select(a => a.JobId).OfType<string>());
            ids.Add(f.AttemptJobId);
        }

        var raw = new Dictionary<string, HPCJobInfo>(StringComparer.Ordinal);
        await FetchAsync(ids.Distinct(StringComparer.Ordinal).ToList(), raw, cancellationToken).ConfigureAwait(false);
        expanded.AddRange(raw.Values.Where(i => i.IsFinished));
        return expanded;
    }

    /// <summary>One retried job's plan and claims, as read from the ledger.</summary>
    private sealed class RetryState
    {
        private RetryState(string jobId, RetryPlan plan, SortedDictionary<int, RetryClaim> claims)
        {
            JobId = jobId;
            Plan = plan;
            Claims = claims;
        }

        public string JobId { get; }

        public RetryPlan Plan { get; }

        /// <summary>For an element of an array under the policy: its array and index.</summary>
        public (string ArrayId, int Index)? Element =>
            Plan.ArrayIndex is not null && ArrayElementId.TryParse(JobId, out var a, out var i) ? (a, i) : null;

        public SortedDictionary<int, RetryClaim> Claims { get; }

        /// <summary>The highest attempt claimed (1 when none).</summary>
        public int LatestAttempt => Claims.Count == 0 ? 1 : Claims.Keys.Max();

        /// <summary>The backend id of the attempt whose status is the job's now.</summary>
        public string? CurrentJobId => LatestAttempt == 1 ? JobId
            : Claims[LatestAttempt] is { Stopped: true } ? JobIdOf(LatestAttempt - 1)
            : Claims[LatestAttempt].JobId;

        public string? JobIdOf(int attempt) => attempt <= 1 ? JobId : Claims.TryGetValue(attempt, out var c) ? c.JobId : null;

        public ResourceRequirements ResourcesOf(int attempt) =>
            attempt <= 1 || !Claims.TryGetValue(attempt, out var c) ? Plan.Resources : new ResourceRequirements(c.Cpu, c.MemoryGb, c.TimeHours, c.Gpu);

        public static RetryState? From(string jobId, RetryLedgerEntry entry)
        {
            if (RetryPlan.FromJson(entry.Plan) is not { } plan) return null;
            var claims = new SortedDictionary<int, RetryClaim>();
            foreach (var (n, text) in entry.Claims)
            {
                if (n >= 2) claims[n] = RetryClaim.FromJson(n, text);
            }

            return new RetryState(jobId, plan, claims);
        }
    }
}
