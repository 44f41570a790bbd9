# Per-job scheduler options on the real Slurm cluster of tests/infra/slurm (Submit-CcatJob
# -Partition, -Account, -Qos, -SchedulerOption), read back from squeue and sacct and from another
# process; their refusals; partition completion; and the polite polling of Wait-CcatJob counted
# on 100 jobs. The jobs are submitted held (-SchedulerOption --hold): they never take a CPU of
# the shared cluster, and are cancelled at the end.
BeforeAll {
    & bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $script:pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $script:manifest = Get-ModuleManifestPath
    $script:savedPath = $env:PATH

    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-slurm-options-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')
    $script:jobDir = Join-Path $script:work 'slurm-jobs'
    $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $script:jobDir
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'

    # An account and a QOS of the test's own, made idempotently (sacctmgr says "Nothing new
    # added" and exits 1 when they exist): only their presence is checked.
    $script:acct = 'ccatpester'
    $null = & sacctmgr -i add qos $script:acct 2>&1
    $null = & sacctmgr -i add account $script:acct 'Description=ccat pester' 'Organization=ccat' 2>&1
    $null = & sacctmgr -i add user root "Account=$script:acct" 2>&1
    $null = & sacctmgr -i modify user root set "QOS+=$script:acct" 2>&1
    (& sacctmgr -n -P show qos $script:acct format=name) | Should -Be $script:acct
    (& sacctmgr -n -P show assoc "account=$script:acct" user=root format=account) | Should -Contain $script:acct
    $script:held = [Collections.Generic.List[object]]::new()
}

AfterAll {
    $ids = @($script:held | ForEach-Object { $_.JobId })
    if ($ids.Count -gt 0) { & scancel @ids 2>$null }
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Per-job scheduler options on Slurm' -Tag 'Service', 'Slurm' {
    It '-Partition, -Account, -Qos and -SchedulerOption override the settings for that job and reach squeue and sacct' {
        # Settings a job without the parameters could not be submitted with.
        $env:CCAT_WORKFLOW_MANAGER_SLURM_PARTITION = 'nosuchpartition'
        $env:CCAT_WORKFLOW_MANAGER_SLURM_QOS = 'normal'
        try {
            $job = Submit-CcatJob -ExecutionCommand 'true' -JobName 'pester options' -Partition debug -Account $script:acct -Qos $script:acct -SchedulerOption '--hold', '#SBATCH --nice=7'
            $script:held.Add($job)
            (& squeue -h -j $job.JobId -o '%P|%a|%q|%y|%r').Trim() | Should -Be "debug|$script:acct|$script:acct|7|JobHeldUser"
            # The accounting record reaches slurmdbd a moment after the controller has the job.
            $until = (Get-Date).AddSeconds(90)
            do {
                $sacct = & sacct -n -P -X -j $job.JobId -o Partition,Account,QOS --starttime now-1hour
                if ($sacct) { break }
                Start-Sleep 1
            } while ((Get-Date) -lt $until)
            $sacct | Should -Be "debug|$script:acct|$script:acct"

            # For that job only: the next one gets the setting, which sbatch refuses.
            Submit-CcatJob -ExecutionCommand 'true' -SchedulerOption '--hold' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'SubmissionRejected,*'
            $err[0].Exception.Message | Should -Match 'partition'
        }
        finally {
            Remove-Item env:CCAT_WORKFLOW_MANAGER_SLURM_PARTITION, env:CCAT_WORKFLOW_MANAGER_SLURM_QOS -ErrorAction Ignore
        }

        # Another process (another session) reads them back from the job's record.
        $file = Join-Path $script:work "$([guid]::NewGuid()).ps1"
        Set-Content $file "Import-Module '$script:manifest'; `$ErrorActionPreference = 'Stop'; Get-CcatJobStatus -Backend Slurm -JobId '$($job.JobId)'"
        $other = & dotnet $script:pwshDll -NoProfile -NonInteractive -OutputFormat xml -File $file
        $LASTEXITCODE | Should -Be 0
        $other.Partition | Should -Be 'debug'
        $other.Account | Should -Be $script:acct
        $other.Qos | Should -Be $script:acct
        "$($other.Status)" | Should -Be 'Pending'
        $meta = Get-Content (Join-Path $script:jobDir $job.JobId 'job.json') -Raw | ConvertFrom-Json
        $meta.schedulerOptions | Should -Be @('--hold', '--nice=7')
    }

    It '-WhatIf shows each option as an #SBATCH line and submits nothing' {
        $before = @(Get-ChildItem $script:jobDir -ErrorAction Ignore).Count
        $text = Get-WhatIfText "Submit-CcatJob -ExecutionCommand 'true' -Partition debug -Account $script:acct -Qos $script:acct -SchedulerOption '--nice=3' -WhatIf"
        $text | Should -Match '(?m)^#SBATCH --partition=debug$'
        $text | Should -Match "(?m)^#SBATCH --account=$script:acct$"
        $text | Should -Match "(?m)^#SBATCH --qos=$script:acct$"
        $text | Should -Match '(?m)^#SBATCH --nice=3$'
        @(Get-ChildItem $script:jobDir -ErrorAction Ignore).Count | Should -Be $before
    }

    It 'a value the settings'' rule refuses is InvalidSubmission naming the parameter, and nothing is submitted' {
        $before = @(Get-ChildItem $script:jobDir -ErrorAction Ignore).Count
        Submit-CcatJob -ExecutionCommand 'true' -Partition 'debug queue' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSubmission,*'
        $err[0].Exception.Message | Should -Match '^-Partition is'
        Submit-CcatJob -ExecutionCommand 'true' -SchedulerOption "--nice=1`n#SBATCH --wrap=x" -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSubmission,*'
        @(Get-ChildItem $script:jobDir -ErrorAction Ignore).Count | Should -Be $before
    }

    It 'an option the backend cannot use is NotSupportedOnBackend, never ignored' {
        Submit-CcatJob -ExecutionCommand 'true' -Namespace 'team-a' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotSupportedOnBackend,*'
        $err[0].Exception.Message | Should -Match '-Namespace is an option of Kubernetes jobs'
        Submit-CcatJob -Backend Local -ExecutionCommand 'true' -Partition debug -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'NotSupportedOnBackend,*'
        Submit-CcatJob -Backend Local -ExecutionCommand 'true' -SchedulerOption '--nice=1' -WhatIf -ErrorVariable err3 -ErrorAction SilentlyContinue
        $err3[0].FullyQualifiedErrorId | Should -BeLike 'NotSupportedOnBackend,*'
    }

    It 'completes -Partition from sinfo, and completing writes nothing' {
        $before = @(Get-ChildItem -Recurse $script:jobDir -ErrorAction Ignore).Count
        $m = @((TabExpansion2 -inputScript 'Submit-CcatJob -Partition ' -cursorColumn 'Submit-CcatJob -Partition '.Length).CompletionMatches)
        $m.CompletionText | Should -Contain 'debug'
        $m = @((TabExpansion2 -inputScript 'Submit-CcatJob -Partition de' -cursorColumn 'Submit-CcatJob -Partition de'.Length).CompletionMatches)
        $m.CompletionText | Should -Be @('debug')
        @(Get-ChildItem -Recurse $script:jobDir -ErrorAction Ignore).Count | Should -Be $before
    }
}

Describe 'Polite polling of Wait-CcatJob on Slurm' -Tag 'Service', 'Slurm' {
    It 'waiting on 100 jobs makes at most 6 scheduler calls a minute after the first minute (counted)' {
        $jobs = @(1..100 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'true' -JobName "pester poll $_" -SchedulerOption '--hold' })
        $jobs | ForEach-Object { $script:held.Add($_) }
        $jobs.Count | Should -Be 100

        # Every squeue and sacct call, with its time, through logging wrappers in front of the real commands.
        $shim = Join-Path $script:work 'shim'
        New-Item -ItemType Directory -Force $shim | Out-Null
        $log = Join-Path $script:work 'poll-calls.log'
        foreach ($tool in 'squeue', 'sacct') {
            $real = (Get-Command $tool -CommandType Application | Select-Object -First 1).Source
            Set-Content -Path (Join-Path $shim $tool) -Value "#!/bin/sh`necho `"`$(date +%s.%N) $tool`" >> '$log'`nexec '$real' `"`$@`"`n"
            & chmod +x (Join-Path $shim $tool)
        }

        $env:PATH = "$shim$([IO.Path]::PathSeparator)$script:savedPath"
        try {
            # Held jobs never end: the wait ends at its timeout, having polled all along.
            $jobs | Wait-CcatJob -Timeout 140 -ErrorVariable waitErr -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
        finally {
            $env:PATH = $script:savedPath
        }

        @($waitErr | Where-Object FullyQualifiedErrorId -like 'WaitTimeout,*').Count | Should -Be 100
        $calls = @(Get-Content $log | ForEach-Object { $t, $tool = $_ -split ' '; [pscustomobject]@{ At = [double]$t; Tool = $tool } })
        $start = $calls[0].At
        $end = $calls[-1].At
        $late = @($calls | Where-Object { $_.At -ge $start + 60 })
        $window = $end - ($start + 60)
        $window | Should -BeGreaterThan 30 -Because 'the wait ran well past its first minute'
        # A loaded machine only makes the pauses longer, never the calls more.
        $late.Count | Should -BeLessOrEqual ([math]::Floor(6 * $window / 60) + 1) -Because "$($late.Count) calls in the $([math]::Round($window)) s after the first minute ($($calls.Count) in all)"
        @($late | Where-Object Tool -EQ 'sacct').Count | Should -Be 0 -Because 'sacct is not asked while squeue knows every id'
    }
}
