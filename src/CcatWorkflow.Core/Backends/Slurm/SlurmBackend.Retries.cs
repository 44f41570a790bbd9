using CcatWorkflow.Core.Retries;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Retry policies on Slurm: the ledger is in the job's folder on the shared file system
/// (<c>SLURM_JOB_DIR/&lt;id&gt;/retry-*.json</c>), claims are exclusive creates there, so
/// submitting hosts that share the folder agree on one attempt per failure. Over a remote
/// transport (ssh) the folder is not on this machine and retry policies are refused.
/// </summary>
public sealed partial class SlurmBackend
{
    private IRetryLedger? _retryLedger;

    /// <inheritdoc />
    protected override IRetryLedger? RetryLedger =>
        Transport.Files is LocalSlurmJobFiles
            ? _retryLedger ??= new FileRetryLedger(id => SlurmJobFolder.Join(Options.JobDirectory, id), $"Slurm job directory {Options.JobDirectory}")
            : null;

    /// <inheritdoc />
    /// <remarks>Slurm takes memory in whole MiB and time limits in whole minutes.</remarks>
    protected override RetryRounding RetryRounding { get; } = new(1.0 / 1024, 1.0 / 60);
}
