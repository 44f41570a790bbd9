#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Measures the Slurm backend's SSH and REST transports against its CLI transport, and
    Wait-CcatJob's polling, in one run on one machine.
.DESCRIPTION
    Run by hand (not a test), after 'dotnet pwsh ./build.ps1 -Task Build', as root on a machine
    where tests/infra/slurm/start.sh and tests/infra/ssh/start.sh can run (both are called first):

        dotnet pwsh -NoProfile ./benchmarks/slurm/Measure-SlurmTransports.ps1

    The transports reach the same cluster in the same session: cli runs the Slurm commands
    here, ssh runs them as the test user over the loopback sshd (one connection per settings),
    rest asks the loopback slurmrestd of tests/infra/slurm (JWT, job folders on this machine).
      (a) status of 200 finished jobs, one Get-CcatJobStatus, cli vs ssh vs rest, in turn, medians;
          the remote commands of one ssh status call are counted in sshd's log, the requests of
          one rest status call in slurmrestd's; and one bare round trip on a reused SSH connection
          (SSH.NET, the module's library: an exec of `true`), for the bound "ssh <= 2 x cli + one
          round trip";
      (b) submission of 100 jobs, cli vs ssh vs rest, in turn in blocks of 10, medians per job;
      (c) SSH connection set-up once vs per call: a status call of one job over the session's
          connection vs the same call on a new connection each time (a new settings fingerprint);
      (d) Wait-CcatJob on 100 running jobs: scheduler calls per minute, counted by logging
          wrappers in front of the real commands (cli), first minute and after it; and a
          100-job campaign of 1 s jobs (submit all, wait for all), end to end.
    Prints a Markdown section (copy it into docs/benchmarks.md).
#>
[CmdletBinding()]
param(
    [int] $StatusRepeat = 11,
    [int] $SubmitRepeat = 3,
    [int] $StatusJobs = 200,
    [int] $SubmitJobs = 100,
    [int] $ConnectRepeat = 10,
    [int] $WaitSeconds = 150,
    # Only (a) and (b): the transports, without the connection and polling measurements.
    [switch] $TransportsOnly
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../BenchmarkKit.psm1') -Force
$ssh = Initialize-Benchmark -Service slurm, ssh
# tests/infra/slurm/start.sh printed the REST settings (slurmrestd), tests/infra/ssh the SSH ones.
$rest = $ssh

$work = Join-Path ([IO.Path]::GetTempPath()) "ccat-bench-transports-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
# The ssh user writes the job folders; the cli transport (root) reads the same ones.
$jobDir = "/tmp/ccat-bench-transports-jobs-$PID"
$env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
$env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $jobDir
$env:XDG_CONFIG_HOME = $work

function Use-Transport([string] $Name) {
    foreach ($k in $ssh.Keys) { if ($k -like 'CCAT_WORKFLOW_MANAGER_*') { Set-Item "env:$k" $ssh[$k] } }
    # rest: the job folders through this machine's file system (root, as cli), not over SFTP.
    if ($Name -eq 'rest') { Remove-Item env:CCAT_WORKFLOW_MANAGER_SLURM_SSH_HOST }
    $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = $Name
}
function Get-RestRequests { @(Select-String -Path $rest['SLURMRESTD_LOG'] -Pattern 'operations_router:' -SimpleMatch).Count }
function Get-SshdCount([string] $Pattern) { @(Select-String -Path $ssh['SSHD_LOG'] -Pattern $Pattern -SimpleMatch).Count }
function Wait-Drained { $null = & bash -c 'for i in $(seq 300); do [ -z "$(squeue -h -t PD,R,CG -o %i | head -1)" ] && exit 0; sleep 1; done' }

Write-Host 'warming up the transports'
foreach ($t in 'ssh', 'cli', 'rest') {   # ssh first: its user makes the job directory (0700), root can use it too
    Use-Transport $t
    $warm = 1..3 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'true' -JobName "warmup $t" }
    $null = $warm | Wait-CcatJob -Timeout 120
}

# ---------------------------------------------------------------- (a) status
Write-Host "submitting $StatusJobs jobs for the status measurements"
Use-Transport 'ssh'
$jobs = @(1..$StatusJobs | ForEach-Object { Submit-CcatJob -ExecutionCommand 'true' -JobName "bench $_" })
$null = $jobs | Wait-CcatJob -Timeout 900
$ids = @($jobs.JobId)
$statusCli = @(); $statusSsh = @(); $statusRest = @()
for ($i = 0; $i -lt $StatusRepeat; $i++) {
    if ($i % 2) { Use-Transport 'cli'; $statusCli += Measure-Ms { Get-CcatJobStatus -JobId $ids -Backend Slurm } }
    Use-Transport 'ssh'; $statusSsh += Measure-Ms { Get-CcatJobStatus -JobId $ids -Backend Slurm }
    Use-Transport 'rest'; $statusRest += Measure-Ms { Get-CcatJobStatus -JobId $ids -Backend Slurm }
    if (-not ($i % 2)) { Use-Transport 'cli'; $statusCli += Measure-Ms { Get-CcatJobStatus -JobId $ids -Backend Slurm } }
}
Use-Transport 'rest'
$requests0 = Get-RestRequests
$checkRest = @(Get-CcatJobStatus -JobId $ids -Backend Slurm)
$statusRequests = (Get-RestRequests) - $requests0
if ($checkRest.Count -ne $StatusJobs -or @($checkRest | Where-Object Status -NE 'Completed').Count) { throw 'rest status check failed: not every job reads completed' }
Use-Transport 'ssh'
$execs0 = Get-SshdCount 'Starting session: command'; $logins0 = Get-SshdCount 'Accepted publickey'
$check = @(Get-CcatJobStatus -JobId $ids -Backend Slurm)
$statusExecs = (Get-SshdCount 'Starting session: command') - $execs0
$statusLogins = (Get-SshdCount 'Accepted publickey') - $logins0
if ($check.Count -ne $StatusJobs -or @($check | Where-Object Status -NE 'Completed').Count) { throw 'status check failed: not every job reads completed' }
# One bare round trip on a reused connection: SSH.NET (the module's copy) runs `true` in a new
# exec channel, as the transport runs each request; the host key is checked against the pinned one.
$deps = Join-Path $PSScriptRoot '../../out/CcatWorkflow/deps'
foreach ($a in 'Microsoft.Extensions.Logging.Abstractions', 'BouncyCastle.Cryptography', 'Renci.SshNet') { Add-Type -Path (Join-Path $deps "$a.dll") }
# The check runs on SSH.NET's thread, where no PowerShell script block can: a compiled handler.
Add-Type -IgnoreWarnings -WarningAction SilentlyContinue -ReferencedAssemblies (Join-Path $deps 'Renci.SshNet.dll') -TypeDefinition @'
namespace CcatBenchmark {
    public static class PinnedHostKey {
        public static void Pin(Renci.SshNet.BaseClient client, string[] keys) {
            client.HostKeyReceived += (s, e) => e.CanTrust = System.Array.IndexOf(keys, System.Convert.ToBase64String(e.HostKey)) >= 0;
        }
    }
}
'@
$pinned = @(Get-Content $ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_KNOWN_HOSTS'] | ForEach-Object { ($_ -split ' ')[2] })
$client = [Renci.SshNet.SshClient]::new('127.0.0.1', [int]$ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_PORT'], $ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_USER'],
    [Renci.SshNet.PrivateKeyFile]::new($ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_KEY_FILE']))
[CcatBenchmark.PinnedHostKey]::Pin($client, [string[]]$pinned)
$client.Connect()
try { $execRtt = Get-Median @(1..21 | ForEach-Object { Measure-Ms { $null = $client.RunCommand('true') } }) } finally { $client.Dispose() }
$rtt = Get-Median @(1..9 | ForEach-Object { Measure-Ms { & ssh -p $ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_PORT'] -i $ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_KEY_FILE'] -o "UserKnownHostsFile=$($ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_KNOWN_HOSTS'])" -o BatchMode=yes "$($ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_USER'])@127.0.0.1" true } })

# ---------------------------------------------------------------- (b) submission
$submitCli = @(); $submitSsh = @(); $submitRest = @()
$block = 10
for ($r = 0; $r -lt $SubmitRepeat; $r++) {
    Write-Host "submission round $($r + 1) of $SubmitRepeat"
    $tc = 0.0; $ts = 0.0; $tr = 0.0
    for ($b = 0; $b -lt $SubmitJobs / $block; $b++) {
        Use-Transport 'cli'; $tc += Measure-Ms { for ($n = 0; $n -lt $block; $n++) { $null = Submit-CcatJob -ExecutionCommand 'true' -JobName 'bench submit' } }
        Use-Transport 'ssh'; $ts += Measure-Ms { for ($n = 0; $n -lt $block; $n++) { $null = Submit-CcatJob -ExecutionCommand 'true' -JobName 'bench submit' } }
        Use-Transport 'rest'; $tr += Measure-Ms { for ($n = 0; $n -lt $block; $n++) { $null = Submit-CcatJob -ExecutionCommand 'true' -JobName 'bench submit' } }
    }
    $submitCli += $tc / $SubmitJobs; $submitSsh += $ts / $SubmitJobs; $submitRest += $tr / $SubmitJobs
}
Wait-Drained
if (-not $TransportsOnly) {

# ---------------------------------------------------------------- (c) connection once vs per call
Use-Transport 'ssh'
$one = @($ids[0])
$reused = @(1..$ConnectRepeat | ForEach-Object { Measure-Ms { Get-CcatJobStatus -JobId $one -Backend Slurm } })
$fresh = @()
for ($i = 0; $i -lt $ConnectRepeat; $i++) {
    # A known_hosts file of another name is another settings fingerprint: a new backend, a new login.
    $kh = Join-Path $work "known_hosts_$i"
    Copy-Item $ssh['CCAT_WORKFLOW_MANAGER_SLURM_SSH_KNOWN_HOSTS'] $kh
    $env:CCAT_WORKFLOW_MANAGER_SLURM_SSH_KNOWN_HOSTS = $kh
    $fresh += Measure-Ms { Get-CcatJobStatus -JobId $one -Backend Slurm }
}

# ---------------------------------------------------------------- (d) polling
Use-Transport 'cli'
$shim = Join-Path $work 'shim'
New-Item -ItemType Directory -Force $shim | Out-Null
$log = Join-Path $work 'calls.log'
foreach ($tool in 'squeue', 'sacct') {
    $real = (Get-Command $tool -CommandType Application | Select-Object -First 1).Source
    Set-Content (Join-Path $shim $tool) "#!/bin/sh`necho `"`$(date +%s.%N) $tool`" >> '$log'`nexec '$real' `"`$@`"`n"
    & chmod +x (Join-Path $shim $tool)
}
Write-Host "Wait-CcatJob on 100 running jobs for $WaitSeconds s"
$long = @(1..100 | ForEach-Object { Submit-CcatJob -ExecutionCommand "sleep $($WaitSeconds + 60)" -JobName "bench poll $_" })
$savedPath = $env:PATH
$env:PATH = "$shim$([IO.Path]::PathSeparator)$savedPath"
$t0 = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() / 1000.0
try { $null = $long | Wait-CcatJob -Timeout $WaitSeconds -ErrorAction SilentlyContinue } finally { $env:PATH = $savedPath }
$stamps = @(Get-Content $log | ForEach-Object { [double]::Parse(($_ -split ' ')[0], [cultureinfo]::InvariantCulture) - $t0 })
$firstMinute = @($stamps | Where-Object { $_ -lt 60 }).Count
$later = @($stamps | Where-Object { $_ -ge 60 }).Count
$laterPerMinute = $later / (($WaitSeconds - 60) / 60)
$long | Stop-CcatJob -Confirm:$false
Wait-Drained

Write-Host 'campaign of 100 jobs of 1 s'
$campaign = Measure-Ms { $c = @(1..100 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'sleep 1' -JobName "bench campaign $_" }); $null = $c | Wait-CcatJob -Timeout 600 }
}

# ---------------------------------------------------------------- report
$cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
$os = (Get-Content /etc/os-release | Where-Object { $_ -like 'PRETTY_NAME=*' }) -replace 'PRETTY_NAME=|"', ''
$load = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
$mc = Get-Median $statusCli; $ms = Get-Median $statusSsh; $mrest = Get-Median $statusRest
$sc = Get-Median $submitCli; $ss = Get-Median $submitSsh; $sr = Get-Median $submitRest
@"

## Slurm transports (cli vs ssh vs rest), $([DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm')) UTC

Machine: $([Environment]::ProcessorCount) CPUs ($cpu), $os, $(& sinfo -V), PowerShell $($PSVersionTable.PSVersion), .NET $([Environment]::Version); load average at the end $($load -join ' ').
ssh: SSH.NET to the loopback sshd of tests/infra/ssh as its test user; rest: the loopback slurmrestd of
tests/infra/slurm (JWT, job folders on this machine); same cluster, same session.

| measurement | cli | ssh | rest | ssh / cli | rest / cli |
|---|---:|---:|---:|---:|---:|
| status of $StatusJobs finished jobs, one ``Get-CcatJobStatus`` (median of $StatusRepeat) | $('{0:n0}' -f $mc) ms | $('{0:n0}' -f $ms) ms | $('{0:n0}' -f $mrest) ms | $('{0:n2}' -f ($ms / $mc))x | $('{0:n2}' -f ($mrest / $mc))x |
| requests for that call | 2 commands | $statusExecs exec / $statusLogins logins | $statusRequests HTTP | | |
| one round trip on the reused SSH connection (exec of ``true``, median of 21) | | $('{0:n1}' -f $execRtt) ms | | | |
| submit, ``Submit-CcatJob`` (median of $SubmitRepeat rounds of $SubmitJobs) | $('{0:n1}' -f $sc) ms/job | $('{0:n1}' -f $ss) ms/job | $('{0:n1}' -f $sr) ms/job | $('{0:n2}' -f ($ss / $sc))x | $('{0:n2}' -f ($sr / $sc))x |

Bound (issue 10): ssh status <= 2 x cli + one round trip: $('{0:n0}' -f $ms) ms vs $('{0:n0}' -f (2 * $mc + $execRtt)) ms: $(if ($ms -le 2 * $mc + $execRtt) { 'met' } else { 'NOT met' }).
All rounds (ms): status cli $(($statusCli | ForEach-Object { '{0:n0}' -f $_ }) -join ', '); status ssh $(($statusSsh | ForEach-Object { '{0:n0}' -f $_ }) -join ', ');
status rest $(($statusRest | ForEach-Object { '{0:n0}' -f $_ }) -join ', '); submit rest per job $(($submitRest | ForEach-Object { '{0:n1}' -f $_ }) -join ', ').
"@
if ($TransportsOnly) {
    Remove-Item -Recurse -Force $work, $jobDir -ErrorAction Ignore
    return
}
$mr = Get-Median $reused; $mf = Get-Median $fresh
@"

## Slurm transports (cli vs ssh), $([DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm')) UTC

Machine: $([Environment]::ProcessorCount) CPUs ($cpu), $os, $(& sinfo -V), PowerShell $($PSVersionTable.PSVersion), .NET $([Environment]::Version); load average at the end $($load -join ' ').
ssh: SSH.NET to the loopback sshd of tests/infra/ssh as its test user; same cluster, same session.

| measurement | cli | ssh | ssh / cli |
|---|---:|---:|---:|
| status of $StatusJobs finished jobs, one ``Get-CcatJobStatus`` (median of $StatusRepeat) | $('{0:n0}' -f $mc) ms | $('{0:n0}' -f $ms) ms | $('{0:n2}' -f ($ms / $mc))x |
| remote commands / new logins for that call (sshd's log) | | $statusExecs / $statusLogins | |
| submit, ``Submit-CcatJob`` (median of $SubmitRepeat rounds of $SubmitJobs) | $('{0:n1}' -f $sc) ms/job | $('{0:n1}' -f $ss) ms/job | $('{0:n2}' -f ($ss / $sc))x |
| status of 1 job over the session's connection vs a new connection per call (median of $ConnectRepeat) | | $('{0:n0}' -f $mr) ms vs $('{0:n0}' -f $mf) ms | $('{0:n1}' -f ($mf / $mr))x per call |
| one OpenSSH ``ssh … true`` (a fresh login, for reference) | | $('{0:n0}' -f $rtt) ms | |
| one round trip on the reused SSH connection (SSH.NET exec of ``true``) | | $('{0:n1}' -f $execRtt) ms | |

Polling (cli, counted by wrappers in front of squeue and sacct): Wait-CcatJob on 100 running jobs
for $WaitSeconds s made $firstMinute scheduler calls in the first minute and $('{0:n1}' -f $laterPerMinute) a minute after it.
A campaign of 100 jobs of 1 s (submit all, then Wait-CcatJob) took $('{0:n1}' -f ($campaign / 1000)) s end to end.

All rounds (ms): status cli $(($statusCli | ForEach-Object { '{0:n0}' -f $_ }) -join ', '); status ssh $(($statusSsh | ForEach-Object { '{0:n0}' -f $_ }) -join ', ');
submit cli per job $(($submitCli | ForEach-Object { '{0:n1}' -f $_ }) -join ', '); submit ssh per job $(($submitSsh | ForEach-Object { '{0:n1}' -f $_ }) -join ', ');
reused connection $(($reused | ForEach-Object { '{0:n0}' -f $_ }) -join ', '); new connection $(($fresh | ForEach-Object { '{0:n0}' -f $_ }) -join ', ').
"@

Remove-Item -Recurse -Force $work, $jobDir -ErrorAction Ignore
