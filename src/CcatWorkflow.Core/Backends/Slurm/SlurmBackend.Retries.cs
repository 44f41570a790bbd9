using System.Globalization;
using CcatWorkflow.Core.Retries;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Retry policies on Slurm: the ledger is in the job's folder on the shared file system
/// (<c>SLURM_JOB_DIR/&lt;id&gt;/retry-*.json</c>), claims are exclusive creates there, so
/// submitting hosts that share the folder agree on one attempt per failure. Over a remote
/// transport (ssh) the folder is not on this machine and retry policies are refused. An array
/// element's claims are in its array's folder (<c>retry-element-&lt;index&gt;-attempt-&lt;n&gt;.json</c>);
/// its later attempts are single jobs that see the element's index in <c>CCAT_ARRAY_INDEX</c>
/// and <c>SLURM_ARRAY_TASK_ID</c>.
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

    /// <inheritdoc />
    /// <remarks>A retried element's command may read its index from Slurm's own variable too.</remarks>
    protected override IReadOnlyList<KeyValuePair<string, string>> ElementAttemptEnvironment(string arrayId, int index) =>
        [.. base.ElementAttemptEnvironment(arrayId, index), new("SLURM_ARRAY_TASK_ID", index.ToString(CultureInfo.InvariantCulture))];
}
