namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>How the Slurm backend reaches the cluster (SLURM_TRANSPORT).</summary>
public enum SlurmTransportKind
{
    /// <summary>The Slurm client commands on this machine (a login node).</summary>
    Cli,
    /// <summary>The Slurm client commands on a login node over one SSH connection.</summary>
    Ssh,
    /// <summary>Slurm's REST daemon (slurmrestd), with a JWT.</summary>
    Rest,
}

/// <summary>What one submission hands to the transport.</summary>
/// <param name="FolderName">The job folder's name under SLURM_JOB_DIR (fixed before submission).</param>
/// <param name="Folder">The job folder's absolute path on the cluster.</param>
/// <param name="Script">The batch script.</param>
/// <param name="Metadata">The metadata written next to it.</param>
/// <param name="Directives">The sbatch options the script sets (their SBATCH_* overrides are removed).</param>
public sealed record SlurmSubmitRequest(string FolderName, string Folder, string Script, SlurmJobMetadata Metadata, IReadOnlyList<string> Directives)
{
    /// <summary>The job's secret variables: they reach sbatch's environment (which exports them to the job), never a file or an argument list.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Secrets { get; init; } = [];
}

/// <summary>What the controller and the accounting database said about a batch of ids.</summary>
/// <param name="Live">The controller's rows (squeue).</param>
/// <param name="Accounted">The accounting records (sacct); empty when not asked.</param>
/// <param name="AccountingError">Why accounting could not be asked, when it could not (never a failed job).</param>
public sealed record SlurmQueryResult(IReadOnlyList<SqueueJob> Live, IReadOnlyList<SacctJob> Accounted, Errors.CcatException? AccountingError);

/// <summary>
/// The seam between the Slurm backend and the cluster: what the backend needs from Slurm. The
/// backend keeps every rule (status mapping, reasons, metrics, quoting, job folder layout); a
/// transport only carries requests — by local commands or by commands over SSH.
/// Every transport reports "could not be asked" as an error whose
/// <see cref="Errors.CcatException.IsUnavailable"/> is true, never as a job state.
/// </summary>
public interface ISlurmTransport : IAsyncDisposable
{
    /// <summary>Which transport this is.</summary>
    SlurmTransportKind Kind { get; }

    /// <summary>Requests sent to the scheduler so far (commands or HTTP requests; tests and benchmarks count them).</summary>
    int SchedulerCalls { get; }

    /// <summary>The job folders on the cluster.</summary>
    ISlurmJobFiles Files { get; }

    /// <summary>
    /// Writes the job folder, submits its script and links the id to the folder. A refusal is
    /// <c>SubmissionRejected</c> and leaves no folder; an unknown outcome (timeout) keeps it.
    /// </summary>
    Task<string> SubmitAsync(SlurmSubmitRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The controller's view of <paramref name="ids"/> and, when <paramref name="accounting"/>,
    /// the accounting records since <paramref name="since"/> — in as few requests as the
    /// transport allows. The controller not answering throws; accounting not answering is
    /// <see cref="SlurmQueryResult.AccountingError"/>.
    /// </summary>
    Task<SlurmQueryResult> QueryAsync(IReadOnlyList<string> ids, DateTimeOffset since, bool accounting, CancellationToken cancellationToken);

    /// <summary>Accounting records of every job since <paramref name="since"/>, or of <paramref name="ids"/> only.</summary>
    Task<IReadOnlyList<SacctJob>> AccountingAsync(IReadOnlyList<string>? ids, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels <paramref name="ids"/> in one request where possible and returns why each id
    /// that could not be cancelled was not (Slurm's words); ids absent from the answer were cancelled.
    /// Throws when the controller could not be asked at all.
    /// </summary>
    Task<IReadOnlyDictionary<string, string>> CancelAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken);

    /// <summary>Where the controller says a job writes its output and error; null when it no longer holds the job.</summary>
    Task<(string Stdout, string Stderr)?> ControllerLogPathsAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>The cluster's partition names (for completion: read-only); empty when this transport cannot list them.</summary>
    Task<IReadOnlyList<string>> PartitionsAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);
}
