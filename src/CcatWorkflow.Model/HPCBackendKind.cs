namespace CcatWorkflow;

/// <summary>The three backends behind the <c>HPCBackend</c> interface.</summary>
public enum HPCBackendKind
{
    /// <summary>Production HPC batch jobs through sbatch, squeue, sacct and scancel.</summary>
    Slurm,
    /// <summary>Kubernetes Jobs (the staging site).</summary>
    Kubernetes,
    /// <summary>A process on this machine, tracked in a file or Redis job store.</summary>
    Local,
}
