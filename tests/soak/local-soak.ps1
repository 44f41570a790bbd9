<#
.SYNOPSIS
    Soak of the Local backend (not part of the default test run): N pwsh processes each submit
    M jobs with random durations and exit codes, cancel about CancelPercent of them at a random
    moment, while a private Redis (no persistence) is restarted under them. Prints the counts that
    must all be 0: lost, wrong-state and orphan.

.DESCRIPTION
    Run from the repository root after a build:
        dotnet pwsh -NoProfile tests/soak/local-soak.ps1 -Processes 4 -Jobs 100
    - lost: a job whose submission returned an id but that is not found, or reads Lost;
    - wrong-state: a finished job whose state is not what it did: not cancelled, it must read its
      own exit code (Completed for 0, Failed/NonZeroExit otherwise) with its full output; cancelled,
      it must read Cancelled without the output of its end, or — when it ended on its own first —
      its own exit code with that output;
    - orphan: any process left, once every job has finished, that carries the soak's mark in its
      environment (the jobs' own processes and the grandchildren some of them leave), or a runner
      of the soak's job folder.
    Submissions refused while Redis is down are a correct answer (nothing ran), counted apart and
    retried. The Redis restart loses every key: jobs are found again from their folders.
#>
[CmdletBinding()]
param(
    [int] $Processes = 4,
    [int] $Jobs = 100,
    [int] $CancelPercent = 20,
    [double] $MaxSeconds = 2.0,
    [double] $RestartAtFraction = 0.4,
    # Seeds the workers' choices (worker p uses Seed + p): the same seed gives the same plan.
    [int] $Seed = 1000,
    [string] $WorkDir = "/tmp/ccat-soak-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
)

$ErrorActionPreference = 'Stop'
$repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$manifest = Join-Path $repo 'out/CcatWorkflow/CcatWorkflow.psd1'
if (-not (Test-Path $manifest)) { throw "Build first: $manifest is missing." }
$pwshDll = Join-Path $PSHOME 'pwsh.dll'
$tag = "soak-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
$jobDir = Join-Path $WorkDir 'jobs'
$sock = Join-Path $WorkDir 'redis.sock'
$redisPid = Join-Path $WorkDir 'redis.pid'
New-Item -ItemType Directory -Force $jobDir | Out-Null

function Start-SoakRedis {
    & redis-server --port 0 --unixsocket $sock --unixsocketperm 700 --save '' --appendonly no `
        --daemonize yes --pidfile $redisPid --dir $WorkDir --logfile (Join-Path $WorkDir 'redis.log') | Out-Null
    $deadline = (Get-Date).AddSeconds(30)
    while ((& redis-cli -s $sock PING 2>$null) -ne 'PONG') {
        if ((Get-Date) -gt $deadline) { throw 'the soak Redis did not start' }
        Start-Sleep -Milliseconds 50
    }
}

function Stop-SoakRedis {
    $p = [int](Get-Content $redisPid)
    & kill -9 $p
    while (Test-Path "/proc/$p") { Start-Sleep -Milliseconds 20 }
    Remove-Item $sock -ErrorAction Ignore
}

Start-SoakRedis
$settings = @{
    CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = 'redis'
    CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR = $jobDir
    CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '1'
    CCAT_WORKFLOW_MANAGER_REDIS_HOST = $sock
    CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = $tag
}
foreach ($k in $settings.Keys) { Set-Item "env:$k" $settings[$k] }
$env:XDG_CONFIG_HOME = $WorkDir   # no settings.toml of the machine

# One worker: submits its jobs one after the other, cancels some at a random moment, and writes
# what it asked for (one JSON line per job) to its plan file.
$worker = @'
param([string] $Manifest, [string] $Plan, [int] $Jobs, [int] $CancelPercent, [double] $MaxSeconds, [string] $Tag, [int] $Seed)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
$rng = [Random]::new($Seed)
function Retry([scriptblock] $Action) {
    for ($i = 0; ; $i++) {
        try { return & $Action }
        catch {
            if ($_.FullyQualifiedErrorId -notlike 'StoreUnavailable*' -or $i -ge 120) { throw }
            $script:refused++
            Start-Sleep -Milliseconds 500
        }
    }
}
$script:refused = 0
for ($n = 0; $n -lt $Jobs; $n++) {
    $seconds = [Math]::Round($rng.NextDouble() * $MaxSeconds, 2)
    $exit = @(0, 0, 0, 1, 3, 42)[$rng.Next(6)]
    $cancel = $rng.Next(100) -lt $CancelPercent
    $leaves = $rng.Next(10) -eq 0      # leaves a grandchild in a session of its own
    $cmd = "echo begun; sleep $seconds; echo finished; exit $exit"
    if ($leaves) { $cmd = "setsid sleep 60 & $cmd" }
    $job = Retry { Submit-CcatJob -ExecutionCommand $cmd -JobName "$Tag-$n" -Environment @{ SOAK_TAG = $Tag } -ErrorAction Stop }
    if ($cancel) {
        Start-Sleep -Milliseconds ($rng.Next([int]($MaxSeconds * 1000 * 1.2) + 1))
        $null = Retry { $job | Stop-CcatJob -Confirm:$false -ErrorAction Stop }
    }
    [pscustomobject]@{ id = $job.JobId; exit = $exit; cancel = $cancel; leaves = $leaves } | ConvertTo-Json -Compress | Add-Content $Plan
}
"refused=$script:refused" | Add-Content "$Plan.refused"
'@
$workerFile = Join-Path $WorkDir 'worker.ps1'
Set-Content $workerFile $worker

$started = Get-Date
$procs = foreach ($p in 1..$Processes) {
    $plan = Join-Path $WorkDir "plan-$p.jsonl"
    Start-Process dotnet -PassThru -RedirectStandardError (Join-Path $WorkDir "worker-$p.err") -ArgumentList @(
        $pwshDll, '-NoProfile', '-NonInteractive', '-File', $workerFile, $manifest, $plan, $Jobs, $CancelPercent, $MaxSeconds, $tag, ($Seed + $p))
}

# The restart comes once this share of the jobs has been submitted: jobs are running, being
# cancelled and being submitted while Redis goes away and comes back empty.
$restartAt = [int]($Processes * $Jobs * $RestartAtFraction)
while ((@(Get-ChildItem $WorkDir -Filter 'plan-*.jsonl' | Get-Content).Count) -lt $restartAt -and @($procs | Where-Object { -not $_.HasExited }).Count -gt 0) {
    Start-Sleep -Milliseconds 200
}
$before = (& redis-cli -s $sock DBSIZE)
$restartedAfter = ((Get-Date) - $started).TotalSeconds
Stop-SoakRedis
Start-Sleep -Seconds 2
Start-SoakRedis
Write-Host ("Redis restarted without persistence after {0:0} s, with {1} jobs submitted: {2} keys lost." -f $restartedAfter, $restartAt, $before)

foreach ($p in $procs) { $p.WaitForExit() }
$submitSeconds = ((Get-Date) - $started).TotalSeconds
$failedWorkers = @($procs | Where-Object ExitCode -ne 0).Count
$plans = Get-ChildItem $WorkDir -Filter 'plan-*.jsonl' | Get-Content | ForEach-Object { $_ | ConvertFrom-Json }
$refused = (Get-ChildItem $WorkDir -Filter '*.refused' | Get-Content | ForEach-Object { [int]($_ -replace 'refused=') } | Measure-Object -Sum).Sum

Import-Module $manifest
$lost = 0; $wrong = 0; $details = @()
foreach ($p in $plans) {
    $info = Wait-CcatJob -JobId $p.id -Backend Local -Timeout 300 -ErrorAction SilentlyContinue -ErrorVariable err
    if (-not $info -or $info.Reason -eq 'Lost') { $lost++; $details += "lost $($p.id): $err $($info.Message)"; continue }
    $log = (Get-CcatJobLog -JobId $p.id -Backend Local -Stream Output) -join ','
    $natural = if ($p.exit -eq 0) { $info.Status -eq 'Completed' -and $info.ExitCode -eq 0 } else { $info.Status -eq 'Failed' -and $info.Reason -eq 'NonZeroExit' -and $info.ExitCode -eq $p.exit }
    $ok = if ($p.cancel) { ($info.Reason -eq 'Cancelled' -and $log -notmatch 'finished') -or ($natural -and $log -eq 'begun,finished') } else { $natural -and $log -eq 'begun,finished' }
    if (-not $ok) { $wrong++; $details += "wrong $($p.id): cancel=$($p.cancel) exit=$($p.exit) -> $($info.Status)/$($info.Reason)/$($info.ExitCode) log='$log'" }
}

# Orphans: every job has finished now; nothing of theirs may be left.
$orphans = @()
foreach ($d in Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$') {
    try { $environ = [IO.File]::ReadAllText("$($d.FullName)/environ") } catch { continue }
    $cmdline = try { [IO.File]::ReadAllText("$($d.FullName)/cmdline") } catch { '' }
    if ($environ.Contains("SOAK_TAG=$tag") -or ($cmdline.Contains('CcatWorkflow.LocalRunner') -and $cmdline.Contains($jobDir))) { $orphans += [int]$d.Name }
}

$cancelled = @($plans | Where-Object cancel).Count
Write-Host ("soak (seed {6}): {0} processes x {1} jobs = {2} jobs ({3} cancelled, {4} leaving a grandchild), Redis restarted once; {5:0} s" -f `
    $Processes, $Jobs, $plans.Count, $cancelled, @($plans | Where-Object leaves).Count, ((Get-Date) - $started).TotalSeconds, $Seed)
Write-Host "submissions refused while Redis was down (retried): $refused; workers failed: $failedWorkers"
Write-Host "lost: $lost"
Write-Host "wrong-state: $wrong"
Write-Host "orphan: $($orphans.Count)"
$details | Select-Object -First 20 | ForEach-Object { Write-Host "  $_" }
foreach ($o in $orphans) { & kill -9 $o 2>$null }
Stop-SoakRedis
if ($lost + $wrong + $orphans.Count + $failedWorkers -eq 0 -and $plans.Count -eq $Processes * $Jobs) {
    Remove-Item -Recurse -Force $WorkDir
    exit 0
}
Write-Host "kept $WorkDir for inspection"
exit 1
