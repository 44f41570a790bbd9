#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Many Local jobs alive at once: what their runners cost, and that every one completes.
.DESCRIPTION
    Run by hand (not a test), after 'dotnet pwsh ./build.ps1 -Task Build':

        dotnet pwsh -NoProfile ./benchmarks/local/Measure-ManyRunning.ps1 [-Jobs 500] [-Seconds 60]

    Submits -Jobs jobs of 'sleep <Seconds>' through the pipeline in one Submit-CcatJob call
    (native runner, file store), timing the call; once every job's runner has started, sums
    the PSS (/proc/<pid>/smaps_rollup: each shared page divided among its users) and RSS of
    all runners, counts how many jobs were alive at that moment, then waits for all of them
    and counts those that read Completed. Prints a Markdown table (before the wait) and the machine it ran on
    (copy them into docs/benchmarks.md).
#>
[CmdletBinding()]
param(
    [int] $Jobs = 500,
    [int] $Seconds = 60
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
Import-Module (Join-Path $repo 'out/CcatWorkflow/CcatWorkflow.psd1') -Force

$work = Join-Path ([IO.Path]::GetTempPath()) "ccat-bench-many-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
Remove-Item env:ENV_FOR_DYNACONF, env:SETTINGS_FILE_FOR_DYNACONF, env:SECRETS_FOR_DYNACONF -ErrorAction Ignore
$env:XDG_CONFIG_HOME = Join-Path $work 'no-config'
$env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'local'
$env:CCAT_WORKFLOW_MANAGER_LOCAL_RUNNER = 'native'
$env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR = $work
$loadAtStart = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '

function Get-Memory([int] $ProcessId) {
    $m = @{ Pss = 0.0; Rss = 0.0; Pss_Anon = 0.0 }
    foreach ($line in Get-Content "/proc/$ProcessId/smaps_rollup" -ErrorAction Stop) {
        if ($line -match '^(Rss|Pss|Pss_Anon):\s+(\d+) kB') { $m[$Matches[1]] = [double]$Matches[2] }
    }
    [pscustomobject]@{ PssKb = $m.Pss; RssKb = $m.Rss; AnonKb = $m.Pss_Anon }
}

$null = Submit-CcatJob -ExecutionCommand 'true' -JobName warm | Wait-CcatJob -Timeout 120

Write-Host "submitting $Jobs jobs of 'sleep $Seconds' in one pipeline"
$sw = [Diagnostics.Stopwatch]::StartNew()
$submitted = @(1..$Jobs | ForEach-Object { [pscustomobject]@{ ExecutionCommand = "sleep $Seconds"; JobName = "many-$_" } } | Submit-CcatJob)
$submitMs = $sw.Elapsed.TotalMilliseconds
if ($submitted.Count -ne $Jobs) { throw "$($submitted.Count) of $Jobs submitted" }

Start-Sleep -Seconds 3 # past start-up: the steady state while the runners wait
$samples = [Collections.Generic.List[object]]::new()
$alive = 0
foreach ($j in $submitted) {
    $state = Get-Content (Join-Path $work "$($j.JobId)/runner.json") | ConvertFrom-Json
    try {
        $samples.Add((Get-Memory $state.runner_pid))
        if (Test-Path "/proc/$($state.job_pid)") { $alive++ }
    }
    catch [System.Management.Automation.ItemNotFoundException] {
        # this runner has ended already: its job was not alive at once with the others
    }
}
$totalPss = ($samples.PssKb | Measure-Object -Sum).Sum / 1024
$totalRss = ($samples.RssKb | Measure-Object -Sum).Sum / 1024
$totalAnon = ($samples.AnonKb | Measure-Object -Sum).Sum / 1024

$cpu = ((Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -split ':', 2)[1].Trim()
$memGb = [math]::Round(((Get-Content /proc/meminfo | Select-Object -First 1) -replace '\D', '') / 1MB, 1)
# Printed before the wait: the figures stand even if the wait is cut short.
''
"Machine: $([Environment]::ProcessorCount) cores ($cpu), $memGb GiB, $((Get-Content /etc/os-release | Where-Object { $_ -like 'PRETTY_NAME=*' }) -replace 'PRETTY_NAME=|"', ''), kernel $(uname -r); load average at start $loadAtStart, at the sample $((Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ')."
''
'| jobs | submit (one pipeline call) | per job | runners alive at the sample | jobs alive | total PSS | PSS per runner | private (Pss_Anon) per runner | total RSS |'
'|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
'| {0} | {1:n1} s | {2:n1} ms | {3} | {4} | {5:n0} MB | {6:n2} MB | {7:n2} MB | {8:n0} MB |' -f $Jobs, ($submitMs / 1000), ($submitMs / $Jobs), $samples.Count, $alive, $totalPss, ($totalPss / [Math]::Max(1, $samples.Count)), ($totalAnon / [Math]::Max(1, $samples.Count)), $totalRss

Write-Host "waiting for all $Jobs"
$done = @($submitted | Wait-CcatJob -Timeout ([Math]::Max(900, 3 * $Seconds)))
$completed = @($done | Where-Object Status -EQ 'Completed').Count
"Completed afterwards: $completed of $Jobs."

Remove-Item -Recurse -Force $work -ErrorAction Ignore
