namespace CcatWorkflow.Core.Retries;

/// <summary>
/// Primitive of a backend that runs retry policies: where a retried job's plan and its attempt
/// claims live, next to the job's own record (Local: the job folder or the Redis store; Slurm:
/// the shared job folder; Kubernetes: the record ConfigMap). Texts are opaque to the ledger
/// (JSON made by the shared layer, <see cref="RetryPlan"/> and <see cref="RetryClaim"/>).
/// Every method throws a <see cref="Errors.CcatException"/> whose <c>IsUnavailable</c> is true
/// when the store cannot be asked.
/// </summary>
public interface IRetryLedger
{
    /// <summary>Records the plan (policy and submission) of a job just submitted under a retry policy.</summary>
    Task WritePlanAsync(string jobId, string plan, CancellationToken cancellationToken);

    /// <summary>The plans and claims of the jobs among <paramref name="jobIds"/> that have a plan; jobs without one are left out.</summary>
    Task<IReadOnlyDictionary<string, RetryLedgerEntry>> ReadAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken);

    /// <summary>
    /// Claims attempt <paramref name="attempt"/> of <paramref name="jobId"/> with
    /// <paramref name="claim"/>, exclusively: true for exactly one caller however many try at
    /// once (in any process or on any host sharing the store), false for the others. This is the
    /// one guard that makes a failure start exactly one new attempt.
    /// </summary>
    Task<bool> TryClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken);

    /// <summary>Replaces the text of a claim this caller won (the new attempt's id once submitted).</summary>
    Task UpdateClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken);

    /// <summary>Gives up a claim this caller won but could not act on (the scheduler could not be asked), so a later observer can claim it.</summary>
    Task ReleaseClaimAsync(string jobId, int attempt, CancellationToken cancellationToken);

    /// <summary>Removes what the ledger keeps of jobs outside their own records (Remove-CcatJob); nothing when it lives inside them.</summary>
    Task RemoveAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken);
}

/// <summary>What a ledger holds for one job.</summary>
/// <param name="Plan">The plan text.</param>
/// <param name="Claims">The claim texts by attempt number (2 and up).</param>
public sealed record RetryLedgerEntry(string Plan, IReadOnlyDictionary<int, string> Claims);
