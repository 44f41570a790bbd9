using System.Globalization;
using System.Text.Json;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Retries;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Retry policies on Kubernetes: the ledger is in the job's record ConfigMap (data keys
/// <c>retryPlan</c> and <c>retryAttempt.&lt;n&gt;</c>, label <c>ccat-workflow/retry=plan</c>). A claim
/// is a replace of the record conditioned on the resourceVersion just read: when another
/// client changed the record in between, the API answers 409 Conflict and the claim is decided
/// again on the fresh record — exactly one client adds the attempt's key. An element of an array
/// under a policy keeps its claims in its array's record, keys
/// <c>retryElement.&lt;index&gt;.attempt.&lt;n&gt;</c>, under the array's plan (<see cref="RetryLedgerKey"/>).
/// </summary>
public sealed partial class KubernetesBackend
{
    /// <summary>The record's label that marks a job under a retry policy.</summary>
    public const string RetryLabel = "ccat-workflow/retry";

    internal const string RetryPlanKey = "retryPlan", RetryAttemptKeyPrefix = "retryAttempt.", RetryElementKeyPrefix = "retryElement.", RetryElementAttemptKeyPrefix = ".attempt.";

    // Past this many ids, one labelled listing is cheaper than one read per record.
    private const int MaxRetryReadsOneByOne = 8;

    private IRetryLedger? _retryLedger;

    /// <inheritdoc />
    protected override IRetryLedger? RetryLedger => _retryLedger ??= new RecordLedger(this);

    internal static string RetryAttemptKey(int attempt) => RetryAttemptKeyPrefix + attempt.ToString(CultureInfo.InvariantCulture);

    /// <summary>The record key of attempt <paramref name="attempt"/>'s claim of <paramref name="jobId"/> (a job, or an array element: in its array's record).</summary>
    internal static string RetryAttemptKey(string jobId, int attempt) => RetryLedgerKey.Of(jobId).ClaimName(RetryAttemptKeyPrefix, RetryElementKeyPrefix, RetryElementAttemptKeyPrefix, attempt);

    private sealed class RecordLedger(KubernetesBackend backend) : IRetryLedger
    {
        // A job outside K8S_NAMESPACE is known as namespace/name: its record is in that namespace.
        // An element's ledger is in its array's record.
        private (string Namespace, string Name) Where(string jobId)
        {
            var owner = RetryLedgerKey.Of(jobId).OwnerId;
            return SplitJobId(owner) is ({ } ns, var name) ? (ns, name) : (backend._options.Namespace, owner);
        }

        public async Task WritePlanAsync(string jobId, string plan, CancellationToken cancellationToken)
        {
            var patch = JsonSerializer.Serialize(new
            {
                metadata = new { labels = new Dictionary<string, string> { [RetryLabel] = "plan" } },
                data = new Dictionary<string, string> { [RetryPlanKey] = plan },
            });
            var (ns, name) = Where(jobId);
            await backend.CallAsync($"recording the retry plan of {jobId}", (c, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(
                new V1Patch(patch, V1Patch.PatchType.MergePatch), name, ns, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
        }

        public async Task<IReadOnlyDictionary<string, RetryLedgerEntry>> ReadAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
        {
            var found = new Dictionary<string, RetryLedgerEntry>(StringComparer.Ordinal);
            if (jobIds.Count == 0) return found;
            // The elements of one array share its record: each record is read once.
            var owners = jobIds.Select(id => RetryLedgerKey.Of(id).OwnerId).Distinct(StringComparer.Ordinal).ToList();
            IEnumerable<(string Id, V1ConfigMap? Record)> records;
            if (owners.Count <= MaxRetryReadsOneByOne || owners.Any(IsQualifiedJobId))
            {
                records = await Task.WhenAll(owners.Select(async id => (id, await ReadRecordAsync(id, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
            }
            else
            {
                var wanted = owners.ToHashSet(StringComparer.Ordinal);
                var list = await backend.CallAsync("listing retried job records", (c, ct) => c.CoreV1.ListNamespacedConfigMapAsync(backend._options.Namespace,
                    labelSelector: $"{RetryLabel}=plan,{KubernetesNames.ManagedBySelector}", cancellationToken: ct), cancellationToken).ConfigureAwait(false);
                records = list.Items.Where(cm => wanted.Contains(cm.Metadata.Name)).Select(cm => (cm.Metadata.Name, (V1ConfigMap?)cm));
            }

            var byOwner = records.Where(r => r.Record is not null).ToDictionary(r => r.Id, r => r.Record!, StringComparer.Ordinal);
            foreach (var id in jobIds)
            {
                if (byOwner.TryGetValue(RetryLedgerKey.Of(id).OwnerId, out var cm) && Entry(id, cm) is { } e) found[id] = e;
            }

            return found;
        }

        public Task<bool> TryClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
            ReplaceAsync(jobId, $"claiming attempt {attempt} of {jobId}", data =>
            {
                if (data.ContainsKey(RetryAttemptKey(jobId, attempt))) return false;
                data[RetryAttemptKey(jobId, attempt)] = claim;
                return true;
            }, cancellationToken);

        public Task UpdateClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
            ReplaceAsync(jobId, $"recording attempt {attempt} of {jobId}", data =>
            {
                data[RetryAttemptKey(jobId, attempt)] = claim;
                return true;
            }, cancellationToken);

        public Task ReleaseClaimAsync(string jobId, int attempt, CancellationToken cancellationToken) =>
            ReplaceAsync(jobId, $"releasing attempt {attempt} of {jobId}", data => data.Remove(RetryAttemptKey(jobId, attempt)), cancellationToken);

        // The ledger is inside the record ConfigMap: removing the job removes it.
        public Task RemoveAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>
        /// Read the record, change its data, write it back conditioned on the resourceVersion
        /// read (PUT with metadata.resourceVersion); on 409 Conflict, read again and decide again.
        /// <paramref name="change"/> returns false when there is nothing to write (the answer).
        /// </summary>
        private async Task<bool> ReplaceAsync(string jobId, string operation, Func<IDictionary<string, string>, bool> change, CancellationToken cancellationToken)
        {
            for (var round = 0; ; round++)
            {
                var cm = await ReadRecordAsync(jobId, cancellationToken).ConfigureAwait(false)
                    ?? throw new CcatException(CcatErrorId.JobNotFound, $"The record of job {jobId} is gone: cannot finish {operation}.", jobId);
                cm.Data ??= new Dictionary<string, string>();
                if (!change(cm.Data)) return false;
                try
                {
                    var (ns, name) = Where(jobId);
                    await backend.CallAsync(operation, (c, ct) => c.CoreV1.ReplaceNamespacedConfigMapAsync(cm, name, ns, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
                    return true;
                }
                catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesConflict && round < 50)
                {
                    // Someone changed the record since it was read (a capture, a cancel, another claim): decide again.
                }
            }
        }

        private async Task<V1ConfigMap?> ReadRecordAsync(string jobId, CancellationToken cancellationToken)
        {
            try
            {
                var (ns, name) = Where(jobId);
                return await backend.CallAsync($"reading the record of {jobId}", (c, ct) => c.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
            }
            catch (CcatException e) when (e.ErrorId is CcatErrorId.KubernetesNotFound or CcatErrorId.JobNotFound)
            {
                return null;
            }
        }

        private static RetryLedgerEntry? Entry(string jobId, V1ConfigMap cm) =>
            cm.Data is { } data && data.TryGetValue(RetryPlanKey, out var plan)
                ? new RetryLedgerEntry(plan, RetryLedgerKey.Of(jobId).Claims(data, RetryAttemptKeyPrefix, RetryElementKeyPrefix, RetryElementAttemptKeyPrefix))
                : null;
    }
}
