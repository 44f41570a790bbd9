#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Measures a Local job array's submission against a single job's, and the status of all its elements.
.DESCRIPTION
    Run by hand (not a test), after 'dotnet pwsh ./build.ps1 -Task Build':

        dotnet pwsh -NoProfile ./benchmarks/local/Measure-LocalArrays.ps1

    Submission, one call timed at a time, alternating single job and array so that a change in
    the machine's load hits both alike (medians):
      Submit-CcatJob -ExecutionCommand …                         (one job)
      Submit-CcatJob -ArrayIndex 0-<N-1> -ThrottleLimit 1 …      (one array of N elements)
    Each array's elements wait for a file that is never created (throttle 1: one element
    runs), so the machine is not busy with them while the next submission is timed; every
    array is cancelled afterwards. Then Get-CcatJobStatus of one array's id (all N elements),
    median of a few calls. File store; with -Store redis, the Redis of tests/infra/redis.
    Prints a Markdown table and the machine it ran on (copy them into docs/benchmarks.md).
#>
[CmdletBinding()]
param(
    [int] $Elements = 500,
    [int] $Rounds = 10,
    [ValidateSet('file', 'redis')] [string] $Store = 'file',
    [int] $RedisPort = 16379
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
Import-Module (Join-Path $repo 'out/CcatWorkflow/CcatWorkflow.psd1') -Force

$work = Join-Path ([IO.Path]::GetTempPath()) "ccat-bench-arrays-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
$env:XDG_CONFIG_HOME = Join-Path $work 'no-config'
$env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'local'
$env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR = Join-Path $work 'jobs'
$env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = $Store
$env:CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '1'
if ($Store -eq 'redis') {
    $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = '127.0.0.1'
    $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = "$RedisPort"
    $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = "ccat-bench:$PID"
}
$loadAtStart = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '
$never = Join-Path $work 'never'
$gated = "while [ ! -e '$never' ]; do sleep 1; done"

function Measure-Ms([scriptblock] $Code) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $null = & $Code
    $sw.Elapsed.TotalMilliseconds
}
function Get-Median([double[]] $Values) {
    $s = @($Values | Sort-Object)
    if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 }
}

# Warm-up: the first submission loads the engine and the store.
$null = Submit-CcatJob -ExecutionCommand 'true' | Wait-CcatJob -Timeout 120

$single = [Collections.Generic.List[double]]::new()
$array = [Collections.Generic.List[double]]::new()
$arrays = [Collections.Generic.List[string]]::new()
$singles = [Collections.Generic.List[string]]::new()
for ($r = 0; $r -lt $Rounds; $r++) {
    $single.Add((Measure-Ms { $script:j = Submit-CcatJob -ExecutionCommand $gated -JobName bench-single }))
    $singles.Add($script:j.JobId)
    $array.Add((Measure-Ms { $script:a = @(Submit-CcatJob -ArrayIndex "0-$($Elements - 1)" -ThrottleLimit 1 -ExecutionCommand $gated -JobName bench-array) }))
    if ($script:a.Count -ne $Elements) { throw "the array returned $($script:a.Count) jobs, not $Elements" }
    $arrays.Add($script:a[0].ArrayJobId)
}

$status = foreach ($i in 1..5) { Measure-Ms { $script:s = @(Get-CcatJobStatus -JobId $arrays[0]) } }
if ($script:s.Count -ne $Elements) { throw "status returned $($script:s.Count) elements, not $Elements" }

Stop-CcatJob -JobId (@($arrays) + @($singles)) -Confirm:$false

$ms1 = Get-Median $single
$msN = Get-Median $array
$cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
"Machine: $cpu, $([Environment]::ProcessorCount) CPUs, load average at start $loadAtStart; store: $Store; $Rounds rounds."
''
'| Submission | Median | Per element |'
'|---|---|---|'
'| one job | {0:n0} ms | |' -f $ms1
'| one array of {0} elements (throttle 1) | {1:n0} ms ({2:n2}× one job) | {3:n2} ms |' -f $Elements, $msN, ($msN / $ms1), ($msN / $Elements)
'| Get-CcatJobStatus of the array id ({0} elements) | {1:n0} ms | {2:n2} ms |' -f $Elements, (Get-Median $status), ((Get-Median $status) / $Elements)
Remove-Item -Recurse -Force $work -ErrorAction Ignore
