using System.Management.Automation;
using CcatWorkflow.Core.Efficiency;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Reports how much of what jobs asked for they used, and what to ask for next time.</para>
/// <para type="description">For each job: CPU efficiency (CpuHours / (CPUs × wall hours), the CPUs being the request, else what the backend allocated), memory efficiency (peak / requested memory) and time used (wall time / time limit), each with a verdict: OverAsked (below 50 %), Fine, or AtLimit (90 % or more, or the job was ended for that resource). A figure with nothing to compare against (no request, nothing measured) is empty. With -Summary, one row per resource over the finished jobs: median and 95th percentile of what was used and of the efficiency, how many jobs were over-asked or at the limit, and a suggested request — the 95th percentile × 1.2, rounded up to what the schedulers take (whole CPUs without margin, 256 MiB, whole minutes), never below the largest request of a job that hit its limit × 1.2. ResourceKey names the -Resources key the suggestion is for.</para>
/// </summary>
/// <example>
/// <code>Get-CcatJob -Name 'calib-*' | Measure-CcatJob -Summary</code>
/// <para>Sizes the next calibration campaign from the last one.</para>
/// </example>
/// <example>
/// <code>$s = Get-CcatJob -Name 'calib-*' | Measure-CcatJob -Summary; $r = @{}; $s | ForEach-Object { $r[$_.ResourceKey] = $_.SuggestedRequest }; Submit-CcatJob -ExecutionCommand 'calibrate --scan 7' -JobName calib-7 -Resources $r</code>
/// <para>Submits the next job with the suggested requests.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "CcatJob", DefaultParameterSetName = ByIdSet)]
[OutputType(typeof(JobEfficiency), typeof(JobEfficiencySummary))]
public sealed class MeasureCcatJobCommand : JobCmdlet
{
    /// <summary>One row per resource over all the jobs instead of one object per job.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // A finished job piped in will not change: it is measured as given; the others are asked for.
        var stale = Targets.Where(t => t.Target is not HPCJobInfo { IsFinished: true }).ToList();
        var outcome = QueryStatuses(stale);
        var measured = new List<JobEfficiency>();
        foreach (var t in Targets)
        {
            HPCJobInfo? info;
            if (t.Target is HPCJobInfo { IsFinished: true } given) info = given;
            else
            {
                var (fresh, error) = outcome[t];
                if (fresh is null)
                {
                    WriteCcatError(error!, t.Target);
                    continue;
                }

                info = fresh;
            }

            var m = JobEfficiencyCalculator.Measure(info);
            if (Summary) measured.Add(m);
            else WriteObject(m);
        }

        if (!Summary) return;
        foreach (var row in JobEfficiencyCalculator.Summarize(measured))
        {
            WriteObject(row);
        }
    }
}
