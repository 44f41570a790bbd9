using System.Globalization;
using CcatWorkflow.Core.Backends.Slurm.Ssh;
using CcatWorkflow.Core.Retries;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Retry policies on Slurm: the ledger is in the job's folder (<c>SLURM_JOB_DIR/&lt;id&gt;/retry-*.json</c>),
/// claims are exclusive creates there, made where the folder is: on this machine's (shared)
/// file system for the cli transport and for rest with a shared folder, on the cluster by one
/// remote command for ssh and for rest with a login node (<see cref="SshRetryLedger"/>) — so
/// every host that submits to the cluster agrees on one attempt per failure. Only rest without
/// any way to the folders refuses retry policies. An array element's claims are in its array's
/// folder (<c>retry-element-&lt;index&gt;-attempt-&lt;n&gt;.json</c>); its later attempts are
/// single jobs that see the element's index in <c>CCAT_ARRAY_INDEX</c> and <c>SLURM_ARRAY_TASK_ID</c>.
/// </summary>
public sealed partial class SlurmBackend
{
    private IRetryLedger? _retryLedger;

    /// <inheritdoc />
    protected override IRetryLedger? RetryLedger => _retryLedger ??= Transport.Files switch
    {
        LocalSlurmJobFiles => new FileRetryLedger(id => SlurmJobFolder.Join(Options.JobDirectory, id), $"Slurm job directory {Options.JobDirectory}"),
        SshSlurmJobFiles ssh => new SshRetryLedger(ssh.Connection, ssh.Root),
        _ => null,
    };

    /// <inheritdoc />
    protected override string? RetriesUnsupportedWhy => Transport.Files is Rest.NoSlurmJobFiles none
        ? "The attempts are claimed in the job's folder, and " + none.Why
        : null;

    /// <inheritdoc />
    /// <remarks>Slurm takes memory in whole MiB and time limits in whole minutes.</remarks>
    protected override RetryRounding RetryRounding { get; } = new(1.0 / 1024, 1.0 / 60);

    /// <inheritdoc />
    /// <remarks>A retried element's command may read its index from Slurm's own variable too.</remarks>
    protected override IReadOnlyList<KeyValuePair<string, string>> ElementAttemptEnvironment(string arrayId, int index) =>
        [.. base.ElementAttemptEnvironment(arrayId, index), new("SLURM_ARRAY_TASK_ID", index.ToString(CultureInfo.InvariantCulture))];
}
