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
/// never seen half written. Files are 0600, like everything else in the folder.
/// </summary>
internal sealed class FileRetryLedger(Func<string, string> folderOf, string what) : IRetryLedger
{
    /// <summary>The plan's file name.</summary>
    public const string PlanFile = "retry-plan.json";

    private const string ClaimPrefix = "retry-attempt-", ClaimSuffix = ".json";

    /// <summary>The file of attempt <paramref name="attempt"/>'s claim.</summary>
    public static string ClaimFile(int attempt) => ClaimPrefix + attempt.ToString(CultureInfo.InvariantCulture) + ClaimSuffix;

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
            foreach (var id in jobIds)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var folder = Folder(id);
                if (SafeFile.ReadCappedText(Path.Combine(folder, PlanFile)) is not { } plan) continue;
                var claims = new Dictionary<int, string>();
                foreach (var file in Directory.EnumerateFiles(folder, ClaimPrefix + "*" + ClaimSuffix))
                {
                    var name = Path.GetFileName(file);
                    if (int.TryParse(name.AsSpan(ClaimPrefix.Length, name.Length - ClaimPrefix.Length - ClaimSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    {
                        claims[n] = SafeFile.ReadCappedText(file) ?? "";
                    }
                }

                found[id] = new RetryLedgerEntry(plan, claims);
            }

            return found;
        });

    public Task<bool> TryClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"claim attempt {attempt}", () => AtomicFile.CreateNew(Path.Combine(Folder(jobId), ClaimFile(attempt)), claim));

    public Task UpdateClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        Guard(jobId, $"record attempt {attempt}", () =>
        {
            AtomicFile.Replace(Path.Combine(Folder(jobId), ClaimFile(attempt)), claim);
            return true;
        });

    public Task ReleaseClaimAsync(string jobId, int attempt, CancellationToken cancellationToken) =>
        Guard(jobId, $"release attempt {attempt}", () =>
        {
            File.Delete(Path.Combine(Folder(jobId), ClaimFile(attempt)));
            return true;
        });

    // The files are inside the job's folder: removing the job removes them.
    public Task RemoveAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) => Task.CompletedTask;

    private string Folder(string jobId) => folderOf(jobId);

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
