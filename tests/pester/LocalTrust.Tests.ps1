# The Local backend on a shared machine (docs/security.md): a second unprivileged user, forged
# job folders, a full and a read-only disk (a small tmpfs), a Redis that loses its data, records
# that are not regular files. Real processes, real Redis, through the cmdlets (the second user,
# who cannot load this root-owned pwsh, drives the backend with the runner's `ctl` verbs).
# Needs root (useradd, runuser, mount; tag Root): it fails loudly without it rather than skip.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    & bash (Join-Path (Get-RepoRoot) 'tests/infra/redis/start.sh') | Out-Null
    $script:runnerDll = Join-Path (Split-Path (Get-ModuleManifestPath)) 'deps/CcatWorkflow.LocalRunner.dll'
    if ((& id -u) -ne '0') { throw 'LocalTrust.Tests.ps1 needs root: it adds a second user (useradd) and mounts a tmpfs.' }

    # The second, unprivileged user of the machine.
    $script:other = 'ccat-trust-other'
    & id -u $script:other 2>$null | Out-Null
    if ($LASTEXITCODE -ne 0) {
        & useradd -M -s /usr/sbin/nologin $script:other
        if ($LASTEXITCODE -ne 0) { throw "useradd $script:other failed" }
    }
    $script:otherUid = [uint32](& id -u $script:other)
    $script:otherHome = "/tmp/ccat-trust-other-home"
    New-Item -ItemType Directory -Force $script:otherHome | Out-Null
    & chown $script:other $script:otherHome

    # A LOCAL_JOB_DIR both users may create job folders in (as /tmp: world-writable, sticky).
    $script:shared = "/tmp/ccat-trust-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory $script:shared | Out-Null
    & chmod 1777 $script:shared

    function Use-Shared([string] $Store = 'file', [string] $Dir = $script:shared) {
        Set-LocalStore -JobDir $Dir -Store $Store -KeyPrefix 'ccat-trust'
    }

    # The runner's ctl verbs as the second user, with a clean environment and these settings.
    function Invoke-AsOther([string[]] $CtlArgs, [string] $JobDir = $script:shared) {
        $envArgs = @("HOME=$script:otherHome", 'PATH=/usr/local/bin:/usr/bin:/bin', 'DOTNET_CLI_TELEMETRY_OPTOUT=1', 'DOTNET_NOLOGO=1',
            "CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR=$JobDir", 'CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS=2')
        $out = & runuser -u $script:other -- env -i @envArgs dotnet $script:runnerDll ctl @CtlArgs 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n") }
    }

    # A shell command as the second user.
    function Invoke-ShAsOther([string] $Command) {
        $out = & runuser -u $script:other -- sh -c $Command 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n") }
    }

    # True when the process has ended: gone, or a zombie whose status nobody has collected yet.
    function Test-ProcessEnded([int] $ProcessId) {
        $stat = Get-Content "/proc/$ProcessId/stat" -Raw -ErrorAction Ignore
        if (-not $stat) { return $true }
        $stat.Substring($stat.LastIndexOf(')') + 2, 1) -eq 'Z'
    }

    function Get-RunnerState([string] $JobDir, [string] $Id) {
        $file = Join-Path $JobDir "$Id/runner.json"
        Wait-Until { (Test-Path $file) -and ((Get-Content $file -Raw | ConvertFrom-Json).job_pid -gt 0) } "runner.json of $Id names the job's pid"
        Get-Content $file -Raw | ConvertFrom-Json
    }

    # processes whose whole command line is exactly this
    function Get-ProcessCount([string] $CommandLine) { @(pgrep -f -x -- $CommandLine).Count }

    function Get-StartTicks([int] $ProcessId) {
        $stat = Get-Content "/proc/$ProcessId/stat" -Raw
        $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        [uint64]$fields[19]
    }

    # A job folder written by the second user: job.json, a record, and runner.json as given.
    function New-ForgedJob([string] $Root, [string] $Id, [hashtable] $Runner, [switch] $WithFreeLock) {
        $now = [DateTimeOffset]::UtcNow.AddMinutes(-10).ToString('O')
        $spec = [ordered]@{ version = 1; id = $Id; name = 'forged'; command = 'true'; working_directory = '/'; submitted_at = $now
            submit_host = [Environment]::MachineName; cancel_grace_seconds = 1 } | ConvertTo-Json
        $record = [ordered]@{ id = $Id; name = 'forged'; status = 'running'; submitted_at = $now; job_dir = "$Root/$Id" } | ConvertTo-Json
        $runnerJson = $Runner | ConvertTo-Json
        $staging = Join-Path ([IO.Path]::GetTempPath()) "ccat-forge-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $staging | Out-Null
        Set-Content "$staging/job.json" $spec; Set-Content "$staging/record.json" $record; Set-Content "$staging/runner.json" $runnerJson
        & chmod -R a+rX $staging
        $lock = if ($WithFreeLock) { "touch '$Root/$Id/runner.lock';" } else { '' }
        $r = Invoke-ShAsOther "mkdir -p '$Root/$Id' && cp '$staging/job.json' '$staging/record.json' '$staging/runner.json' '$Root/$Id/' && $lock true"
        Remove-Item -Recurse $staging
        $r.ExitCode | Should -Be 0 -Because $r.Output
    }

    function Get-BootFacts {
        @{ boot = (Get-Content /proc/sys/kernel/random/boot_id -Raw).Trim(); ns = (Get-Item /proc/self/ns/pid).LinkTarget }
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:shared -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Local jobs on a machine shared with another user' -Tag 'Service', 'Local', 'Redis', 'Root' {
    AfterAll {
        Use-Shared
        Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false
    }

    It 'never signals a process named in a runner.json another user forged (issue 7, defect 1)' {
        Use-Shared
        # The victim: root's own long-lived process, leader of its session (as a job's shell is).
        $secs = Get-Random -Minimum 10000 -Maximum 99999
        $victim = Start-Process setsid -ArgumentList 'sleep', "$secs" -PassThru
        Wait-Until { (Get-ProcessCount "sleep $secs") -eq 1 } 'the victim runs'
        $victimPid = [int](pgrep -f -x "sleep $secs")
        $ticks = Get-StartTicks $victimPid
        $facts = Get-BootFacts
        $id = [guid]::NewGuid().ToString()
        New-ForgedJob $script:shared $id @{ version = 1; host = [Environment]::MachineName; boot_id = $facts.boot; pid_namespace = $facts.ns
            runner_pid = 999999; runner_start_ticks = 1; job_pid = $victimPid; job_start_ticks = $ticks; started_at = [DateTimeOffset]::UtcNow.AddMinutes(-5).ToString('O') }
        try {
            $listed = Get-CcatJob -Backend Local
            $status = Get-CcatJobStatus -JobId $id -Backend Local
            Stop-CcatJob -JobId $id -Backend Local -Confirm:$false -ErrorAction SilentlyContinue

            Get-ProcessCount "sleep $secs" | Should -Be 1
            $listed.JobId | Should -Contain $id
            $status.Reason | Should -Be 'Lost'
        }
        finally { Stop-Process -Id $victimPid -ErrorAction Ignore; $victim.Kill() }
    }

    It 'does not end a real job of root for a forged folder of another user bearing its id (issue 7, defect 1)' {
        $own = Join-Path $TestDrive 'own-jobs'
        Use-Shared -Dir $own
        $job = Submit-CcatJob -ExecutionCommand 'sleep 3605' -JobName real
        $null = Get-RunnerState $own $job.JobId
        $facts = Get-BootFacts
        # Same id, another LOCAL_JOB_DIR, a "dead" runner and a lock anyone can take.
        New-ForgedJob $script:shared $job.JobId @{ version = 1; host = [Environment]::MachineName; boot_id = $facts.boot; pid_namespace = $facts.ns
            runner_pid = 999999; runner_start_ticks = 1; job_pid = 999998; job_start_ticks = 1; started_at = [DateTimeOffset]::UtcNow.AddMinutes(-5).ToString('O') } -WithFreeLock

        Use-Shared
        $forged = Get-CcatJobStatus -JobId $job.JobId -Backend Local

        $forged.Reason | Should -Be 'Lost'
        $forged.Message | Should -Match 'lock on runner.lock is free'
        $forged.Message | Should -Match 'No process of the job was left'
        Get-ProcessCount 'sleep 3605' | Should -Be 1
        Use-Shared -Dir $own
        ($job | Get-CcatJobStatus).Status | Should -Be 'Running'
        $job | Stop-CcatJob -Confirm:$false
    }

    It 'lets root cancel the real job of another user' {
        $sub = Invoke-AsOther @('submit', '--name', 'theirs', '--', 'sleep 3602')
        $sub.ExitCode | Should -Be 0 -Because $sub.Output
        $id = $sub.Output.Trim().Split("`n")[-1]
        Wait-Until { (Get-ProcessCount 'sleep 3602') -eq 1 } 'their job runs'
        (Get-Item "$script:shared/$id").UnixStat.UserId | Should -Be $script:otherUid

        Use-Shared
        $stopped = Stop-CcatJob -JobId $id -Backend Local -Confirm:$false -PassThru

        $stopped.Reason | Should -Be 'Cancelled'
        Get-ProcessCount 'sleep 3602' | Should -Be 0
    }

    It 'gives another user neither the logs, the environment nor a way to signal the job (issue 7, defect 5)' {
        Use-Shared
        $job = Submit-CcatJob -ExecutionCommand 'echo private-output; sleep 3606' -Environment @{ API_TOKEN = 'tok-3606' } -JobName mine
        $state = Get-RunnerState $script:shared $job.JobId
        $dir = "$script:shared/$($job.JobId)"
        Wait-Until { (Get-Content "$dir/stdout.log" -Raw) -match 'private-output' } 'the job wrote its output'

        [int](Get-Item $dir).UnixFileMode | Should -Be 0x1C0   # 0700
        Get-ChildItem $dir -File -Force | Where-Object { [int]$_.UnixFileMode -ne 0x180 } | ForEach-Object Name | Should -BeNullOrEmpty   # 0600
        (Invoke-ShAsOther "cat '$dir/job.json'").ExitCode | Should -Not -Be 0
        (Invoke-ShAsOther "cat '$dir/stdout.log'").ExitCode | Should -Not -Be 0
        (Invoke-AsOther @('logs', $job.JobId)).Output | Should -Not -Match 'private-output'
        (Invoke-AsOther @('cancel', $job.JobId)).ExitCode | Should -Not -Be 0
        Start-Sleep -Seconds 1
        ($job | Get-CcatJobStatus).Status | Should -Be 'Running'
        Get-ProcessCount 'sleep 3606' | Should -Be 1
        $job | Stop-CcatJob -Confirm:$false
    }

    It 'leaves no process of a job behind once its runner was killed: <Who>' -ForEach @(
        @{ Who = 'root, marked by its cgroup'; AsOther = $false; Seconds = 3607 }
        @{ Who = 'an unprivileged user, marked by the inherited descriptor'; AsOther = $true; Seconds = 3609 }
    ) {
        # issue 7, defect 8: a `setsid env -i` grandchild too.
        $cmd = "setsid env -i sh -c 'sleep $Seconds' & sleep $($Seconds + 1)"
        Use-Shared
        if ($AsOther) {
            $sub = Invoke-AsOther @('submit', '--name', 'orphans', '--', $cmd)
            $sub.ExitCode | Should -Be 0 -Because $sub.Output
            $id = $sub.Output.Trim().Split("`n")[-1]
        }
        else {
            $id = (Submit-CcatJob -ExecutionCommand $cmd -JobName orphans).JobId
        }

        $state = Get-RunnerState $script:shared $id
        Wait-Until { (Get-ProcessCount "sleep $Seconds") -eq 1 -and (Get-ProcessCount "sleep $($Seconds + 1)") -eq 1 } 'both sleeps run'
        ($null -ne $state.cgroup) | Should -Be (-not $AsOther)

        Stop-Process -Id $state.runner_pid -Force   # kill -9
        # A runner this pwsh started is its child: once killed it is a zombie until the module
        # reaps it (at its next look at Local jobs), so 'ended' is gone or state Z.
        Wait-Until { Test-ProcessEnded $state.runner_pid } 'the runner has ended'
        $status = if ($AsOther) { (Invoke-AsOther @('status', $id)).Output | ConvertFrom-Json } else { Get-CcatJobStatus -JobId $id -Backend Local }

        $status.Reason | Should -Be 'Lost'
        $status.Message | Should -Match 'Ended \d+ leftover process'
        if (-not $AsOther) {
            Test-Path "/proc/$($state.runner_pid)" | Should -BeFalse -Because 'the status call reaped the runner this session started'
        }
        Get-ProcessCount "sleep $Seconds" | Should -Be 0
        Get-ProcessCount "sleep $($Seconds + 1)" | Should -Be 0
    }

    It 'keeps the store password out of the job''s environment' {
        Use-Shared
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PASSWORD = 'pw-never-in-jobs'
        try {
            $job = Submit-CcatJob -ExecutionCommand 'env' | Wait-CcatJob -Timeout 60
            $job.Status | Should -Be 'Completed'
            ($job | Get-CcatJobLog) -join "`n" | Should -Not -Match 'pw-never-in-jobs'
            ($job | Get-CcatJobLog) -join "`n" | Should -Match 'CCAT_JOB_ID='
        }
        finally { Remove-Item env:CCAT_WORKFLOW_MANAGER_REDIS_PASSWORD }
    }

    It 'creates the default job tree under ~/.local/state 0700 (issue 7, defect 5)' {
        # The default is read once per process: a fresh process (the runner's ctl) with its own XDG_STATE_HOME.
        $state = Join-Path $TestDrive 'xdg-state'
        $out = & env -u CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR "XDG_STATE_HOME=$state" dotnet $script:runnerDll ctl submit -- true
        $LASTEXITCODE | Should -Be 0
        $id = "$out".Trim()
        foreach ($d in "$state", "$state/ccat-workflow", "$state/ccat-workflow/jobs", "$state/ccat-workflow/jobs/$id") {
            [int](Get-Item $d).UnixFileMode | Should -Be 0x1C0 -Because $d
        }
    }
}

Describe 'Local results on a full or read-only disk (<Store> store)' -ForEach @(@{ Store = 'file' }, @{ Store = 'redis' }) -Tag 'Service', 'Local', 'Redis', 'Root' {
    BeforeAll {
        $script:mnt = "/tmp/ccat-trust-tmpfs-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $script:mnt | Out-Null
        & mount -t tmpfs -o size=2m tmpfs $script:mnt
        if ($LASTEXITCODE -ne 0) { throw "mount -t tmpfs failed: this suite needs a small tmpfs for a full and a read-only disk" }
    }
    AfterAll {
        if ($script:roBind) { & umount $script:mnt }   # a read-only bind left by a failed test
        Use-Shared -Store $Store -Dir $script:mnt
        Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false
        & umount -l $script:mnt
        Remove-Item $script:mnt -ErrorAction Ignore
    }

    It 'submits a job that fills the disk at once, and records its exit code (issue 7, defects 2 and 3)' {
        Use-Shared -Store $Store -Dir $script:mnt
        $job = Submit-CcatJob -ExecutionCommand 'cat /dev/zero > fill; rm -f fill2; exit 5' -JobName filler

        $done = $job | Wait-CcatJob -Timeout 120

        $done.Status | Should -Be 'Failed'
        $done.Reason | Should -Be 'NonZeroExit'
        $done.ExitCode | Should -Be 5
        Remove-Item "$script:mnt/$($job.JobId)/fill" -ErrorAction Ignore
    }

    It 'never calls a job lost while its runner lives on a read-only disk, and records its result (issue 7, defect 2)' {
        Use-Shared -Store $Store -Dir $script:mnt
        $job = Submit-CcatJob -ExecutionCommand 'sleep 2; exit 6' -JobName readonly
        $state = Get-RunnerState $script:mnt $job.JobId
        # Read-only from now on for every new open (a read-only bind mounted over the folder's
        # file system; files already open for writing — the job's output — stay writable, as
        # they would after a remount that the kernel refuses while they are open).
        & mount --bind $script:mnt $script:mnt
        $script:roBind = $true
        & mount -o remount,bind,ro $script:mnt
        if ($LASTEXITCODE -ne 0) { throw 'cannot make the job folder read-only (mount -o remount,bind,ro)' }
        try {
            Wait-Until { -not (Test-Path "/proc/$($state.job_pid)") } 'the job ended'
            if ($Store -eq 'redis') {
                # the store took the result the folder refused
                Wait-Until { ($job | Get-CcatJobStatus).ExitCode -eq 6 } 'the store holds the result'
            }
            else {
                # nothing durable can be written: the runner keeps the result and waits (an
                # absence, so watched for a while rather than waited for)
                Start-Sleep -Seconds 2
                $during = $job | Get-CcatJobStatus
                $during.Status | Should -Be 'Running'
                Get-Process -Id $state.runner_pid | Should -Not -BeNullOrEmpty
            }
        }
        finally { & umount $script:mnt; $script:roBind = $false }

        $done = $job | Wait-CcatJob -Timeout 120
        $done.ExitCode | Should -Be 6
        $done.Reason | Should -Be 'NonZeroExit'
    }
}

Describe 'Local job records that are not regular files (issue 7, defect 6)' -Tag 'Service', 'Local', 'Redis', 'Root' {
    It 'lists the good jobs and reports the bad one as an error, without hanging or exhausting memory' {
        $dir = Join-Path $TestDrive 'bad-records'
        Use-Shared -Dir $dir
        $good = Submit-CcatJob -ExecutionCommand 'true' -JobName good | Wait-CcatJob -Timeout 60
        $zero = [guid]::NewGuid().ToString(); $fifo = [guid]::NewGuid().ToString()
        New-Item -ItemType Directory "$dir/$zero", "$dir/$fifo" | Out-Null
        New-Item -ItemType SymbolicLink -Path "$dir/$zero/record.json" -Target /dev/zero | Out-Null
        & mkfifo "$dir/$fifo/record.json"

        $listed = Get-CcatJob -Backend Local
        $errors = @()
        Get-CcatJobStatus -JobId $zero, $fifo -Backend Local -ErrorVariable errors -ErrorAction SilentlyContinue

        $listed.JobId | Should -Be @($good.JobId)
        $errors.Count | Should -Be 2
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'StoreUnavailable,*'
        $text = ($errors | ForEach-Object { "$_" }) -join "`n"
        $text | Should -Match "$zero/record.json is a symbolic link"
        $text | Should -Match "$fifo/record.json is not a regular file"
    }
}

Describe 'Local jobs whose Redis data was lost (issue 7, defect 4)' -Tag 'Service', 'Local', 'Redis', 'Root' {
    It 'finds a running job again from its folder: status, listing, log and cancel, and heals the store' {
        Use-Shared -Store redis -Dir (Join-Path $TestDrive 'redis-lost')
        $job = Submit-CcatJob -ExecutionCommand 'echo still-here; sleep 3608' -JobName survivor
        $null = Get-RunnerState $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR $job.JobId
        Wait-Until { ($job | Get-CcatJobLog) -match 'still-here' } 'the job wrote its output'
        $prefix = $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX
        & redis-cli -p 16379 DEL "${prefix}:local:job:$($job.JobId)" | Out-Null
        & redis-cli -p 16379 ZREM "${prefix}:local:jobs" $job.JobId | Out-Null

        ($job | Get-CcatJobStatus).Status | Should -Be 'Running'
        (Get-CcatJob -Backend Local).JobId | Should -Contain $job.JobId
        $job | Get-CcatJobLog | Should -Be 'still-here'
        & redis-cli -p 16379 HGET "${prefix}:local:job:$($job.JobId)" status | Should -Be 'running'
        $stopped = $job | Stop-CcatJob -Confirm:$false -PassThru
        $stopped.Reason | Should -Be 'Cancelled'
        Get-ProcessCount 'sleep 3608' | Should -Be 0
    }
}

Describe 'Local cancel decided once, by the runner, from the wait status (issue 7, defect 7)' -Tag 'Service', 'Local', 'Redis', 'Root' {
    It 'records a job that ends on its own before the signal can land as completed' {
        Use-Shared -Dir (Join-Path $TestDrive 'race')
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '30'
        # TERM is ignored, so the signal cannot end it: the job ends by itself (long before KILL
        # after the grace period), exit 0, with all its output.
        $job = Submit-CcatJob -ExecutionCommand "trap '' TERM; echo begun; sleep 3; echo finished" -JobName race
        Wait-Until { ($job | Get-CcatJobLog) -match 'begun' } 'the job started'

        $stopped = $job | Stop-CcatJob -Confirm:$false -PassThru

        $stopped.Status | Should -Be 'Completed'
        $stopped.ExitCode | Should -Be 0
        ($job | Get-CcatJobLog) -join ',' | Should -Be 'begun,finished'
    }
}

Describe 'Local jobs whose folder is deleted while they run (issue 7, defect 9)' -Tag 'Service', 'Local', 'Redis', 'Root' {
    It 'stays visible while it runs, then reads cancelled' {
        $dir = Join-Path $TestDrive 'deleted'
        Use-Shared -Dir $dir
        $job = Submit-CcatJob -ExecutionCommand "trap 'sleep 1; exit 1' TERM; sleep 3610 & wait" -JobName doomed -SecretEnvironment @{ TOKEN = 'secret-of-3610' }
        $null = Get-RunnerState $dir $job.JobId

        # "Directory not empty" is fine: the runner put the folder back while it was being removed
        try { Remove-Item -Recurse -Force "$dir/$($job.JobId)" -ErrorAction Stop } catch [System.IO.IOException] { }
        Wait-Until { Test-Path "$dir/$($job.JobId)/runner.json" } 'the runner put the folder back'
        $during = $job | Get-CcatJobStatus
        $listed = (Get-CcatJob -Backend Local).JobId

        $during.JobId | Should -Be $job.JobId
        $listed | Should -Contain $job.JobId
        $done = $job | Wait-CcatJob -Timeout 60
        $done.Reason | Should -Be 'Cancelled'
        $done.Message | Should -Match 'was deleted while the job ran'
        Get-ChildItem "$dir/$($job.JobId)" -File -Force | Get-Content -Raw | Should -Not -Match 'secret-of-3610'
    }
}
