using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Job folders on a remote login node that write a job's folder, run sbatch on its script and
/// link the id to the folder in one request: over SSH each request (an exec channel) costs a
/// round trip of 250–370 ms, so a submission costs one instead of three. The no-half-submission
/// rule is the same as <see cref="SlurmCommandTransport.SubmitAsync"/>'s: a folder whose sbatch
/// printed no job id is deleted in the same request.
/// </summary>
public interface ISlurmSubmittingJobFiles : ISlurmJobFiles
{
    /// <summary>
    /// Writes the folder of <paramref name="request"/> (0700, files 0600), runs <paramref name="sbatch"/>
    /// and links the id it printed (by <see cref="SlurmJobId.ParseSbatchOutput"/>'s rule) to the
    /// folder, or deletes the folder when it printed none. Returns sbatch's result. A folder that
    /// cannot be written throws <c>InvalidConfiguration</c> naming SLURM_JOB_DIR (sbatch did not run);
    /// a request that runs past <paramref name="timeout"/> throws with an inner <see cref="TimeoutException"/>.
    /// </summary>
    Task<CommandResult> PrepareSubmitAndLinkAsync(SlurmSubmitRequest request, SlurmCommandLine sbatch, TimeSpan timeout, CancellationToken cancellationToken);
}
