#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs a calibration campaign: submits one job per scan, waits for all of them, reports the
    failures with the end of their logs, and exits with a code a scheduler (cron, systemd,
    Airflow) can act on.
.DESCRIPTION
    Exit codes:
      0  every job completed
      1  at least one job failed (its log tail is written as a warning)
      2  at least one job did not finish within -TimeoutSeconds, or its state could not be read
      3  a job could not be submitted
.EXAMPLE
    ./Invoke-Calibration.ps1 -Scan 101, 102, 103 -Backend Slurm -TimeoutSeconds 7200
.EXAMPLE
    ./Invoke-Calibration.ps1 -Scan 101 -WhatIf
    Shows what would be submitted; submits nothing.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # The scans to calibrate; one job each.
    [Parameter(Mandatory)] [string[]] $Scan,
    # The command line of one job; {0} is the scan.
    [string] $Command = 'calibrate --scan {0}',
    # The backend; default: the configured HPC_BACKEND.
    [string] $Backend,
    # How long to wait for the whole campaign.
    [int] $TimeoutSeconds = 3600,
    # How many lines of each failed job's standard error to report.
    [int] $LogTail = 20
)

Import-Module CcatWorkflow -ErrorAction Stop
$backendArgs = if ($Backend) { @{ Backend = $Backend } } else { @{} }

# Submit: one row per scan, bound by property name (ExecutionCommand, JobName).
$submitErrors = $null
$jobs = @($Scan | ForEach-Object { [pscustomobject]@{ ExecutionCommand = $Command -f $_; JobName = "calib-$_" } } |
        Submit-CcatJob @backendArgs -ErrorAction SilentlyContinue -ErrorVariable submitErrors)
foreach ($e in $submitErrors) { Write-Warning "Not submitted: $($e.Exception.Message)" }
if ($WhatIfPreference) { exit 0 }
if ($jobs.Count -eq 0) { exit 3 }

# Wait: each job is written out as it finishes; a timeout or an unreadable state is an error record.
$waitErrors = $null
$done = @($jobs | Wait-CcatJob -Timeout $TimeoutSeconds -ErrorAction SilentlyContinue -ErrorVariable waitErrors)
foreach ($e in $waitErrors) { Write-Warning "Unfinished: $($e.Exception.Message)" }

# Report: every failed job with the end of its standard error.
$failed = @($done | Where-Object Status -EQ 'Failed')
foreach ($job in $failed) {
    Write-Warning "$($job.JobName) ($($job.Backend) $($job.JobId)) failed: $($job.Reason), exit code $($job.ExitCode)"
    $job | Get-CcatJobLog -Stream Error -Tail $LogTail -ErrorAction SilentlyContinue | ForEach-Object { Write-Warning "    $_" }
}

[pscustomobject]@{
    Submitted = $jobs.Count
    Completed = @($done | Where-Object Status -EQ 'Completed').Count
    Failed    = $failed.Count
    Unknown   = $jobs.Count - $done.Count
}

$code = if ($submitErrors) { 3 } elseif ($waitErrors -or $done.Count -lt $jobs.Count) { 2 } elseif ($failed) { 1 } else { 0 }
exit $code
