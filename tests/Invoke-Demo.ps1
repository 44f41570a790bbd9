#!/usr/bin/env pwsh
# The README's first command runs this: a real job on the Local backend with the embedded job
# store and no settings at all — submitted, waited for, its log read and its metrics shown.
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

Write-Host "`n> Get-CcatConfiguration HPC_BACKEND, LOCAL_JOB_STORE, LOCAL_JOB_DIR"
Get-CcatConfiguration HPC_BACKEND, LOCAL_JOB_STORE, LOCAL_JOB_DIR | Format-Table -AutoSize | Out-Host

$command = 'echo "reducing scan $SCAN_ID on $(hostname)"; python3 -c "b = bytearray(200 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096]); import time; t = time.time()
while time.time() - t < 1.5: pass"; echo done; exit 3'
Write-Host "> Submit-CcatJob -ExecutionCommand '...' -JobName demo-reduction -Environment @{ SCAN_ID = '42' } | Wait-CcatJob"
$job = Submit-CcatJob -ExecutionCommand $command -JobName demo-reduction -Environment @{ SCAN_ID = '42' } | Wait-CcatJob
$job | Format-Table | Out-String -Width 160 | Out-Host

Write-Host '> $job | Get-CcatJobLog'
$job | Get-CcatJobLog | Out-Host

Write-Host "`n> `$job | Format-List"
$job | Format-List JobId, Status, Reason, ExitCode, WallTimeSeconds, CpuHours, PeakMemoryGb, SubmittedAt, StartedAt, FinishedAt | Out-Host

if ($job.Status -ne 'Failed' -or $job.ExitCode -ne 3 -or -not ($job.WallTimeSeconds -gt 0)) {
    throw "The demo job did not end as expected: $job"
}
Write-Host 'Demo finished: the job ran, failed with exit code 3 as its command asked, and was measured.'
