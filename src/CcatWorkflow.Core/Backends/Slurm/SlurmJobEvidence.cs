using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>Everything known about one job id after one batch query, before it is decided.</summary>
public sealed record SlurmJobEvidence
{
    /// <summary>The id asked about.</summary>
    public required string JobId { get; init; }

    /// <summary>The job's folder when the module submitted it (identity and submit time).</summary>
    public SlurmJobFolder? Folder { get; init; }

    /// <summary>The job name the caller gave (from the folder's metadata).</summary>
    public string? JobName { get; init; }

    /// <summary>squeue's row, already checked to be this job.</summary>
    public SqueueJob? Squeue { get; init; }

    /// <summary>sacct's record, already checked to be this job (not an older job with a reused id).</summary>
    public SacctJob? Sacct { get; init; }

    /// <summary>Why sacct could not be asked, when it could not.</summary>
    public CcatException? AccountingError { get; init; }

    /// <summary>True when this process cancelled the job (Slurm may still be ending it).</summary>
    public bool CancelRequested { get; init; }

    /// <summary>What the previous query in this process said about the job.</summary>
    public HPCJobInfo? LastKnown { get; init; }

    /// <summary>
    /// True when the module submitted the job with a dependency (from its folder's metadata): a
    /// plain <c>CANCELLED</c> that never started is then Slurm's <c>--kill-on-invalid-dep</c>.
    /// </summary>
    public bool HasDependency { get; init; }

    /// <summary>
    /// For an array element neither squeue nor sacct lists: true when sacct does list other
    /// elements of its array, so the element is not merely too new to be accounted for.
    /// </summary>
    public bool ArrayHasOtherRecords { get; init; }
}
