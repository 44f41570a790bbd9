# The Slurm backend through the cmdlets, against the real single-node cluster of
# tests/infra/slurm (slurmctld, slurmd, slurmdbd, munge, MariaDB; started here if it is not up).
# The same behavioural suite runs once per transport (SLURM_TRANSPORT): cli (the commands on
# this machine), ssh (the commands on the login node over the loopback sshd of tests/infra/ssh,
# as its test user) and rest (slurmrestd with a JWT, started by tests/infra/slurm/start.sh; the
# job folders on this machine, which shares them with the single node). The slow jobs (time limit, memory, CPU, cancel) are submitted first and
# checked later, so each pass takes about as long as the one-minute time-limit job.

BeforeAll {
    # The REST transport's settings, as the cluster's start script prints them (slurmrestd is started last).
    $script:restSettings = [ordered]@{}
    foreach ($line in (& bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh'))) {
        if ($line -match '^([A-Z0-9_]+)=(.*)$') { $script:restSettings[$Matches[1]] = $Matches[2] }
    }
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    $script:restLog = $script:restSettings['SLURMRESTD_LOG']
    # The SSH transport's settings, as its start script prints them (CCAT_WORKFLOW_MANAGER_<SETTING>=value).
    $script:sshSettings = [ordered]@{}
    foreach ($line in (& bash (Join-Path $PSScriptRoot '../infra/ssh/start.sh'))) {
        if ($line -match '^([A-Z0-9_]+)=(.*)$') { $script:sshSettings[$Matches[1]] = $Matches[2] }
    }
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/ssh/start.sh failed with exit code $LASTEXITCODE" }
    $script:sshdLog = $script:sshSettings['SSHD_LOG']
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Join-Path $PSScriptRoot '../../out/CcatWorkflow/CcatWorkflow.psd1') -Force
    $script:savedPath = $env:PATH

    function Wait-Slurm([Parameter(ValueFromPipeline)] $Job, [int] $Timeout = 150) {
        process { $Job | Wait-CcatJob -Timeout $Timeout }
    }

    # Points the module at the cluster through one transport, with a fresh job directory.
    function Use-SlurmTransport([string] $Transport, [string] $Work) {
        Remove-Item -Recurse -Force $Work -ErrorAction Ignore
        Reset-CcatEnvironment -JobDir (Join-Path $Work 'local-jobs')
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
        $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'
        if ($Transport -eq 'ssh') {
            foreach ($k in $script:sshSettings.Keys) { if ($k -like 'CCAT_WORKFLOW_MANAGER_*') { Set-Item "env:$k" $script:sshSettings[$k] } }
            # The login node's user writes the job folders: a directory it may create. One per
            # block: another job directory is another settings fingerprint, so each block has a
            # backend and a connection of its own and passes alone and in any order.
            $dir = "/tmp/ccat-pester-slurm-ssh-$PID-$(Split-Path $Work -Leaf)"
        }
        elseif ($Transport -eq 'rest') {
            foreach ($k in $script:restSettings.Keys) { if ($k -like 'CCAT_WORKFLOW_MANAGER_*') { Set-Item "env:$k" $script:restSettings[$k] } }
            $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = 'rest'
            $dir = Join-Path $Work 'slurm-jobs'
        }
        else {
            $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = 'cli'
            $dir = Join-Path $Work 'slurm-jobs'
        }
        $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $dir
        $dir
    }

    # slurmrestd's log: one 'operations_router: … GET /slurm…' line per request it serves.
    function Get-RestRequests([string] $Pattern = 'operations_router:') { @(Select-String -Path $script:restLog -Pattern $Pattern -SimpleMatch).Count }

    # sshd's log lines (LogLevel VERBOSE): one 'Accepted publickey' per login, one 'Starting
    # session: command' per exec — counted for this process's own open connections only: the sshd is shared by every test
    # run on the machine (other helpers' logins and commands land in the same log, so a global
    # count is only right when nothing else runs). Own connections are this PID's client ports
    # as ss(8) shows them, and — through a bastion of ours (SLURM_SSH_PROXY_JUMP to this same
    # sshd) — the ports of the connections that bastion session's sshd child opened for us. The
    # module keeps its connections open, so a login it made is still counted at the end.
    function Get-OwnSshdPorts {
        $port = $script:sshSettings['CCAT_WORKFLOW_MANAGER_SLURM_SSH_PORT']
        $rows = @(& ss -tnpH "( dport = :$port )")
        function PortsOf([string] $Pid_) { $rows | Where-Object { $_ -match "pid=$Pid_," } | ForEach-Object { if ($_ -match ':(\d+)\s+\S+:\d+\s+users:') { $Matches[1] } } }
        $own = @(PortsOf $PID)
        if ($own.Count -eq 0) { return @() }
        $children = @(Select-String -Path $script:sshdLog -Pattern 'Accepted publickey for' -SimpleMatch -Context 0, 6 | ForEach-Object {
                if ($_.Line -match ' port (\d+) ' -and $own -contains $Matches[1]) {
                    @($_.Context.PostContext | Where-Object { $_ -match '^User child is on pid (\d+)' } | Select-Object -First 1) | ForEach-Object { $null = $_ -match '(\d+)$'; $Matches[1] }
                }
            })
        @($own) + @($children | ForEach-Object { PortsOf $_ })
    }
    function Get-OwnSshdCount([string] $Pattern) {
        $ports = @(Get-OwnSshdPorts)
        if ($ports.Count -eq 0) { return 0 }
        $own = '(' + (($ports | ForEach-Object { "port $_ " }) -join '|') + ')'
        @(Select-String -Path $script:sshdLog -Pattern $Pattern -SimpleMatch | Where-Object { $_.Line -match $own }).Count
    }
}

# Every block has its own job directory, hence its own backend and SSH connection (settings
# fingerprint), and counts only its own process's logins and commands in the shared sshd's log:
# each passes alone (e.g. Invoke-Pester -FullNameFilter 'Slurm over SSH*') and in any order.
Describe 'Slurm backend over <Transport>' -ForEach @(@{ Transport = 'cli' }, @{ Transport = 'rest' }, @{ Transport = 'ssh' }) -Tag 'Service', 'Slurm' {
    BeforeAll {
        $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-slurm-$PID-$Transport"
        $script:jobDir = Use-SlurmTransport $Transport $script:work

        # What the jobs do. The memory job holds 300 MiB in dd's buffer while sleep keeps the pipe
        # full; the CPU job spins the shell and prints its own CPU time (times: user and system of
        # the shell, then of its children).
        $script:touchedGb = 300 / 1024
        $cpuCommand = 'i=0; while [ $i -lt 2500000 ]; do i=$((i+1)); done; times'

        # Submitted first: they take long, and are checked at the end.
        $script:timeoutJob = Submit-CcatJob -ExecutionCommand 'sleep 300' -JobName 'pester timeout' -Resources @{ time_hours = 1 / 60 }
        $script:memoryJob = Submit-CcatJob -ExecutionCommand 'dd if=/dev/zero bs=300M count=1 2>/dev/null | sleep 6' -JobName 'pester memory' -Resources @{ memory_gb = 1 }
        $script:cpuJob = Submit-CcatJob -ExecutionCommand $cpuCommand -JobName 'pester cpu'
        # 400 MiB against a 100 MiB limit: without cgroups slurmstepd's OverMemoryKill ends it FAILED 0:9.
        $script:oomJob = Submit-CcatJob -ExecutionCommand 'dd if=/dev/zero bs=400M count=1 2>/dev/null | sleep 8' -JobName 'pester oom' -Resources @{ memory_gb = 0.1 }
        $script:cancelJob = Submit-CcatJob -ExecutionCommand 'echo started; sleep 300' -JobName 'pester cancel'
        $script:exitJob = Submit-CcatJob -ExecutionCommand 'echo out1; echo out2; echo err1 >&2; exit 3' -JobName 'pester exit 3'

        # The hostile values of the quoting round trip.
        $script:hostile = [ordered]@{
            Q_QUOTES    = "it's `"double`" and 'single'"
            Q_DOLLAR    = '$HOME ${PATH:-x} $(id -u) $((1+2))'
            Q_BACKTICK  = 'before `uname` after'
            Q_BACKSLASH = 'a\b \n \\ \'''
            Q_NEWLINES  = "line1`nline2`n`n"
            Q_UNICODE   = 'Grüße, 日本語, ελληνικά, emoji 🚀'
            Q_CRLF      = "dos`r`nline`r"
            Q_EMPTY     = ''
            Q_SHELL     = 'a;b|c&d>e<f; exit 99 # not a comment'
        }
        $names = ($script:hostile.Keys | ForEach-Object { $_ }) -join ' '
        $script:quoteJob = Submit-CcatJob -JobName 'pester quoting' -Environment $script:hostile `
            -ExecutionCommand "for n in $names; do printenv `"`$n`"; printf '%s\n' '--8<--'; done"
    }

    AfterAll {
        $env:PATH = $script:savedPath
        # Nothing of ours may keep running on the shared test cluster.
        $live = @(Get-CcatJob -Backend Slurm -Status Pending, Running -ErrorAction Ignore)
        if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
        Remove-Item -Recurse -Force $script:work, $script:jobDir -ErrorAction Ignore
        Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
    }

    Describe 'Slurm backend: submit and read back' {
        It 'a job that exits 3 reads failed, exit code 3, reason non-zero exit, wall time and CPU hours from sacct' {
            $r = $script:exitJob | Wait-Slurm
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
            $r.ExitCode | Should -Be 3 -Because ($r | Format-List * | Out-String)
            $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::NonZeroExit)
            $r.NativeState | Should -Be 'FAILED'
            $r.WallTimeSeconds | Should -Not -BeNullOrEmpty -Because 'ElapsedRaw comes from sacct'
            $r.WallTimeSeconds | Should -BeGreaterOrEqual 0
            $r.CpuHours | Should -Not -BeNullOrEmpty -Because 'TotalCPU comes from sacct'
            $r.AllocatedCpuHours | Should -Not -BeNullOrEmpty
            $r.JobName | Should -Be 'pester exit 3'
            $r.FinishedAt | Should -Not -BeNullOrEmpty
        }

        It 'with HPC_BACKEND=slurm, Submit-CcatJob | Wait-CcatJob needs no -Backend' {
            $r = Submit-CcatJob -ExecutionCommand 'exit 3' | Wait-CcatJob -Timeout 60
            $r.Backend | Should -Be ([CcatWorkflow.HPCBackendKind]::Slurm)
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
            $r.ExitCode | Should -Be 3
            $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::NonZeroExit)
            $r.WallTimeSeconds | Should -Not -BeNullOrEmpty
            $r.CpuHours | Should -Not -BeNullOrEmpty
        }

        It 'keeps the script next to the logs in the job folder, reachable by job id' {
            $folder = Join-Path $script:jobDir $script:exitJob.JobId
            Test-Path (Join-Path $folder 'job.sbatch') | Should -BeTrue
            Test-Path (Join-Path $folder 'stdout.log') | Should -BeTrue
            Test-Path (Join-Path $folder 'stderr.log') | Should -BeTrue
            $meta = Get-Content (Join-Path $folder 'job.json') -Raw | ConvertFrom-Json
            $meta.jobName | Should -Be 'pester exit 3'
            $meta.tag | Should -Be 'ccat-workflow'
            Get-Content (Join-Path $folder 'job.sbatch') | Should -Contain '#SBATCH --comment=ccat-workflow'
        }

        It 'reads stdout and stderr, and -Tail' {
            $lines = @($script:exitJob | Get-CcatJobLog)
            $lines | Should -Be @('out1', 'out2', 'err1')
            @($script:exitJob | Get-CcatJobLog -Tail 1 -Stream Output) | Should -Be @('out2')
            @($script:exitJob | Get-CcatJobLog -Stream Error) | Should -Be @('err1')
        }

        It 'follows a running job''s output to its end' {
            $lines = @(Submit-CcatJob -ExecutionCommand 'echo first; sleep 2; echo second; echo third >&2' -JobName 'pester follow' | Get-CcatJobLog -Follow)
            $lines | Should -Be @('first', 'second', 'third')
        }

        It 'passes hostile environment values into the job exactly as given' {
            $null = $script:quoteJob | Wait-Slurm
            $expected = ($script:hostile.Values | ForEach-Object { $_ + "`n--8<--`n" }) -join ''
            $text = $script:quoteJob | Get-CcatJobLog -Stream Output -Raw
            $text | Should -BeExactly $expected
        }

        It '-WhatIf shows the exact script and submits nothing' {
            $before = @(Get-ChildItem $script:jobDir).Count
            $text = Get-WhatIfText "Submit-CcatJob -ExecutionCommand 'echo `$HOME' -Resources @{ cpu = 2; memory_gb = 1.5; time_hours = 25 } -WhatIf"
            $text | Should -Match '#!/bin/sh'
            $text | Should -Match '#SBATCH --cpus-per-task=2'
            $text | Should -Match '#SBATCH --mem=1536M'
            $text | Should -Match '#SBATCH --time=1-01:00:00'
            $text | Should -Match ([regex]::Escape("exec /bin/sh -c 'echo `$HOME'"))
            @(Get-ChildItem $script:jobDir).Count | Should -Be $before
        }
    }

    Describe 'Slurm backend: refusals' {
        It 'sbatch refusing too much memory is SubmissionRejected with sbatch''s message, and nothing is recorded' {
            $before = @(Get-ChildItem $script:jobDir).Count
            $r = Submit-CcatJob -ExecutionCommand 'true' -Resources @{ memory_gb = 60000 } -ErrorVariable err -ErrorAction SilentlyContinue
            $r | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'SubmissionRejected,*'
            $err[0].Exception.Message | Should -Match ($Transport -eq 'rest' ? 'slurmrestd' : 'sbatch')
            $err[0].Exception.Message | Should -Match 'node configuration is not available|Memory specification'
            @(Get-ChildItem $script:jobDir).Count | Should -Be $before
        }

        It 'sbatch refusing an unknown partition is SubmissionRejected with sbatch''s message' {
            $env:CCAT_WORKFLOW_MANAGER_SLURM_PARTITION = 'no_such_partition'
            try {
                $r = Submit-CcatJob -ExecutionCommand 'true' -ErrorVariable err -ErrorAction SilentlyContinue
            }
            finally {
                Remove-Item env:CCAT_WORKFLOW_MANAGER_SLURM_PARTITION
            }

            $r | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'SubmissionRejected,*'
            $err[0].Exception.Message | Should -Match 'Invalid partition name specified'
        }

        It 'an id Slurm does not know is JobNotFound, and a malformed id InvalidJobId' {
            Get-CcatJobStatus -JobId 987654 -Backend Slurm -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'JobNotFound,*'
            Get-CcatJobStatus -JobId '1;true' -Backend Slurm -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err2[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobId,*'
        }
    }

    Describe 'Slurm backend: many jobs' {
        It 'reads the status of 100 jobs in one call: one squeue and one sacct (over ssh: one remote command, no new login; over rest: two requests)' {
            $jobs = @(1..100 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'exit 0' -JobName "pester many $_" })
            $jobs.Count | Should -Be 100

            if ($Transport -eq 'cli') {
                # Count the scheduler calls with logging wrappers in front of the real commands.
                $shim = Join-Path $script:work 'shim'
                New-Item -ItemType Directory -Force $shim | Out-Null
                $log = Join-Path $script:work 'calls.log'
                foreach ($tool in 'squeue', 'sacct', 'scancel', 'sbatch') {
                    $real = (Get-Command $tool -CommandType Application | Select-Object -First 1).Source
                    Set-Content -Path (Join-Path $shim $tool) -Value "#!/bin/sh`necho $tool >> '$log'`nexec '$real' `"`$@`"`n"
                    & chmod +x (Join-Path $shim $tool)
                }

                $env:PATH = "$shim$([IO.Path]::PathSeparator)$script:savedPath"
            }
            $logins = Get-OwnSshdCount 'Accepted publickey'
            $execs = Get-OwnSshdCount 'Starting session: command'
            $requests = Get-RestRequests
            try {
                $statuses = @(Get-CcatJobStatus -JobId $jobs.JobId -Backend Slurm)
            }
            finally {
                $env:PATH = $script:savedPath
            }

            if ($Transport -eq 'cli') {
                $calls = @(Get-Content $log)
                @($calls | Where-Object { $_ -eq 'squeue' }).Count | Should -Be 1
                @($calls | Where-Object { $_ -eq 'sacct' }).Count | Should -Be 1
                $calls.Count | Should -Be 2
            }
            elseif ($Transport -eq 'rest') {
                ((Get-RestRequests) - $requests) | Should -Be 2 -Because 'one GET of the controller''s jobs and one GET of their accounting records'
            }
            else {
                ((Get-OwnSshdCount 'Starting session: command') - $execs) | Should -Be 1 -Because 'squeue and sacct of one status call go as one remote command'
                ((Get-OwnSshdCount 'Accepted publickey') - $logins) | Should -Be 0 -Because 'the connection of the submissions is reused'
            }

            $statuses.Count | Should -Be 100
            ($statuses.JobId | Sort-Object) | Should -Be ($jobs.JobId | Sort-Object)
            $statuses | ForEach-Object { $_.Status | Should -BeIn @('Pending', 'Running', 'Completed') }
            $final = @($jobs | Wait-CcatJob -Timeout 180)
            $final.Count | Should -Be 100
            $final | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed) }
        }

        It 'Get-CcatJob -Backend Slurm lists the jobs the module submitted and not others' {
            $foreign = (& sbatch --parsable --wrap=true --output=/dev/null).Trim()
            $listed = @(Get-CcatJob -Backend Slurm)
            $listed.JobId | Should -Contain $script:exitJob.JobId
            $listed.JobId | Should -Contain $script:memoryJob.JobId
            $listed.JobId | Should -Not -Contain $foreign
            ($listed | Where-Object JobId -EQ $script:exitJob.JobId).JobName | Should -Be 'pester exit 3'
        }
    }

    Describe 'Slurm backend: metrics and endings' {
        It 'a running job that is cancelled reads failed with reason cancelled; cancelling it again is not an error' {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            do {
                $s = $script:cancelJob | Get-CcatJobStatus
                if ($s.Status -eq 'Running') { break }
                Start-Sleep -Milliseconds 250
            } while ([DateTime]::UtcNow -lt $deadline)
            $s.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Running)

            $after = $script:cancelJob | Stop-CcatJob -PassThru -Confirm:$false
            $after.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
            $after.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Cancelled)

            $final = $script:cancelJob | Wait-Slurm -Timeout 60
            $final.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Cancelled)
            $final.NativeState | Should -BeLike 'CANCELLED*'

            $script:cancelJob | Stop-CcatJob -Confirm:$false -ErrorVariable again -ErrorAction SilentlyContinue
            $again.Count | Should -Be 0
            ($script:exitJob | Stop-CcatJob -Confirm:$false -PassThru).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        }

        It 'reports peak memory within 15% of what the job touched' {
            $r = $script:memoryJob | Wait-Slurm
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
            $r.PeakMemoryGb | Should -Not -BeNullOrEmpty
            $r.PeakMemoryGb | Should -BeGreaterOrEqual ($script:touchedGb * 0.85)
            $r.PeakMemoryGb | Should -BeLessOrEqual ($script:touchedGb * 1.15)
        }

        It 'reports CPU hours within 15% of the CPU the job used' {
            $r = $script:cpuJob | Wait-Slurm
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
            # times prints "0m3.380000s 0m0.010000s" for the shell, then the same for its children.
            $burned = 0.0
            foreach ($m in [regex]::Matches(($script:cpuJob | Get-CcatJobLog -Raw), '(\d+)m([\d.]+)s')) {
                $burned += [double]$m.Groups[1].Value * 60 + [double]::Parse($m.Groups[2].Value, [cultureinfo]::InvariantCulture)
            }
            $burned | Should -BeGreaterThan 1
            $r.CpuHours | Should -Not -BeNullOrEmpty
            ($r.CpuHours * 3600) | Should -BeGreaterOrEqual ($burned * 0.85)
            ($r.CpuHours * 3600) | Should -BeLessOrEqual ($burned * 1.15)
            $r.AllocatedCpuHours | Should -BeGreaterOrEqual ($r.WallTimeSeconds / 3600 * 0.99)
        }

        It 'peak memory and CPU hours agree with sacct''s MaxRSS and TotalCPU for the same jobs within 15%' {
            $mem = $script:memoryJob | Wait-Slurm
            $cpu = $script:cpuJob | Wait-Slurm
            $maxRss = (& sacct -j $mem.JobId --noheader --parsable2 --format=MaxRSS --units=K | Where-Object { $_ -match '^\d' } |
                    ForEach-Object { [double]($_ -replace 'K$', '') } | Measure-Object -Maximum).Maximum * 1KB
            $maxRss | Should -BeGreaterThan 0
            ($mem.PeakMemoryGb * 1GB) | Should -BeGreaterOrEqual ($maxRss * 0.85)
            ($mem.PeakMemoryGb * 1GB) | Should -BeLessOrEqual ($maxRss * 1.15)
            # The job row (without -X: with it, 22.05 prints 00:00:00), which sums its steps.
            $total = (& sacct -j $cpu.JobId --noheader --parsable2 --format=TotalCPU | Select-Object -First 1).Trim()
            $m = [regex]::Match($total, '^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$')
            $m.Success | Should -BeTrue -Because "sacct printed TotalCPU '$total'"
            $seconds = [double]('0' + $m.Groups[1].Value) * 86400 + [double]('0' + $m.Groups[2].Value) * 3600 + [double]$m.Groups[3].Value * 60 + [double]::Parse($m.Groups[4].Value, [cultureinfo]::InvariantCulture)
            $seconds | Should -BeGreaterThan 1
            ($cpu.CpuHours * 3600) | Should -BeGreaterOrEqual ($seconds * 0.85)
            ($cpu.CpuHours * 3600) | Should -BeLessOrEqual ($seconds * 1.15)
        }

        It 'a job killed for exceeding its memory request reads failed with reason out of memory' {
            $r = $script:oomJob | Wait-Slurm
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
            $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::OutOfMemory)
            $r.NativeState | Should -BeIn @('FAILED', 'OUT_OF_MEMORY')
        }

        It 'a job that runs past its time limit reads failed with reason timeout' {
            $r = $script:timeoutJob | Wait-Slurm -Timeout 180
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
            $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Timeout)
            $r.NativeState | Should -Be 'TIMEOUT'
            $r.WallTimeSeconds | Should -BeGreaterOrEqual 60
            ($script:timeoutJob | Get-CcatJobLog -Raw) | Should -Match 'DUE TO TIME LIMIT'
        }
    }

    Describe 'Slurm backend: accounting outage' {
        It 'an unreachable slurmdbd is SchedulerUnavailable for a finished job, never a failed job' {
            $pidFile = Join-Path ($env:CCAT_INFRA_DIR ?? '/tmp/ccat-infra') 'slurm/run/slurmdbd.pid'
            $dbd = [int](Get-Content $pidFile)
            try {
                Stop-Process -Id $dbd
                $deadline = [DateTime]::UtcNow.AddSeconds(20)
                while ((Get-Process -Id $dbd -ErrorAction Ignore) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
                $r = $script:exitJob | Get-CcatJobStatus -ErrorVariable err -ErrorAction SilentlyContinue
                $r | Should -BeNullOrEmpty
                $err.Count | Should -Be 1
                if ($Transport -eq 'rest') {
                    # slurmrestd answers for slurmdbd: a server error of its own, still "could not be asked".
                    $err[0].FullyQualifiedErrorId | Should -BeLike 'SlurmRestServerError,*'
                    "$($err[0].CategoryInfo.Category)" | Should -Be 'ResourceUnavailable'
                }
                else {
                    $err[0].FullyQualifiedErrorId | Should -BeLike 'SchedulerUnavailable,*'
                    "$($err[0].CategoryInfo.Category)" | Should -Be 'ConnectionError'
                }
            }
            finally {
                & bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh') | Out-Null
            }

            ($script:exitJob | Get-CcatJobStatus).Reason | Should -Be ([CcatWorkflow.HPCJobReason]::NonZeroExit)
        }
    }
}

Describe 'Slurm over SSH: one connection, a pinned host key, errors of their own' -Tag 'Service', 'Slurm' {
    BeforeAll {
        $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-slurm-$PID-sshconn"
        $script:jobDir = Use-SlurmTransport 'ssh' $script:work
        $script:sshDir = Split-Path $script:sshSettings['CCAT_WORKFLOW_MANAGER_SLURM_SSH_KNOWN_HOSTS']
        $script:job = Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'pester ssh connection'

        # Runs a status call with one setting changed (a new backend: a new connection attempt).
        function Get-StatusErrorWith([string] $Setting, [string] $Value) {
            $saved = Get-Item "env:CCAT_WORKFLOW_MANAGER_$Setting" -ErrorAction Ignore
            Set-Item "env:CCAT_WORKFLOW_MANAGER_$Setting" $Value
            try {
                $r = Get-CcatJobStatus -JobId $script:job.JobId -Backend Slurm -ErrorVariable err -ErrorAction SilentlyContinue
                $r | Should -BeNullOrEmpty -Because 'a transport that cannot be used gives no job state, least of all failed'
                $err.Count | Should -Be 1
                $err[0]
            }
            finally {
                Set-Item "env:CCAT_WORKFLOW_MANAGER_$Setting" $saved.Value
            }
        }
    }

    AfterAll {
        Remove-Item -Recurse -Force $script:work, $script:jobDir -ErrorAction Ignore
        Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
    }

    It 'a second, third and fourth cmdlet in the same session open no new connection (counted in sshd''s log)' {
        $null = $script:job | Wait-Slurm -Timeout 60
        $logins = Get-OwnSshdCount 'Accepted publickey'
        ($script:job | Get-CcatJobStatus).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        @(Get-CcatJob -Backend Slurm).Count | Should -BeGreaterThan 0
        $script:job | Stop-CcatJob -Confirm:$false -ErrorVariable stopErr -ErrorAction SilentlyContinue
        $stopErr.Count | Should -Be 0 -Because 'cancelling a finished job is not an error'
        ((Get-OwnSshdCount 'Accepted publickey') - $logins) | Should -Be 0
    }

    It 'a submission is one remote command: folder, sbatch and link in one exec channel (counted in sshd''s log)' {
        $null = Get-CcatJobStatus -JobId $script:job.JobId   # the connection is up
        $execs = Get-OwnSshdCount 'Starting session: command'
        $job = Submit-CcatJob -ExecutionCommand 'echo one-exec' -JobName 'pester one exec' -SecretEnvironment @{ ONE_EXEC_SECRET = 'x' }
        ((Get-OwnSshdCount 'Starting session: command') - $execs) | Should -Be 1
        $r = $job | Wait-Slurm -Timeout 60
        $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        $job | Get-CcatJobLog | Should -Be 'one-exec'
        $link = Get-Item (Join-Path $script:jobDir $job.JobId)
        $link.LinkTarget | Should -Match '^\d{8}T\d{6}Z-[0-9a-f]+$'
        (& stat -c '%a %U' (Join-Path $script:jobDir $link.LinkTarget)) | Should -Be '700 ccatssh'
    }

    It 'a refused submission over SSH leaves no folder behind' {
        $before = @(Get-ChildItem $script:jobDir).Count
        Submit-CcatJob -ExecutionCommand 'true' -Partition 'nosuchpartition' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SubmissionRejected,*'
        @(Get-ChildItem $script:jobDir).Count | Should -Be $before
    }

    It 'Remove-CcatJob over SSH removes the folders and links of a batch in one remote command, and the listing no longer shows them' {
        $jobs = @(1..3 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'exit 0' -JobName "pester ssh remove $_" }) | Wait-Slurm -Timeout 90
        $keep = Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'pester ssh keep' | Wait-Slurm -Timeout 90
        $targets = $jobs | ForEach-Object { (Get-Item (Join-Path $script:jobDir $_.JobId)).LinkTarget }
        # Once more first: a job squeue still showed live when it ended is asked about in two steps once.
        $null = Get-CcatJobStatus -JobId $jobs.JobId
        $execs = Get-OwnSshdCount 'Starting session: command'
        $verbose = @($jobs | Remove-CcatJob -PassThru -Confirm:$false -Verbose 4>&1)
        $removed = @($verbose | Where-Object { $_ -is [CcatWorkflow.HPCJobInfo] })
        # Every remote command is in the verbose stream: one removal for the three (the status
        # calls before it are the cmdlet's and the rule's), and nothing else ran (sshd's log).
        $commands = @($verbose | Where-Object { $_ -is [Management.Automation.VerboseRecord] -and $_.Message -like 'SSH command on *' })
        @($commands | Where-Object Message -Like '*(remove 3 job folders)*').Count | Should -Be 1 -Because ($commands.Message -join '; ')
        @($commands | Where-Object Message -Like '*remove*').Count | Should -Be 1
        ((Get-OwnSshdCount 'Starting session: command') - $execs) | Should -Be $commands.Count
        $removed.Count | Should -Be 3
        foreach ($i in 0..2) {
            Test-Path (Join-Path $script:jobDir $jobs[$i].JobId) | Should -BeFalse
            Test-Path (Join-Path $script:jobDir $targets[$i]) | Should -BeFalse
        }

        $listed = @(Get-CcatJob -Backend Slurm).JobId
        $listed | Should -Contain $keep.JobId
        foreach ($j in $jobs) { $listed | Should -Not -Contain $j.JobId }
    }

    It 'Remove-CcatJob over SSH refuses a folder without the module''s tag, and leaves it' {
        $job = Submit-CcatJob -ExecutionCommand 'true' -JobName 'pester ssh untagged' | Wait-Slurm -Timeout 90
        $meta = Join-Path $script:jobDir $job.JobId 'job.json'
        (Get-Content $meta -Raw) -replace '"tag": "ccat-workflow"', '"tag": "someone-else"' | Set-Content $meta
        $job | Remove-CcatJob -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotOwnedByModule,*'
        Test-Path $meta | Should -BeTrue
    }

    It 'reaches the login node through a bastion (SLURM_SSH_PROXY_JUMP, here the same sshd): two logins, both host keys pinned' {
        $env:CCAT_WORKFLOW_MANAGER_SLURM_SSH_PROXY_JUMP = "ccatssh@127.0.0.1:$($script:sshSettings['CCAT_WORKFLOW_MANAGER_SLURM_SSH_PORT'])"
        try {
            $logins = Get-OwnSshdCount 'Accepted publickey'
            (Get-CcatJobStatus -JobId $script:job.JobId -Backend Slurm).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
            # The bastion once, the login node once through the forwarded port (the commands; the
            # job's job.json came with its folder's link, in the same remote command).
            ((Get-OwnSshdCount 'Accepted publickey') - $logins) | Should -Be 2
            $logins = Get-OwnSshdCount 'Accepted publickey'
            $null = $script:job | Get-CcatJobLog
            # SFTP, for the log: the login node once more through the same port (SSH.NET keeps
            # commands and SFTP on connections of their own).
            ((Get-OwnSshdCount 'Accepted publickey') - $logins) | Should -Be 1
            $logins = Get-OwnSshdCount 'Accepted publickey'
            $job = Submit-CcatJob -ExecutionCommand 'echo through-the-bastion' -JobName 'pester jump'
            ($job | Wait-Slurm -Timeout 60).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
            $job | Get-CcatJobLog | Should -Be 'through-the-bastion'
            ((Get-OwnSshdCount 'Accepted publickey') - $logins) | Should -Be 0 -Because 'every connection through the bastion is reused'

            $logins = Get-OwnSshdCount 'Accepted publickey'
            $e = Get-StatusErrorWith 'SLURM_SSH_KNOWN_HOSTS' (Join-Path $script:sshDir 'known_hosts_wrong')
            $e.FullyQualifiedErrorId | Should -BeLike 'HostKeyMismatch,*'
            ((Get-OwnSshdCount 'Accepted publickey') - $logins) | Should -Be 0 -Because 'the bastion''s key is checked before any login'
        }
        finally {
            Remove-Item env:CCAT_WORKFLOW_MANAGER_SLURM_SSH_PROXY_JUMP
        }
    }

    It 'reads the status of 200 jobs in one remote command' {
        # Held: 200 jobs that take no CPU of the shared cluster, cancelled below.
        $elements = @(Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'pester ssh 200' -ArrayIndex 0-199 -SchedulerOption '--hold')
        try {
            $elements.Count | Should -Be 200
            $execs = Get-OwnSshdCount 'Starting session: command'
            $out = @(Get-CcatJobStatus -JobId $elements.JobId -Verbose 4>&1)
            ((Get-OwnSshdCount 'Starting session: command') - $execs) | Should -Be 1
            $commands = @($out | Where-Object { $_ -is [Management.Automation.VerboseRecord] -and $_.Message -like 'SSH command on *' })
            $commands.Count | Should -Be 1
            $commands[0].Message | Should -BeLike '*(squeue + sacct)*'
            $statuses = @($out | Where-Object { $_ -is [CcatWorkflow.HPCJobInfo] })
            $statuses.Count | Should -Be 200
            ($statuses.JobId | Sort-Object) | Should -Be ($elements.JobId | Sort-Object)
            $statuses | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Pending) }
        }
        finally {
            $elements | Stop-CcatJob -Confirm:$false -ErrorAction Ignore
        }
    }

    It 'SLURM_MIN_POLL_SECONDS is a floor -PollInterval cannot undercut (remote commands counted in sshd''s log)' {
        $env:CCAT_WORKFLOW_MANAGER_SLURM_MIN_POLL_SECONDS = '3'
        try {
            $job = Submit-CcatJob -ExecutionCommand 'sleep 6' -JobName 'pester poll floor'
            $execs = Get-OwnSshdCount 'Starting session: command'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $r = $job | Wait-CcatJob -PollInterval 0.1 -Timeout 120
            $elapsed = $clock.Elapsed.TotalSeconds
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
            # One remote command per poll (two when sacct is asked too): at most one poll per 3 s.
            $polls = (Get-OwnSshdCount 'Starting session: command') - $execs
            $polls | Should -BeLessOrEqual (2 * ([math]::Floor($elapsed / 3) + 1)) -Because "$polls remote commands in $([math]::Round($elapsed, 1)) s"
        }
        finally {
            Remove-Item env:CCAT_WORKFLOW_MANAGER_SLURM_MIN_POLL_SECONDS
        }
    }

    It 'a host key other than the pinned one is HostKeyMismatch, and no login is attempted' {
        $logins = Get-OwnSshdCount 'Accepted publickey'
        $e = Get-StatusErrorWith 'SLURM_SSH_KNOWN_HOSTS' (Join-Path $script:sshDir 'known_hosts_wrong')
        $e.FullyQualifiedErrorId | Should -BeLike 'HostKeyMismatch,*'
        $e.Exception.Message | Should -Match 'NOT the key'
        "$($e.CategoryInfo.Category)" | Should -Be 'AuthenticationError'
        ((Get-OwnSshdCount 'Accepted publickey') - $logins) | Should -Be 0
    }

    It 'a host key the known_hosts file does not hold is HostKeyMismatch too (never accepted on first use)' {
        $empty = Join-Path $script:work 'known_hosts_empty'
        Set-Content $empty '# no keys'
        $e = Get-StatusErrorWith 'SLURM_SSH_KNOWN_HOSTS' $empty
        $e.FullyQualifiedErrorId | Should -BeLike 'HostKeyMismatch,*'
        $e.Exception.Message | Should -Match 'does not hold'
    }

    It 'a key the login node refuses is SshAuthenticationFailed' {
        $e = Get-StatusErrorWith 'SLURM_SSH_KEY_FILE' (Join-Path $script:sshDir 'keys/stranger_ed25519')
        $e.FullyQualifiedErrorId | Should -BeLike 'SshAuthenticationFailed,*'
        "$($e.CategoryInfo.Category)" | Should -Be 'AuthenticationError'
    }

    It 'a login node that cannot be reached is SshHostUnreachable, a connection error (could not be asked)' {
        $e = Get-StatusErrorWith 'SLURM_SSH_PORT' '1'
        $e.FullyQualifiedErrorId | Should -BeLike 'SshHostUnreachable,*'
        "$($e.CategoryInfo.Category)" | Should -Be 'ConnectionError'
    }
}

Describe 'Slurm over REST: tokens, errors of their own, files over SSH' -Tag 'Service', 'Slurm' {
    BeforeAll {
        $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-slurm-$PID-restconn"
        $script:jobDir = Use-SlurmTransport 'rest' $script:work
        $script:job = Submit-CcatJob -ExecutionCommand 'echo rest-log-line; exit 0' -JobName 'pester rest connection'
        $script:key = [IO.File]::ReadAllBytes($script:restSettings['SLURM_JWT_KEY'])

        # A token as slurmctld makes them (HS256 over the cluster's key, claims exp/iat/sun), or with another key.
        function New-TestJwt([long] $ExpiresIn, [string] $User = 'root', [byte[]] $Key = $script:key) {
            function B64Url([byte[]] $b) { [Convert]::ToBase64String($b).TrimEnd('=').Replace('+', '-').Replace('/', '_') }
            $now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
            $header = B64Url ([Text.Encoding]::UTF8.GetBytes('{"alg":"HS256","typ":"JWT"}'))
            $payload = B64Url ([Text.Encoding]::UTF8.GetBytes("{`"exp`":$($now + $ExpiresIn),`"iat`":$($now - 10),`"sun`":`"$User`"}"))
            $hmac = [Security.Cryptography.HMACSHA256]::new($Key)
            "$header.$payload." + (B64Url $hmac.ComputeHash([Text.Encoding]::ASCII.GetBytes("$header.$payload")))
        }

        # Runs a status call with settings changed (a new backend), and returns its one error.
        function Get-StatusErrorWith([hashtable] $Settings) {
            $saved = @{}
            foreach ($k in $Settings.Keys) { $saved[$k] = (Get-Item "env:CCAT_WORKFLOW_MANAGER_$k" -ErrorAction Ignore).Value; Set-Item "env:CCAT_WORKFLOW_MANAGER_$k" $Settings[$k] }
            try {
                $r = Get-CcatJobStatus -JobId $script:job.JobId -Backend Slurm -ErrorVariable err -ErrorAction SilentlyContinue
                $r | Should -BeNullOrEmpty -Because 'a transport that cannot be used gives no job state, least of all failed'
                $err.Count | Should -Be 1
                $err[0]
            }
            finally {
                foreach ($k in $Settings.Keys) {
                    if ($null -eq $saved[$k]) { Remove-Item "env:CCAT_WORKFLOW_MANAGER_$k" -ErrorAction Ignore } else { Set-Item "env:CCAT_WORKFLOW_MANAGER_$k" $saved[$k] }
                }
            }
        }
    }

    AfterAll {
        Remove-Item -Recurse -Force $script:work, $script:jobDir -ErrorAction Ignore
        Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
    }

    It 'an expired token is SlurmRestTokenExpired and is never sent (counted in slurmrestd''s log)' {
        $null = $script:job | Wait-Slurm -Timeout 60
        $requests = Get-RestRequests
        $e = Get-StatusErrorWith @{ SLURM_REST_TOKEN = (New-TestJwt -ExpiresIn -60) }
        $e.FullyQualifiedErrorId | Should -BeLike 'SlurmRestTokenExpired,*'
        "$($e.CategoryInfo.Category)" | Should -Be 'AuthenticationError'
        $e.Exception.Message | Should -Match 'expired at'
        ((Get-RestRequests) - $requests) | Should -Be 0
    }

    It 'a token signed with another key (slurmrestd: HTTP 500 or an empty slurmdb list) is SlurmRestAuthenticationFailed, not a failed job' {
        $bad = New-TestJwt -ExpiresIn 600 -Key ([byte[]](1..32))
        $e = Get-StatusErrorWith @{ SLURM_REST_TOKEN = $bad }
        $e.FullyQualifiedErrorId | Should -BeLike 'SlurmRestAuthenticationFailed,*'
        "$($e.CategoryInfo.Category)" | Should -Be 'AuthenticationError'
        $e.Exception.Message | Should -Not -Match ([regex]::Escape($bad)) -Because 'a token is a secret'
    }

    It 'a slurmrestd that cannot be reached is SlurmRestUnreachable, a connection error (could not be asked)' {
        $e = Get-StatusErrorWith @{ SLURM_REST_URL = 'http://127.0.0.1:1' }
        $e.FullyQualifiedErrorId | Should -BeLike 'SlurmRestUnreachable,*'
        "$($e.CategoryInfo.Category)" | Should -Be 'ConnectionError'
    }

    It 'speaks to slurmrestd over its unix socket too' {
        $env:CCAT_WORKFLOW_MANAGER_SLURM_REST_URL = $script:restSettings['SLURM_REST_SOCKET_URL']
        try {
            ($script:job | Get-CcatJobStatus).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        }
        finally {
            $env:CCAT_WORKFLOW_MANAGER_SLURM_REST_URL = $script:restSettings['CCAT_WORKFLOW_MANAGER_SLURM_REST_URL']
        }
    }

    It 'without ssh or a shared folder, status still works and logs say what they need' {
        $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = '/nonexistent-ccat/jobs'
        try {
            ($script:job | Get-CcatJobStatus).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
            $script:job | Get-CcatJobLog -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].Exception.Message | Should -Match 'need ssh .* or a shared folder'
        }
        finally {
            $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $script:jobDir
        }
    }

    It 'with ssh configured and no token: a token from scontrol token over ssh, job folders and logs over SFTP' {
        $saved = Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { @{ Name = $_.Name; Value = $_.Value } }
        try {
            $null = Use-SlurmTransport 'ssh' (Join-Path $script:work 'via-ssh')
            $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = 'rest'
            $env:CCAT_WORKFLOW_MANAGER_SLURM_REST_URL = $script:restSettings['CCAT_WORKFLOW_MANAGER_SLURM_REST_URL']
            Remove-Item env:CCAT_WORKFLOW_MANAGER_SLURM_REST_TOKEN, env:CCAT_WORKFLOW_MANAGER_SLURM_REST_USER -ErrorAction Ignore
            $r = Submit-CcatJob -ExecutionCommand 'echo "as $(id -un)"; exit 4' -JobName 'pester rest over ssh' | Wait-Slurm -Timeout 90
            $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
            $r.ExitCode | Should -Be 4
            ($r | Get-CcatJobLog) | Should -Be @("as $($script:sshSettings['CCAT_WORKFLOW_MANAGER_SLURM_SSH_USER'])")
        }
        finally {
            Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
            foreach ($v in $saved) { Set-Item "env:$($v.Name)" $v.Value }
        }
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
