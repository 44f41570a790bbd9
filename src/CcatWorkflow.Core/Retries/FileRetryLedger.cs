using System.Globalization;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Retries;

/// <summary>
/// The retry ledger in a job's own folder (the Local file store's job folder, the Slurm job
/// folder on the shared file system): <c>retry-plan.json</c> and one
/// <c>retry-attempt-&lt;n&gt;.json</c> per claimed attempt. A claim is an exclusive create of its
/// file — a whole temporary file hard-linked into place (<see cref="AtomicFile.CreateNew"/>),
/// which fails with EEXIST for every caller but one, on a local disk and on NFS alike, and is
/// never seen half written. Files are 0600, like everything else in the folder. An array
/// element's claims are in its array's folder, <c>retry-element-&lt;index&gt;-attempt-&lt;n&gt;.json</c>,
/// under the array's plan (<see cref="RetryLedgerKey"/>).
/// </summary>
internal sealed class FileRetryLedger(Func<string, string> folderOf, string what) : IRetryLedger
{
    /// <summary>The plan's file name.</summary>
    public const string PlanFile = "retry-plan.json";

    private const string ClaimPrefix = "retry-attempt-", ElementPrefix = "retry-element-", ElementAttemptPrefix = "-attempt-", ClaimSuffix = ".json";

    /// <summary>The file of attempt <paramref name="attempt"/>'s claim.</summary>
    public static string ClaimFile(int attempt) => ClaimPrefix + attempt.ToString(CultureInfo.InvariantCulture) + ClaimSuffix;

    /// <summary>The file of attempt <paramref name="attempt"/>'s claim of <paramref name="jobId"/> (a job, or an array element: in its array's folder).</summary>
    public static string ClaimFile(string jobId, int attempt) => RetryLedgerKey.Of(jobId).ClaimName(ClaimPrefix, ElementPrefix, ElementAttemptPrefix, attempt) + ClaimSuffix;

    /// <summary>The claims of <paramref name="jobId"/> among the files (name, text) of its ledger's folder, by attempt (the same names over SSH).</summary>
    public static Dictionary<int, string> ClaimsOf(string jobId, IEnumerable<KeyValuePair<string, string>> files) =>
        RetryLedgerKey.Of(jobId).Claims(files, ClaimPrefix, ElementPrefix, ElementAttemptPrefix, ClaimSuffix);

    public Task WritePlanAsync(string jobId, string plan, CancellationToken cancellationToken) =>
        Guard(jobId, "record the retry plan", () =>
        {
            AtomicFile.Replace(Path.Combine(Folder(jobId), PlanFile), plan);
            return true;
        });

    public Task<IReadOnlyDictionary<string, RetryLedgerEntry>> ReadAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
        Guard<IReadOnlyDictionary<string, RetryLedgerEntry>>(null, "read retry plans", () =>
        {
            var found = new Dictionary<string, RetryLedgerEntry>(StringComparer.Ordinal);
            // The elements of one array share its folder and plan: each folder is read once.
            foreach (var owner in jobIds.GroupBy(id => RetryLedgerKey.Of(id).OwnerId, StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var folder = Folder(owner.Key);
                if (SafeFile.ReadCappedText(Path.Combine(folder, PlanFile)) is not { } plan) continue;
                var files = Directory.EnumerateFiles(folder, "retry-*" + ClaimSuffix).Select(Path.GetFileName).OfType<string>().ToList();
                foreach (var id in owner)
                {
                    var key = RetryLedgerKey.Of(id);
                    var mine = key.Claims(files.Select(f => new KeyValuePair<string, string>(f, f)), ClaimPrefix, ElementPrefix, ElementAttemptPrefix, ClaimSuffix);
                    found[id] = new RetryLedgerEntry(plan, mine.ToDictionary(kv => kv.Key, kv => SafeFile.ReadCappedText(Path.Combine(folder, kv.Value)) ?? ""));
                }
            }

            return found;
        });

    public Task<bool> TryClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"claim attempt {attempt}", () => AtomicFile.CreateNew(Path.Combine(Folder(jobId), ClaimFile(jobId, attempt)), claim));

    public Task UpdateClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"record attempt {attempt}", () =>
        {
            AtomicFile.Replace(Path.Combine(Folder(jobId), ClaimFile(jobId, attempt)), claim);
            return true;
        });

    public Task ReleaseClaimAsync(string jobId, int attempt, CancellationToken cancellationToken) =>
        Guard(jobId, $"release attempt {attempt}", () =>
        {
            File.Delete(Path.Combine(Folder(jobId), ClaimFile(jobId, attempt)));
            return true;
        });

    // The files are inside the job's folder: removing the job removes them.
    public Task RemoveAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) => Task.CompletedTask;

    // An element's claims are in its array's folder.
    private string Folder(string jobId) => folderOf(RetryLedgerKey.Of(jobId).OwnerId);

    private Task<T> Guard<T>(string? jobId, string operation, Func<T> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (DirectoryNotFoundException) when (jobId is not null)
        {
            throw new CcatException(CcatErrorId.JobNotFound, $"The folder of job {jobId} is gone: cannot {operation}.", jobId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable, $"The {what} could not {operation}{(jobId is null ? "" : $" of job {jobId}")}: {e.Message}", jobId, e);
        }
    }
}
