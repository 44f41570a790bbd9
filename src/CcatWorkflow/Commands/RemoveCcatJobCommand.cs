using System.Management.Automation;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Removes finished jobs and everything the module keeps of them.</para>
/// <para type="description">Removes each finished job's record and files: on Local its job directory and its record in the job store (file or Redis); on Slurm its job folder under SLURM_JOB_DIR and the by-id link (Slurm's own accounting record stays: it is the cluster's); on Kubernetes the Job if it is still there, its record ConfigMap and its captured-log ConfigMap. Only what carries the module's marks is removed (the job directory's job.json, the Slurm folder's tag, the ccat-workflow labels); anything else is refused with NotOwnedByModule and left alone. A job that has not finished is refused with JobStillRunning unless -Force, which cancels it first; cancelling and removing a running job is a high-impact action and asks for confirmation unless -Confirm:$false. -WhatIf removes nothing.</para>
/// </summary>
/// <example>
/// <code>Get-CcatJob -OlderThan 30d | Remove-CcatJob</code>
/// <para>The cleanup routine: removes every job of the configured backend that ended more than 30 days ago.</para>
/// </example>
/// <example>
/// <code>Get-CcatJob -Name 'calib-*' | Remove-CcatJob -WhatIf</code>
/// <para>Shows what would be removed, without removing anything.</para>
/// </example>
/// <example>
/// <code>Remove-CcatJob -JobId 123456 -Backend Slurm -Force -Confirm:$false</code>
/// <para>Cancels the job if it still runs, then removes its folder, without asking.</para>
/// </example>
[Cmdlet(VerbsCommon.Remove, "CcatJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByIdSet)]
[OutputType(typeof(HPCJobInfo))]
public sealed class RemoveCcatJobCommand : JobCmdlet
{
    /// <summary>Cancel jobs that have not finished, then remove them (otherwise they are refused).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write each removed job as it was before removal.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var statuses = QueryStatuses(Targets);
        var confirmed = new List<(JobTarget Target, bool Unfinished)>();
        bool yesToAll = false, noToAll = false;
        foreach (var t in Targets)
        {
            var (info, error) = statuses[t];
            if (info is null)
            {
                WriteCcatError(error!, t.Target);
                continue;
            }

            if (info.IsFinished)
            {
                if (ShouldProcess($"job '{t.JobId}' on {t.Backend} ({info.Status.ToString().ToLowerInvariant()}): its record and files", "Remove"))
                {
                    confirmed.Add((t, false));
                }

                continue;
            }

            if (!Force)
            {
                WriteCcatError(new CcatException(CcatErrorId.JobStillRunning,
                    $"Job '{t.JobId}' on {t.Backend} is {info.Status.ToString().ToLowerInvariant()}: it is not removed. -Force cancels it first, then removes it.", t.JobId), t.Target);
                continue;
            }

            if (ShouldProcess($"job '{t.JobId}' on {t.Backend} ({info.Status.ToString().ToLowerInvariant()}): cancel it, then remove its record and files", "Cancel and remove")
                && ConfirmHighImpact(t, info, ref yesToAll, ref noToAll))
            {
                confirmed.Add((t, true));
            }
        }

        foreach (var group in confirmed.GroupBy(c => (c.Target.Backend, c.Unfinished)))
        {
            Remove(group.Key.Backend, group.Select(c => c.Target).ToList(), cancelUnfinished: group.Key.Unfinished);
        }
    }

    // Cancelling a running job and deleting its files cannot be undone: it is confirmed as a
    // high-impact action ($ConfirmPreference High, the default, asks) unless -Confirm was given
    // either way (-Confirm already asked through ShouldProcess; -Confirm:$false means do not ask).
    private bool ConfirmHighImpact(JobTarget t, HPCJobInfo info, ref bool yesToAll, ref bool noToAll)
    {
        if (MyInvocation.BoundParameters.ContainsKey("Confirm")) return true;
        if (GetVariableValue("ConfirmPreference") is ConfirmImpact preference && preference == ConfirmImpact.None) return true;
        return ShouldContinue(
            $"Job '{t.JobId}' on {t.Backend} is {info.Status.ToString().ToLowerInvariant()}. Cancel it and remove its record and files?",
            "Cancel and remove a running job", ref yesToAll, ref noToAll);
    }

    private void Remove(HPCBackendKind kind, List<JobTarget> targets, bool cancelUnfinished)
    {
        var backend = GetBackend(kind);
        try
        {
            var ids = targets.Select(t => t.JobId).ToList();
            var results = RunSync(ct => backend.RemoveJobsAsync(ids, cancelUnfinished, ct)).ToDictionary(r => r.JobId, StringComparer.Ordinal);
            foreach (var t in targets)
            {
                if (!results.TryGetValue(t.JobId, out var r))
                {
                    WriteCcatError(new CcatException(CcatErrorId.RemoveFailed, $"The {kind} backend returned nothing for job '{t.JobId}'.", t.JobId), t.Target);
                }
                else if (r.Error is { } error)
                {
                    WriteCcatError(error, t.Target);
                }
                else if (PassThru && r.Info is { } removed)
                {
                    WriteObject(removed);
                }
            }
        }
        catch (CcatException ex)
        {
            foreach (var t in targets)
            {
                WriteCcatError(ex, t.Target);
            }
        }
    }
}
