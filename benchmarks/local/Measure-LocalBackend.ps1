#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Measures the Local backend against what PowerShell and the OS offer, in one run on one machine.
.DESCRIPTION
    Run by hand (not a test), after 'dotnet pwsh ./build.ps1 -Task Build':

        dotnet pwsh -NoProfile ./benchmarks/local/Measure-LocalBackend.ps1

    Submission, one call timed at a time, the methods alternating in blocks of 10 so that a
    change in the machine's load hits them alike (medians per job):
      Submit-CcatJob (native runner), Submit-CcatJob (managed runner, LOCAL_RUNNER=managed),
      Start-Process /bin/sh -c true, Start-ThreadJob { /bin/sh -c true }, Start-Job (fewer).
    End to end, N trivial jobs started and waited for: Submit-CcatJob + Wait-CcatJob,
      Start-Job + Wait-Job, Start-ThreadJob + Wait-Job, Start-Process + WaitForExit.
    Memory: PSS and RSS (/proc/<pid>/smaps_rollup) of each runner while M jobs of 'sleep'
      are alive, native and managed.
    Status: Get-CcatJobStatus of K finished jobs in one call, on the file store and on a
      private redis-server (unix socket, started and stopped here), with the Redis commands
      counted (INFO commandstats) and the server's read events (INFO stats,
      total_reads_processed: requests that arrived in separate reads, ~ round trips) before
      and after one call.
    Prints Markdown tables and the machine it ran on (copy them into docs/benchmarks.md).
    Needs: pwsh (the repository's dotnet tool), redis-server and redis-cli (Debian: redis-server).
#>
[CmdletBinding()]
param(
    [int] $SubmitJobs = 200,
    [int] $StartJobJobs = 50,
    [int] $EndToEndJobs = 50,
    [int] $MemoryJobs = 100,
    [int] $ManagedMemoryJobs = 20,
    [int] $StatusJobs = 1000,
    [int] $StatusRepeat = 5
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../BenchmarkKit.psm1') -Force
$null = Initialize-Benchmark

$work = Join-Path ([IO.Path]::GetTempPath()) "ccat-bench-local-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$env:XDG_CONFIG_HOME = Join-Path $work 'no-config'
$env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'local'
$loadAtStart = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '

function Use-JobDir([string] $Name, [string] $Store = 'file') {
    $dir = Join-Path $work $Name
    New-Item -ItemType Directory -Force $dir | Out-Null
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR = $dir
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = $Store
    $dir
}
function Use-Runner([string] $Kind) { $env:CCAT_WORKFLOW_MANAGER_LOCAL_RUNNER = $Kind }
function Format-Ms([double] $ms) { if ($ms -ge 100) { '{0:n0} ms' -f $ms } else { '{0:n1} ms' -f $ms } }
function Get-Memory([int] $ProcessId) {
    # kB figures of the whole process: Pss shares each shared page among its users
    $m = @{}
    foreach ($line in Get-Content "/proc/$ProcessId/smaps_rollup" -ErrorAction Stop) {
        if ($line -match '^(Rss|Pss):\s+(\d+) kB') { $m[$Matches[1]] = [double]$Matches[2] }
    }
    [pscustomobject]@{ PssKb = $m.Pss; RssKb = $m.Rss }
}
function Wait-Running([string] $Dir, [string[]] $Ids, [int] $Seconds = 600) {
    $until = (Get-Date).AddSeconds($Seconds)
    foreach ($id in $Ids) {
        while (-not (Test-Path (Join-Path $Dir "$id/runner.json"))) {
            if ((Get-Date) -gt $until) { throw "job $id did not start in $Seconds s" }
            Start-Sleep -Milliseconds 50
        }
    }
}

Write-Host 'warming up (module load, settings, both runners, jobs)'
$null = Use-JobDir 'warm'
foreach ($kind in 'native', 'managed') {
    Use-Runner $kind
    $null = 1..3 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'true' -JobName warm } | Wait-CcatJob -Timeout 120
}
$null = Start-ThreadJob { 1 } | Wait-Job | Remove-Job
$null = Start-Job { 1 } | Wait-Job | Remove-Job
$null = Start-Process /bin/sh -ArgumentList '-c', 'true' -PassThru

# ------------------------------------------------------------------ submission, per call
Write-Host "submission: $SubmitJobs calls per method, alternating in blocks of 10"
$null = Use-JobDir 'submit'
$times = [ordered]@{
    'Submit-CcatJob, native runner'  = [Collections.Generic.List[double]]::new()
    'Submit-CcatJob, managed runner' = [Collections.Generic.List[double]]::new()
    'Start-Process /bin/sh -c true'  = [Collections.Generic.List[double]]::new()
    'Start-ThreadJob'                = [Collections.Generic.List[double]]::new()
    'Start-Job'                      = [Collections.Generic.List[double]]::new()
}
$threadJobs = [Collections.Generic.List[object]]::new()
$psJobs = [Collections.Generic.List[object]]::new()
# What each block started is let finish, untimed, before the next block is timed: otherwise the
# ten pwsh processes of a Start-Job block (or ten managed runners) still burn the CPUs while the
# next method's calls are timed, and whichever method follows them pays for them.
$submitted = [Collections.Generic.List[object]]::new()
function Wait-Settled {
    if ($submitted.Count) { $null = $submitted | Wait-CcatJob -Timeout 300; $submitted.Clear() }
    $null = @($threadJobs) + @($psJobs) | Where-Object { $_ } | Wait-Job -Timeout 600
}
for ($block = 0; $block -lt $SubmitJobs / 10; $block++) {
    Use-Runner native
    1..10 | ForEach-Object { $times['Submit-CcatJob, native runner'].Add((Measure-Ms { $submitted.Add((Submit-CcatJob -ExecutionCommand 'true' -JobName bench)) })) }
    Wait-Settled
    Use-Runner managed
    1..10 | ForEach-Object { $times['Submit-CcatJob, managed runner'].Add((Measure-Ms { $submitted.Add((Submit-CcatJob -ExecutionCommand 'true' -JobName bench)) })) }
    Wait-Settled
    1..10 | ForEach-Object { $times['Start-Process /bin/sh -c true'].Add((Measure-Ms { Start-Process /bin/sh -ArgumentList '-c', 'true' })) }
    1..10 | ForEach-Object { $times['Start-ThreadJob'].Add((Measure-Ms { $threadJobs.Add((Start-ThreadJob { /bin/sh -c true })) })) }
    Wait-Settled
    if ($block * 10 -lt $StartJobJobs) {
        1..10 | ForEach-Object { $times['Start-Job'].Add((Measure-Ms { $psJobs.Add((Start-Job { /bin/sh -c true })) })) }
        Wait-Settled
    }
}
$null = $threadJobs + $psJobs | Wait-Job -Timeout 600 | Remove-Job -Force
Use-Runner native
$floor = Get-Median $times['Start-Process /bin/sh -c true']

# ------------------------------------------------------------------ end to end
Write-Host "end to end: $EndToEndJobs trivial jobs started and waited for, per method"
$null = Use-JobDir 'e2e'
$e2e = [ordered]@{}
$e2e['Submit-CcatJob + Wait-CcatJob'] = Measure-Ms {
    $j = @(1..$EndToEndJobs | ForEach-Object { Submit-CcatJob -ExecutionCommand 'true' -JobName e2e })
    $r = @($j | Wait-CcatJob -Timeout 600)
    if (@($r | Where-Object Status -NE 'Completed').Count) { throw 'a job did not complete' }
}
$e2e['Start-Process + WaitForExit'] = Measure-Ms {
    $p = @(1..$EndToEndJobs | ForEach-Object { Start-Process /bin/sh -ArgumentList '-c', 'true' -PassThru })
    $p | ForEach-Object { $_.WaitForExit() }
}
$e2e['Start-ThreadJob + Wait-Job'] = Measure-Ms {
    $j = @(1..$EndToEndJobs | ForEach-Object { Start-ThreadJob { /bin/sh -c true } })
    $null = $j | Wait-Job | Remove-Job
}
$e2e['Start-Job + Wait-Job'] = Measure-Ms {
    $j = @(1..$EndToEndJobs | ForEach-Object { Start-Job { /bin/sh -c true } })
    $null = $j | Wait-Job | Remove-Job
}

# ------------------------------------------------------------------ memory per waiting runner
function Measure-RunnerMemory([string] $Kind, [int] $Count) {
    Write-Host "memory: $Count jobs of 'sleep 600' with the $Kind runner"
    Use-Runner $Kind
    $dir = Use-JobDir "memory-$Kind"
    $jobs = @(1..$Count | ForEach-Object { Submit-CcatJob -ExecutionCommand 'sleep 600' -JobName "mem-$Kind" })
    Wait-Running $dir $jobs.JobId
    Start-Sleep -Seconds 5 # past start-up: the steady state while the runner waits
    $samples = foreach ($j in $jobs) {
        $state = Get-Content (Join-Path $dir "$($j.JobId)/runner.json") | ConvertFrom-Json
        Get-Memory $state.runner_pid
    }
    $null = Get-CcatJob -Backend Local -Status Running | Stop-CcatJob -Confirm:$false
    [pscustomobject]@{
        Kind = $Kind; Count = $Count
        PssMb = (Get-Median $samples.PssKb) / 1024; RssMb = (Get-Median $samples.RssKb) / 1024
        TotalPssMb = ($samples.PssKb | Measure-Object -Sum).Sum / 1024
    }
}
$memory = @((Measure-RunnerMemory native $MemoryJobs), (Measure-RunnerMemory managed $ManagedMemoryJobs))
Use-Runner native

# ------------------------------------------------------------------ status of finished jobs
$redisDir = Join-Path $work 'redis'
New-Item -ItemType Directory -Force $redisDir | Out-Null
$socket = Join-Path $redisDir 'redis.sock'
$redis = Start-Process redis-server -ArgumentList '--port', '0', '--unixsocket', $socket, '--unixsocketperm', '700', '--save', '""', '--appendonly', 'no', '--dir', $redisDir -PassThru -RedirectStandardOutput (Join-Path $redisDir 'out.log')
try {
    $until = (Get-Date).AddSeconds(20)
    while ((redis-cli -s $socket ping 2>$null) -ne 'PONG') {
        if ((Get-Date) -gt $until) { throw 'the private redis-server did not start' }
        Start-Sleep -Milliseconds 100
    }
    function Get-RedisCounters {
        $stats = redis-cli -s $socket info commandstats
        $calls = 0
        foreach ($line in $stats) { if ($line -match '^cmdstat_(\w+):calls=(\d+)' -and $Matches[1] -ne 'info') { $calls += [long]$Matches[2] } }
        $reads = [long](((redis-cli -s $socket info stats) | Where-Object { $_ -like 'total_reads_processed:*' }) -replace '\D', '')
        [pscustomobject]@{ Commands = $calls; Reads = $reads }
    }
    $status = foreach ($store in 'file', 'redis') {
        Write-Host "status: $StatusJobs finished jobs on the $store store"
        $null = Use-JobDir "status-$store" $store
        if ($store -eq 'redis') {
            $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = $socket
            $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = "bench:$PID"
        }
        $ids = @(1..$StatusJobs | ForEach-Object { (Submit-CcatJob -ExecutionCommand 'true' -JobName status).JobId })
        $null = Wait-CcatJob -JobId $ids -Backend Local -Timeout 900
        $null = Get-CcatJobStatus -JobId $ids -Backend Local # first read: anything left to heal is healed here
        $rounds = @(1..$StatusRepeat | ForEach-Object { Measure-Ms { Get-CcatJobStatus -JobId $ids -Backend Local } })
        $counted = $null
        if ($store -eq 'redis') {
            $before = Get-RedisCounters
            $r = @(Get-CcatJobStatus -JobId $ids -Backend Local)
            $after = Get-RedisCounters
            if (@($r | Where-Object Status -NE 'Completed').Count) { throw 'not every job reads completed' }
            $counted = [pscustomobject]@{ Commands = $after.Commands - $before.Commands; Reads = $after.Reads - $before.Reads - 1 } # -1: the INFO commandstats between
        }
        [pscustomobject]@{ Store = $store; Ms = Get-Median $rounds; Rounds = $rounds; Redis = $counted }
    }
}
finally {
    Stop-Process -Id $redis.Id -ErrorAction Ignore
}

# ------------------------------------------------------------------ report
$cpu = ((Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^.*:\s*', '')
$memGb = [math]::Round(([double]((Get-Content /proc/meminfo | Select-Object -First 1) -replace '\D', '')) / 1MB, 1)
$os = ((Get-Content /etc/os-release | Where-Object { $_ -like 'PRETTY_NAME=*' }) -replace '^PRETTY_NAME="?|"$', '')
$loadAtEnd = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '
$native = Get-Median $times['Submit-CcatJob, native runner']
"`n### $([DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm')) UTC`n"
"Machine: $([Environment]::ProcessorCount) CPUs ($cpu), $memGb GiB RAM, $os, PowerShell $($PSVersionTable.PSVersion), .NET $([Environment]::Version). Load average at start $loadAtStart, at end $loadAtEnd.`n"
'| submission (one call) | median per job | ratio |'
'|---|---:|---:|'
foreach ($k in $times.Keys) {
    if ($times[$k].Count -eq 0) { continue }
    $m = Get-Median $times[$k]
    "| $k ($($times[$k].Count) calls) | $(Format-Ms $m) | $('{0:n1}' -f ($m / $floor))x Start-Process |"
}
''
"| end to end, $EndToEndJobs trivial jobs started and waited for | total | ratio |"
'|---|---:|---:|'
$ours = $e2e['Submit-CcatJob + Wait-CcatJob']
foreach ($k in $e2e.Keys) { "| $k | $(Format-Ms $e2e[$k]) | $('{0:n2}' -f ($e2e[$k] / $ours))x Submit-CcatJob |" }
''
'| memory of a waiting runner (/proc/<pid>/smaps_rollup) | jobs alive | PSS (median) | RSS (median) | PSS, all runners |'
'|---|---:|---:|---:|---:|'
foreach ($m in $memory) { "| $($m.Kind) runner | $($m.Count) | $('{0:n1}' -f $m.PssMb) MB | $('{0:n1}' -f $m.RssMb) MB | $('{0:n0}' -f $m.TotalPssMb) MB |" }
''
"| Get-CcatJobStatus of $StatusJobs finished jobs, one call | median ($StatusRepeat rounds) | Redis commands | Redis read events |"
'|---|---:|---:|---:|'
foreach ($s in $status) {
    $c = if ($s.Redis) { "$($s.Redis.Commands) | $($s.Redis.Reads)" } else { '- | -' }
    "| $($s.Store) store | $(Format-Ms $s.Ms) | $c |"
}
''
"Rounds (ms): " + (($status | ForEach-Object { "$($_.Store) " + (($_.Rounds | ForEach-Object { '{0:n0}' -f $_ }) -join ', ') }) -join '; ')
"Submit-CcatJob (native) is $('{0:n1}' -f ($native / $floor))x Start-Process per call; end to end $('{0:n0}' -f ($e2e['Start-Job + Wait-Job'] / $ours))x faster than Start-Job."
Remove-Item -Recurse -Force $work -ErrorAction Ignore
