using System.Globalization;
using CcatWorkflow.Core.Retries;
using StackExchange.Redis;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The retry ledger in Redis: one hash per retried job, <c>&lt;prefix&gt;:local:retry:&lt;id&gt;</c>,
/// with the field <c>plan</c> and one field <c>attempt:&lt;n&gt;</c> per claimed attempt. A claim is
/// HSETNX — Redis's compare-and-set on one field — so exactly one caller on any host wins it.
/// An array element's claims are fields <c>element:&lt;index&gt;:attempt:&lt;n&gt;</c> of its array's
/// hash, under the array's plan (<see cref="RetryLedgerKey"/>).
/// </summary>
internal sealed partial class RedisJobStore : IRetryLedger
{
    private const string PlanField = "plan", AttemptFieldPrefix = "attempt:", ElementFieldPrefix = "element:", ElementAttemptFieldPrefix = ":attempt:";

    /// <summary>The key of a job's retry hash (an array element's: its array's).</summary>
    public string RetryKey(string id) => $"{_options.RedisKeyPrefix}:local:retry:{RetryLedgerKey.Of(id).OwnerId}";

    private static string AttemptField(string id, int attempt) => RetryLedgerKey.Of(id).ClaimName(AttemptFieldPrefix, ElementFieldPrefix, ElementAttemptFieldPrefix, attempt);

    public Task WritePlanAsync(string jobId, string plan, CancellationToken cancellationToken) =>
        Guard(jobId, $"record the retry plan of job {jobId}", db => db.HashSetAsync(RetryKey(jobId), PlanField, plan), cancellationToken);

    public Task<IReadOnlyDictionary<string, RetryLedgerEntry>> ReadAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
        Guard<IReadOnlyDictionary<string, RetryLedgerEntry>>(null, $"read the retry plans of {jobIds.Count} jobs", async db =>
        {
            var found = new Dictionary<string, RetryLedgerEntry>(StringComparer.Ordinal);
            if (jobIds.Count == 0) return found;
            var batch = db.CreateBatch();
            // The elements of one array share its hash: each hash is read once.
            var owners = jobIds.Select(RetryKey).Distinct(StringComparer.Ordinal).ToList();
            var read = owners.ToDictionary(k => k, k => batch.HashGetAllAsync(k), StringComparer.Ordinal);
            var tasks = jobIds.Select(id => read[RetryKey(id)]).ToArray();
            batch.Execute();
            await Task.WhenAll(read.Values).ConfigureAwait(false);
            for (var i = 0; i < jobIds.Count; i++)
            {
                var fields = tasks[i].Result.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
                if (!fields.TryGetValue(PlanField, out var plan)) continue;
                found[jobIds[i]] = new RetryLedgerEntry(plan, RetryLedgerKey.Of(jobIds[i]).Claims(fields, AttemptFieldPrefix, ElementFieldPrefix, ElementAttemptFieldPrefix));
            }

            return found;
        }, cancellationToken);

    public Task<bool> TryClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"claim attempt {attempt} of job {jobId}", db => db.HashSetAsync(RetryKey(jobId), AttemptField(jobId, attempt), claim, When.NotExists), cancellationToken);

    public Task UpdateClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"record attempt {attempt} of job {jobId}", db => db.HashSetAsync(RetryKey(jobId), AttemptField(jobId, attempt), claim), cancellationToken);

    public Task ReleaseClaimAsync(string jobId, int attempt, CancellationToken cancellationToken) =>
        Guard(jobId, $"release attempt {attempt} of job {jobId}", db => db.HashDeleteAsync(RetryKey(jobId), AttemptField(jobId, attempt)), cancellationToken);

    public Task RemoveAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
        Guard(null, $"remove the retry plans of {jobIds.Count} jobs", db => jobIds.Count == 0
            ? Task.FromResult(0L)
            : db.KeyDeleteAsync(jobIds.Select(id => (RedisKey)RetryKey(id)).ToArray()), cancellationToken);
}
