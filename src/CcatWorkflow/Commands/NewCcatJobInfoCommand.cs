using System.Management.Automation;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Builds a job record (HPCJobInfo) from named values, for tests and mocks of runbooks.</para>
/// <para type="description">Creates the same HPCJobInfo object the other cmdlets return, without asking any backend: a Pester test of a runbook mocks Submit-CcatJob, Wait-CcatJob or Get-CcatJobStatus with it (Mock Wait-CcatJob { New-CcatJobInfo -JobId 42 -Backend Slurm -Status Failed -ExitCode 3 }). Every value but -JobId is optional; unset metrics stay null, as for a job whose metrics were not measured.</para>
/// </summary>
/// <example>
/// <code>New-CcatJobInfo -JobId 42 -Backend Slurm -Status Failed -Reason NonZeroExit -ExitCode 3 -JobName calib-scan-42</code>
/// <para>A failed Slurm job record, as Wait-CcatJob would return it.</para>
/// </example>
/// <example>
/// <code>Mock Wait-CcatJob { New-CcatJobInfo -JobId $JobId[0] -Backend Local -Status Completed -ExitCode 0 } -ModuleName CcatWorkflow</code>
/// <para>In a Pester test: each job piped to Wait-CcatJob binds to -JobId and -Backend by property name, so the mock reads $JobId, and runs once per piped job.</para>
/// </example>
[Cmdlet(VerbsCommon.New, "CcatJobInfo", HelpUri = HelpLinks.Online)]
[OutputType(typeof(HPCJobInfo))]
public sealed class NewCcatJobInfoCommand : PSCmdlet
{
    /// <summary>The backend-specific job id.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string JobId { get; set; } = "";

    /// <summary>The backend that owns the job; default Local.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public HPCBackendKind Backend { get; set; } = HPCBackendKind.Local;

    /// <summary>Pending, Running, Completed or Failed; default Completed.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public HPCJobStatus Status { get; set; } = HPCJobStatus.Completed;

    /// <summary>The job name.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? JobName { get; set; }

    /// <summary>Why the job is in its state (for example NonZeroExit, Cancelled, Timeout); default None.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public HPCJobReason Reason { get; set; } = HPCJobReason.None;

    /// <summary>The command's exit code.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? ExitCode { get; set; }

    /// <summary>Elapsed run time in seconds.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double? WallTimeSeconds { get; set; }

    /// <summary>CPU time used, in hours.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double? CpuHours { get; set; }

    /// <summary>Peak resident memory in GiB.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double? PeakMemoryGb { get; set; }

    /// <summary>The backend's own state word.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? NativeState { get; set; }

    /// <summary>When the backend accepted the job.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DateTimeOffset? SubmittedAt { get; set; }

    /// <summary>When the job started.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the job ended.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>A detail from the backend.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Message { get; set; }

    /// <summary>Core-hours allocated.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double? AllocatedCpuHours { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() =>
        WriteObject(new HPCJobInfo(JobId, Backend, Status, JobName, ExitCode, WallTimeSeconds, CpuHours, PeakMemoryGb,
            Reason, NativeState, SubmittedAt, StartedAt, FinishedAt, Message, AllocatedCpuHours));
}
