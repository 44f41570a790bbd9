using System.Management.Automation;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Cancels jobs on their backend; they then read failed, reason Cancelled.</para>
/// <para type="description">Cancels each job on its backend (scancel, a Kubernetes Job delete with background propagation, or TERM then KILL of a Local job's whole process tree). A cancelled job afterwards reads failed with reason Cancelled. Cancelling a job that has already finished is not an error. With -PassThru, writes each job's status after the cancel.</para>
/// </summary>
/// <example>
/// <code>Get-CcatJob -Name 'calib-*' -Status Running | Stop-CcatJob -PassThru</code>
/// <para>Cancels every running job whose name starts with calib- and shows their state afterwards (failed, reason Cancelled).</para>
/// </example>
/// <example>
/// <code>Stop-CcatJob -JobId 123456 -Backend Slurm -WhatIf</code>
/// <para>Shows what would be cancelled, without cancelling.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Stop, "CcatJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByIdSet, HelpUri = HelpLinks.Online)]
[OutputType(typeof(HPCJobInfo))]
public sealed class StopCcatJobCommand : JobCmdlet
{
    /// <summary>Write each job's status after cancelling it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // ShouldProcess on the pipeline thread, for each job, before any backend is asked.
        var confirmed = Targets.Where(t => ShouldProcess($"job '{t.JobId}' on {t.Backend}", "Cancel")).ToList();
        var cancelled = new List<JobTarget>();
        foreach (var group in confirmed.GroupBy(t => t.Backend))
        {
            var backend = GetBackend(group.Key);
            var list = group.ToList();
            try
            {
                var ids = list.Select(t => t.JobId).ToList();
                var results = RunSync(ct => backend.CancelJobsAsync(ids, ct)).ToDictionary(r => r.JobId, StringComparer.Ordinal);
                foreach (var t in list)
                {
                    if (!results.TryGetValue(t.JobId, out var r))
                    {
                        // Same rule as a status batch: no answer for a job is not a success.
                        WriteCcatError(new CcatException(CcatErrorId.JobNotFound, $"The {backend.Kind} backend returned nothing for job '{t.JobId}'.", t.JobId), t.Target);
                    }
                    else if (r.Error is { } error)
                    {
                        WriteCcatError(error, t.Target);
                    }
                    else
                    {
                        cancelled.Add(t);
                    }
                }
            }
            catch (CcatException ex)
            {
                foreach (var t in list)
                {
                    WriteCcatError(ex, t.Target);
                }
            }
        }

        if (!PassThru || cancelled.Count == 0) return;
        var outcome = QueryStatuses(cancelled);
        foreach (var t in cancelled)
        {
            var (info, error) = outcome[t];
            if (info is null) WriteCcatError(error!, t.Target);
            else if (ArrayElements.TryGetValue(t, out var elements)) WriteObject(elements, enumerateCollection: true); // an array: each element
            else WriteObject(info);
        }
    }
}
