using System.Globalization;
using CcatWorkflow.Core.Retries;
using StackExchange.Redis;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The retry ledger in Redis: one hash per retried job, <c>&lt;prefix&gt;:local:retry:&lt;id&gt;</c>,
/// with the field <c>plan</c> and one field <c>attempt:&lt;n&gt;</c> per claimed attempt. A claim is
/// HSETNX — Redis's compare-and-set on one field — so exactly one caller on any host wins it.
/// </summary>
internal sealed partial class RedisJobStore : IRetryLedger
{
    private const string PlanField = "plan", AttemptFieldPrefix = "attempt:";

    /// <summary>The key of a job's retry hash.</summary>
    public string RetryKey(string id) => $"{_options.RedisKeyPrefix}:local:retry:{id}";

    private static string AttemptField(int attempt) => AttemptFieldPrefix + attempt.ToString(CultureInfo.InvariantCulture);

    public Task WritePlanAsync(string jobId, string plan, CancellationToken cancellationToken) =>
        Guard(jobId, $"record the retry plan of job {jobId}", db => db.HashSetAsync(RetryKey(jobId), PlanField, plan), cancellationToken);

    public Task<IReadOnlyDictionary<string, RetryLedgerEntry>> ReadAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
        Guard<IReadOnlyDictionary<string, RetryLedgerEntry>>(null, $"read the retry plans of {jobIds.Count} jobs", async db =>
        {
            var found = new Dictionary<string, RetryLedgerEntry>(StringComparer.Ordinal);
            if (jobIds.Count == 0) return found;
            var batch = db.CreateBatch();
            var tasks = jobIds.Select(id => batch.HashGetAllAsync(RetryKey(id))).ToArray();
            batch.Execute();
            await Task.WhenAll(tasks).ConfigureAwait(false);
            for (var i = 0; i < jobIds.Count; i++)
            {
                var fields = tasks[i].Result.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
                if (!fields.TryGetValue(PlanField, out var plan)) continue;
                var claims = new Dictionary<int, string>();
                foreach (var (name, value) in fields)
                {
                    if (name.StartsWith(AttemptFieldPrefix, StringComparison.Ordinal)
                        && int.TryParse(name.AsSpan(AttemptFieldPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    {
                        claims[n] = value;
                    }
                }

                found[jobIds[i]] = new RetryLedgerEntry(plan, claims);
            }

            return found;
        }, cancellationToken);

    public Task<bool> TryClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"claim attempt {attempt} of job {jobId}", db => db.HashSetAsync(RetryKey(jobId), AttemptField(attempt), claim, When.NotExists), cancellationToken);

    public Task UpdateClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"record attempt {attempt} of job {jobId}", db => db.HashSetAsync(RetryKey(jobId), AttemptField(attempt), claim), cancellationToken);

    public Task ReleaseClaimAsync(string jobId, int attempt, CancellationToken cancellationToken) =>
        Guard(jobId, $"release attempt {attempt} of job {jobId}", db => db.HashDeleteAsync(RetryKey(jobId), AttemptField(attempt)), cancellationToken);

    public Task RemoveAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
        Guard(null, $"remove the retry plans of {jobIds.Count} jobs", db => jobIds.Count == 0
            ? Task.FromResult(0L)
            : db.KeyDeleteAsync(jobIds.Select(id => (RedisKey)RetryKey(id)).ToArray()), cancellationToken);
}
