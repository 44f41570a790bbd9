using CcatWorkflow.Core.Retries;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>Retry policies on Local: the ledger lives where the job's record does (docs/retries.md).</summary>
public sealed partial class LocalBackend
{
    private readonly IRetryLedger _retryLedger;

    /// <inheritdoc />
    protected override IRetryLedger? RetryLedger => _retryLedger;

    // The Redis store guards claims with HSETNX on the job's retry hash; the file store (and any
    // other) with an exclusive create in the job's folder under LOCAL_JOB_DIR.
    private static IRetryLedger CreateRetryLedger(ILocalJobStore store, LocalBackendOptions options) =>
        store as IRetryLedger ?? new FileRetryLedger(id => Path.Combine(options.JobRoot, id), $"file store {options.JobRoot}");
}
