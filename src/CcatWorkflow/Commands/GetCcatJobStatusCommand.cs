using System.Management.Automation;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Gets the status and metrics of jobs.</para>
/// <para type="description">Takes job ids (with -Backend) or HPCJobInfo objects from the pipeline. All the jobs of one call are asked about in one batch call per backend, so piping hundreds of jobs costs a few scheduler round trips, not one per job. A backend that cannot be asked is reported as SchedulerUnavailable or StoreUnavailable for each job, never as a failed job.</para>
/// </summary>
/// <example>
/// <code>Get-CcatJobStatus -JobId 123456, 123457 -Backend Slurm</code>
/// <para>Gets the status and metrics of two Slurm jobs in one batch call.</para>
/// </example>
/// <example>
/// <code>Get-CcatJob -Backend Local | Get-CcatJobStatus | Where-Object Status -eq Failed</code>
/// <para>Refreshes every listed job and keeps the failed ones.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "CcatJobStatus", DefaultParameterSetName = ByIdSet, HelpUri = HelpLinks.Online)]
[OutputType(typeof(HPCJobInfo))]
public sealed class GetCcatJobStatusCommand : JobCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var outcome = QueryStatuses(Targets);
        foreach (var t in Targets)
        {
            var (info, error) = outcome[t];
            if (info is not null)
            {
                // An array's id means all its elements: one record each.
                if (ArrayElements.TryGetValue(t, out var elements)) WriteObject(elements, enumerateCollection: true);
                else WriteObject(info);
            }
            else
            {
                WriteCcatError(error!, t.Target);
            }
        }
    }
}
