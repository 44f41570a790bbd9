namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>What removing one job's folder (Remove-CcatJob) came to.</summary>
public enum SlurmFolderRemovalOutcome
{
    /// <summary>The by-id link and the folder are gone.</summary>
    Removed,
    /// <summary>No by-id link to one of the module's folder names: the module did not submit the job here.</summary>
    NotFound,
    /// <summary>The link leads somewhere that is not a folder the module made (outside SLURM_JOB_DIR, a link, another owner, no tagged job.json): nothing removed.</summary>
    NotOurs,
    /// <summary>The checks passed but deleting failed (<see cref="SlurmFolderRemoval.Detail"/> says why).</summary>
    Failed,
    /// <summary>This transport cannot remove job folders: nothing removed.</summary>
    Unsupported,
}

/// <summary>What removing one job's folder came to, and which folder it was.</summary>
/// <param name="Outcome">The outcome.</param>
/// <param name="Folder">The folder the link led to, when there was one.</param>
/// <param name="Detail">Why deleting failed, or why the transport cannot remove.</param>
public sealed record SlurmFolderRemoval(SlurmFolderRemovalOutcome Outcome, string? Folder = null, string? Detail = null);
