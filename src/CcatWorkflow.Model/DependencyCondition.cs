namespace CcatWorkflow;

/// <summary>
/// When a job submitted with <c>-DependsOn</c> may start, given how the jobs it depends on
/// ended. A dependency on a job array means all of its elements.
/// </summary>
public enum DependencyCondition
{
    /// <summary>After every parent completed successfully (Slurm <c>afterok</c>). The default.</summary>
    AfterOk,
    /// <summary>After every parent finished, however it ended (Slurm <c>afterany</c>).</summary>
    AfterAny,
    /// <summary>After the parents finished and failed (Slurm <c>afternotok</c>): a clean-up or report step.</summary>
    AfterNotOk,
}
