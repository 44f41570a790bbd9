#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Measures the Slurm backend against the raw Slurm commands, in one run on one machine.
.DESCRIPTION
    Run by hand (not a test), after 'dotnet pwsh ./build.ps1 -Task Build', as root on a machine
    where tests/infra/slurm/start.sh can run (it is called first):

        dotnet pwsh -NoProfile ./benchmarks/slurm/Measure-SlurmBackend.ps1

    Status: 200 finished jobs read
      (a) through Get-CcatJobStatus (one call for all 200 ids),
      (b) with one raw 'sacct' call for all 200 ids (the same columns),
      (c) with a loop of one 'sacct -j <id>' per job.
    Submission: 100 jobs
      (d) through Submit-CcatJob,
      (e) with raw 'sbatch --parsable' of the same script, from the same PowerShell session.
    Each of (a), (b), (d), (e) is repeated and the median is reported; (c) runs once.
    Prints a Markdown table and the machine it ran on (copy it into docs/benchmarks.md).
.PARAMETER Repeat
    How many rounds of (d) and (e).
.PARAMETER StatusRepeat
    How many times (a) and (b) are repeated (they are short, and noisy on a busy machine).
#>
[CmdletBinding()]
param(
    [int] $Repeat = 5,
    [int] $StatusRepeat = 15,
    [int] $StatusJobs = 200,
    [int] $SubmitJobs = 100
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../BenchmarkKit.psm1') -Force
$null = Initialize-Benchmark -Service slurm

$work = Join-Path ([IO.Path]::GetTempPath()) "ccat-bench-slurm-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
$env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = Join-Path $work 'jobs'
$env:SLURM_TIME_FORMAT = '%s'


Write-Host "warming up (module load, first sbatch/squeue/sacct)"
$warm = 1..5 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'true' -JobName warmup }
$null = $warm | Wait-CcatJob -Timeout 120
$null = Get-CcatJobStatus -JobId $warm.JobId -Backend Slurm

# ---------------------------------------------------------------- status of finished jobs
Write-Host "submitting $StatusJobs jobs for the status measurements"
$jobs = @(1..$StatusJobs | ForEach-Object { Submit-CcatJob -ExecutionCommand 'true' -JobName "bench $_" })
$null = $jobs | Wait-CcatJob -Timeout 600
$ids = @($jobs.JobId)
$idList = $ids -join ','
$format = 'JobID,JobIDRaw,State,ExitCode,Submit,Start,End,ElapsedRaw,TotalCPU,CPUTimeRAW,MaxRSS,AllocCPUS,Reason,WorkDir,JobName,Comment'
$since = [DateTime]::Now.AddHours(-1).ToString('yyyy-MM-ddTHH:mm:ss')

$cmdlet = @(); $raw = @()
for ($i = 0; $i -lt $StatusRepeat; $i++) {
    # alternate the order so neither side always runs on a warmer cache
    if ($i % 2) { $cmdlet += Measure-Ms { Get-CcatJobStatus -JobId $ids -Backend Slurm } }
    $raw += Measure-Ms { & sacct --parsable2 --noheader --allusers "--format=$format" "--starttime=$since" "--jobs=$idList" }
    if (-not ($i % 2)) { $cmdlet += Measure-Ms { Get-CcatJobStatus -JobId $ids -Backend Slurm } }
}
$check = @(Get-CcatJobStatus -JobId $ids -Backend Slurm)
if ($check.Count -ne $StatusJobs -or @($check | Where-Object Status -NE 'Completed').Count) { throw 'status check failed: not every job reads completed' }

Write-Host "per-job sacct loop over $StatusJobs ids"
$loop = Measure-Ms { foreach ($id in $ids) { & sacct --parsable2 --noheader "--format=$format" "--jobs=$id" } }

# Scheduler calls of one Get-CcatJobStatus: logging wrappers in front of the real commands.
$shim = Join-Path $work 'shim'
New-Item -ItemType Directory -Force $shim | Out-Null
$log = Join-Path $work 'calls.log'
foreach ($tool in 'squeue', 'sacct', 'sbatch', 'scancel', 'scontrol') {
    $real = (Get-Command $tool -CommandType Application | Select-Object -First 1).Source
    Set-Content (Join-Path $shim $tool) "#!/bin/sh`necho $tool >> '$log'`nexec '$real' `"`$@`"`n"
    & chmod +x (Join-Path $shim $tool)
}
$savedPath = $env:PATH
$env:PATH = "$shim$([IO.Path]::PathSeparator)$savedPath"
try { $null = Get-CcatJobStatus -JobId $ids -Backend Slurm } finally { $env:PATH = $savedPath }
$calls = @(Get-Content $log)

# ---------------------------------------------------------------- submission
$script = Join-Path $work 'raw.sbatch'
Set-Content $script "#!/bin/sh`n#SBATCH --job-name=raw`n#SBATCH --output=/dev/null`n#SBATCH --error=/dev/null`nexec /bin/sh -c true`n"
$submitCmdlet = @(); $submitRaw = @(); $submitBash = @()
$blockSize = 10   # the three ways alternate in blocks of 10 jobs, so a change in machine load hits all alike
for ($i = 0; $i -lt $Repeat; $i++) {
    Write-Host "submission round $($i + 1) of $Repeat"
    $tRaw = 0.0; $tCmdlet = 0.0; $tBash = 0.0
    for ($b = 0; $b -lt $SubmitJobs / $blockSize; $b++) {
        $tRaw += Measure-Ms { for ($n = 0; $n -lt $blockSize; $n++) { $null = & sbatch --parsable $script } }
        $tCmdlet += Measure-Ms { for ($n = 0; $n -lt $blockSize; $n++) { $null = Submit-CcatJob -ExecutionCommand 'true' -JobName 'bench submit' } }
        # timed inside bash, so starting bash itself is not counted
        $tBash += [double](& bash -c "s=`$(date +%s%N); for i in `$(seq $blockSize); do sbatch --parsable '$script' >/dev/null; done; e=`$(date +%s%N); echo `$(( (e - s) / 1000 ))") / 1000
    }
    $submitRaw += $tRaw / $SubmitJobs; $submitCmdlet += $tCmdlet / $SubmitJobs; $submitBash += $tBash / $SubmitJobs
}
$bashRaw = Get-Median $submitBash

# let the submitted jobs drain before leaving
$null = & bash -c 'for i in $(seq 120); do [ -z "$(squeue -h -t PD,R,CG -o %i | head -1)" ] && exit 0; sleep 1; done'

# ---------------------------------------------------------------- report
$mc = Get-Median $cmdlet; $mr = Get-Median $raw
$sc = Get-Median $submitCmdlet; $sr = Get-Median $submitRaw
$cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
$memGb = [math]::Round(([double]((Get-Content /proc/meminfo -TotalCount 1) -replace '\D', '')) / 1MB, 1)
$os = (Get-Content /etc/os-release | Where-Object { $_ -like 'PRETTY_NAME=*' }) -replace 'PRETTY_NAME=|"', ''
$slurm = (& sinfo -V)
$date = [DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm') + ' UTC'

@"

## Slurm backend, $date

Machine: $([Environment]::ProcessorCount) CPUs ($cpu), $memGb GiB RAM, $os, $slurm, PowerShell $($PSVersionTable.PSVersion), .NET $([Environment]::Version).
Cluster: tests/infra/slurm (single node, slurmdbd on MariaDB, all on this machine). Medians of $StatusRepeat status rounds and $Repeat submission rounds of $SubmitJobs jobs.

| measurement | time | ratio |
|---|---:|---:|
| status of $StatusJobs finished jobs, ``Get-CcatJobStatus`` (one call) | $('{0:n0}' -f $mc) ms | $('{0:n2}' -f ($mc / $mr))x one raw sacct |
| status of $StatusJobs finished jobs, one raw ``sacct --jobs=<all ids>`` | $('{0:n0}' -f $mr) ms | 1x |
| status of $StatusJobs finished jobs, loop of ``sacct -j <id>`` | $('{0:n0}' -f $loop) ms | $('{0:n0}' -f ($loop / $mc))x ``Get-CcatJobStatus`` |
| scheduler calls made by one ``Get-CcatJobStatus`` of $StatusJobs ids | $($calls.Count) ($(($calls | Group-Object | ForEach-Object { "$($_.Count) $($_.Name)" }) -join ', ')) | |
| submit, ``Submit-CcatJob`` | $('{0:n1}' -f $sc) ms/job | $('{0:+0;-0;0}' -f (100 * ($sc / $sr - 1)))% vs raw sbatch from PowerShell, $('{0:+0;-0;0}' -f (100 * ($sc / $bashRaw - 1)))% vs bash |
| submit, raw ``sbatch --parsable`` from PowerShell | $('{0:n1}' -f $sr) ms/job | 1x |
| submit, raw ``sbatch --parsable`` from a bash loop (reference) | $('{0:n1}' -f $bashRaw) ms/job | |

All rounds (ms): Get-CcatJobStatus $(($cmdlet | ForEach-Object { '{0:n0}' -f $_ }) -join ', '); raw sacct $(($raw | ForEach-Object { '{0:n0}' -f $_ }) -join ', ');
Submit-CcatJob per job $(($submitCmdlet | ForEach-Object { '{0:n1}' -f $_ }) -join ', '); raw sbatch per job $(($submitRaw | ForEach-Object { '{0:n1}' -f $_ }) -join ', '); bash sbatch per job $(($submitBash | ForEach-Object { '{0:n1}' -f $_ }) -join ', ').
"@

Remove-Item -Recurse -Force $work -ErrorAction Ignore
