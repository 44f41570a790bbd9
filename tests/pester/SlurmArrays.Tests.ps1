# Job arrays and dependencies on the Slurm backend through the cmdlets, against the real
# single-node cluster of tests/infra/slurm (started here if it is not up). Scheduler calls are
# counted with logging wrappers in front of the real commands, as in Slurm.Tests.ps1.

BeforeAll {
    & bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Join-Path $PSScriptRoot '../../out/CcatWorkflow/CcatWorkflow.psd1') -Force

    $script:savedPath = $env:PATH
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-slurm-arrays-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')
    $script:jobDir = Join-Path $script:work 'slurm-jobs'
    $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $script:jobDir
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'

    # Logging wrappers: every scheduler command run while they are on PATH is one line in $log.
    $script:shim = Join-Path $script:work 'shim'
    New-Item -ItemType Directory -Force $script:shim | Out-Null
    $script:callLog = Join-Path $script:work 'calls.log'
    foreach ($tool in 'squeue', 'sacct', 'scancel', 'sbatch', 'scontrol') {
        $real = (Get-Command $tool -CommandType Application | Select-Object -First 1).Source
        Set-Content -Path (Join-Path $script:shim $tool) -Value "#!/bin/sh`necho $tool >> '$script:callLog'`nexec '$real' `"`$@`"`n"
        & chmod +x (Join-Path $script:shim $tool)
    }

    # Runs $Script with the wrappers on PATH and returns its output and the commands it ran.
    function Measure-SchedulerCalls([scriptblock] $Script) {
        Remove-Item $script:callLog -ErrorAction Ignore
        $env:PATH = "$script:shim$([IO.Path]::PathSeparator)$script:savedPath"
        try { $out = & $Script }
        finally { $env:PATH = $script:savedPath }
        [pscustomobject]@{ Output = $out; Calls = @(Get-Content $script:callLog -ErrorAction Ignore) }
    }

    # The odd elements fail with exit code 1; each prints both index variables.
    $script:oddFail = Measure-SchedulerCalls {
        Submit-CcatJob -ArrayIndex '0-9' -JobName 'pester odd fail' `
            -ExecutionCommand 'echo "index $CCAT_ARRAY_INDEX slurm $SLURM_ARRAY_TASK_ID"; exit $((CCAT_ARRAY_INDEX % 2))'
    }

    # Throttle: every element records when it started and ended, in nanoseconds.
    $script:marks = Join-Path $script:work 'marks'
    New-Item -ItemType Directory -Force $script:marks | Out-Null
    $script:throttled = @(Submit-CcatJob -ArrayIndex '0-5' -ThrottleLimit 2 -JobName 'pester throttle' `
        -ExecutionCommand "date +%s%N > `"$script:marks/start_`$CCAT_ARRAY_INDEX`"; sleep 2; date +%s%N > `"$script:marks/end_`$CCAT_ARRAY_INDEX`"")

    # Parents of the dependency tests: they wait for the file parents-go, made once every dependent
    # is submitted, so no parent can end before its dependents exist however loaded the machine.
    $script:parentsGo = Join-Path $script:work 'parents-go'
    $waitForGo = "while [ ! -e '$script:parentsGo' ]; do sleep 0.1; done"
    $script:okParent = @(Submit-CcatJob -ArrayIndex '1-3' -JobName 'pester ok parent' -ExecutionCommand $waitForGo)
    $script:badParent = Submit-CcatJob -JobName 'pester failing parent' -ExecutionCommand "$waitForGo; exit 4"
    $script:afterOkChain = Submit-CcatJob -DependsOn $script:okParent -JobName 'pester combine' -ExecutionCommand 'echo combined'
    $script:afterOkBroken = Submit-CcatJob -DependsOn $script:badParent -JobName 'pester never' -ExecutionCommand 'echo must not run'
    $script:afterNotOkRuns = Submit-CcatJob -DependsOn $script:badParent -DependencyCondition AfterNotOk -JobName 'pester report' -ExecutionCommand 'echo reporting'
    $script:afterNotOkNever = Submit-CcatJob -DependsOn $script:okParent -DependencyCondition AfterNotOk -JobName 'pester no report' -ExecutionCommand 'echo must not run'
    $script:afterAnyRuns = Submit-CcatJob -DependsOn $script:badParent -DependencyCondition AfterAny -JobName 'pester cleanup' -ExecutionCommand 'echo cleaning'
    New-Item -ItemType File -Path $script:parentsGo | Out-Null
}

AfterAll {
    # Nothing of ours may keep running on the shared test cluster. Asked while SLURM_JOB_DIR still
    # points at our folders: that is how sacct rows of running jobs are recognised as ours.
    $live = @(Get-CcatJob -Backend Slurm -Status Pending, Running -ErrorAction Ignore)
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Slurm arrays' -Tag 'Service', 'Slurm' {
    It 'a 10-element array is one sbatch call and returns one job per element, ArrayId_Index' {
        $script:oddFail.Calls | Should -Be @('sbatch')
        $jobs = @($script:oddFail.Output)
        $jobs.Count | Should -Be 10
        $arrayId = $jobs[0].ArrayJobId
        $arrayId | Should -Match '^\d+$'
        $jobs.JobId | Should -Be @(0..9 | ForEach-Object { "${arrayId}_$_" })
        $jobs.ArrayIndex | Should -Be @(0..9)
        $jobs | ForEach-Object { $_.ArrayJobId | Should -Be $arrayId; $_.Backend | Should -Be 'Slurm' }
    }

    It 'waiting on the array id returns every element: odd ones failed with exit code 1, even ones completed' {
        $arrayId = @($script:oddFail.Output)[0].ArrayJobId
        $final = @(Wait-CcatJob -JobId $arrayId -Timeout 150)
        $final.Count | Should -Be 10
        foreach ($r in $final) {
            $r.JobId | Should -Be "${arrayId}_$($r.ArrayIndex)"
            if ($r.ArrayIndex % 2) {
                $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
                $r.ExitCode | Should -Be 1
                $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::NonZeroExit)
            }
            else {
                $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
                $r.ExitCode | Should -Be 0
            }
        }

        $one = Get-CcatJobStatus -JobId "${arrayId}_7"
        $one.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $one.ArrayIndex | Should -Be 7
        @(Get-CcatJobStatus -JobId $arrayId).Count | Should -Be 10
    }

    It 'each element has its own log with its index in CCAT_ARRAY_INDEX; the array id names no single log' {
        $arrayId = @($script:oddFail.Output)[0].ArrayJobId
        $null = Wait-CcatJob -JobId "${arrayId}_3" -Timeout 150
        @(Get-CcatJobLog -JobId "${arrayId}_3") | Should -Be @('index 3 slurm 3')
        @($script:oddFail.Output)[8] | Get-CcatJobLog | Should -Be 'index 8 slurm 8'
        Get-CcatJobLog -JobId $arrayId -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobId,*'
        $err[0].Exception.Message | Should -Match "${arrayId}_0"
    }

    It '-RetryFailed re-runs exactly the failed indices (one sbatch call) with the same command and resources, linked to the original' {
        $arrayId = @($script:oddFail.Output)[0].ArrayJobId
        $null = Wait-CcatJob -JobId $arrayId -Timeout 150
        $retry = Measure-SchedulerCalls { Submit-CcatJob -RetryFailed $arrayId -ThrottleLimit 3 }
        @($retry.Calls | Where-Object { $_ -eq 'sbatch' }).Count | Should -Be 1
        $again = @($retry.Output)
        $again.ArrayIndex | Should -Be @(1, 3, 5, 7, 9)
        $newId = $again[0].ArrayJobId
        $newId | Should -Not -Be $arrayId
        $again | ForEach-Object { $_.Message | Should -Be "Re-run of ${arrayId}_$($_.ArrayIndex) (Submit-CcatJob -RetryFailed)." }
        Get-Content (Join-Path $script:jobDir "$newId/job.sbatch") | Should -Contain '#SBATCH --array=1,3,5,7,9%3'
        Get-Content -Raw (Join-Path $script:jobDir "$newId/job.json") | Should -Match ('"retry_?of":\s*"' + $arrayId + '"')
        $done = @($again | Wait-CcatJob -Timeout 150)
        # The same command: the odd indices fail again, with the same exit code and log.
        $done | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed); $_.ExitCode | Should -Be 1 }
        $done[0].Command | Should -Be (Get-CcatJobStatus -JobId "${arrayId}_1").Command
        $done[0].JobName | Should -Be 'pester odd fail'
        Get-CcatJobLog -JobId "${newId}_5" | Should -Be 'index 5 slurm 5'
        # From the elements themselves: the even ones completed, so nothing is submitted.
        $even = @(Get-CcatJobStatus -JobId (0, 2, 4 | ForEach-Object { "${arrayId}_$_" }))
        Submit-CcatJob -RetryFailed $even -ErrorVariable none -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $none[0].FullyQualifiedErrorId | Should -BeLike 'NoFailedElements,*'
    }

    It 'never runs more elements at once than -ThrottleLimit (2), observed from the elements'' own clocks' {
        $final = @($script:throttled | Wait-CcatJob -Timeout 150)
        $final | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed) }
        $events = foreach ($i in 0..5) {
            [pscustomobject]@{ T = [decimal](Get-Content "$script:marks/start_$i"); D = 1 }
            [pscustomobject]@{ T = [decimal](Get-Content "$script:marks/end_$i"); D = -1 }
        }
        $running = 0; $most = 0
        foreach ($e in $events | Sort-Object T, D) {
            $running += $e.D
            $most = [Math]::Max($most, $running)
        }
        $most | Should -BeLessOrEqual 2
        $most | Should -BeGreaterOrEqual 1
        Get-Content (Join-Path $script:jobDir "$($script:throttled[0].ArrayJobId)/job.sbatch") | Should -Contain '#SBATCH --array=0-5%2'
    }

    It 'cancels one element, then the whole array by its id' {
        # Throttle 1: element 2 is still part of the array's one pending record when it is cancelled,
        # which leaves Slurm with no row for it at all.
        $jobs = @(Submit-CcatJob -ArrayIndex '0-3' -ThrottleLimit 1 -JobName 'pester cancel array' -ExecutionCommand 'sleep 300')
        $arrayId = $jobs[0].ArrayJobId
        Stop-CcatJob -JobId "${arrayId}_2" -Confirm:$false -ErrorVariable stopErr
        $stopErr.Count | Should -Be 0
        $two = Wait-CcatJob -JobId "${arrayId}_2" -Timeout 60
        $two.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $two.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Cancelled)
        $others = @(Get-CcatJobStatus -JobId "${arrayId}_0", "${arrayId}_1", "${arrayId}_3")
        $others | ForEach-Object { $_.Status | Should -BeIn @('Pending', 'Running') }

        $passThru = @(Stop-CcatJob -JobId $arrayId -Confirm:$false -PassThru)
        $passThru.Count | Should -Be 4 -Because 'the array id means all its elements'
        $all = @(Wait-CcatJob -JobId $arrayId -Timeout 60)
        $all.Count | Should -Be 4
        $all | ForEach-Object { $_.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Cancelled) }
    }

    It 'a 500-element array is one sbatch call, and the status of all its elements at most 4 scheduler calls' {
        $submit = Measure-SchedulerCalls { Submit-CcatJob -ArrayIndex '0-499' -ThrottleLimit 4 -JobName 'pester 500' -ExecutionCommand 'sleep 1' }
        $submit.Calls | Should -Be @('sbatch')
        $jobs = @($submit.Output)
        $jobs.Count | Should -Be 500
        try {
            $byElement = Measure-SchedulerCalls { Get-CcatJobStatus -JobId $jobs.JobId }
            @($byElement.Output).Count | Should -Be 500
            $byElement.Calls.Count | Should -BeLessOrEqual 4
            (@($byElement.Output).JobId | Sort-Object) | Should -Be ($jobs.JobId | Sort-Object)

            $byArray = Measure-SchedulerCalls { Get-CcatJobStatus -JobId $jobs[0].ArrayJobId }
            @($byArray.Output).Count | Should -Be 500
            $byArray.Calls.Count | Should -BeLessOrEqual 4
            @($byArray.Output | Where-Object Status -EQ 'Pending').Count | Should -BeGreaterThan 400 -Because 'at most 4 run at once'
        }
        finally {
            Stop-CcatJob -JobId $jobs[0].ArrayJobId -Confirm:$false
        }
    }

    It '-WhatIf shows the array and dependency lines of the script and submits nothing' {
        $before = @(Get-ChildItem $script:jobDir).Count
        $text = Get-WhatIfText "Submit-CcatJob -ArrayIndex '0-99:2' -ThrottleLimit 5 -DependsOn '12345', '12346_7' -DependencyCondition AfterAny -ExecutionCommand 'true' -WhatIf"
        $text | Should -Match '#SBATCH --array=0-99:2%5'
        $text | Should -Match '#SBATCH --dependency=afterany:12345:12346_7'
        $text | Should -Match '#SBATCH --kill-on-invalid-dep=yes'
        $text | Should -Match ([regex]::Escape('export CCAT_ARRAY_INDEX="$SLURM_ARRAY_TASK_ID"'))
        @(Get-ChildItem $script:jobDir).Count | Should -Be $before
    }
}

Describe 'Slurm dependencies' -Tag 'Service', 'Slurm' {
    It 'an AfterOk chain on a whole array waits for it (one dependency on the array id) and then runs' {
        $arrayId = $script:okParent[0].ArrayJobId
        Get-Content (Join-Path $script:jobDir "$($script:afterOkChain.JobId)/job.sbatch") | Should -Contain "#SBATCH --dependency=afterok:$arrayId"
        $parents = @($script:okParent | Wait-CcatJob -Timeout 150)
        $child = $script:afterOkChain | Wait-CcatJob -Timeout 150
        $child.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        $child | Get-CcatJobLog | Should -Be 'combined'
        $last = ($parents | Measure-Object -Property FinishedAt -Maximum).Maximum
        $child.StartedAt | Should -BeGreaterOrEqual $last
    }

    It 'AfterOk on a parent that fails reads failed, DependencyNeverSatisfied, and never ran' {
        $r = $script:afterOkBroken | Wait-CcatJob -Timeout 150
        $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::DependencyNeverSatisfied)
        $r.StartedAt | Should -BeNullOrEmpty
        $script:afterOkBroken | Get-CcatJobLog | Should -BeNullOrEmpty
    }

    It 'AfterNotOk runs when the parent fails and is never satisfied when it succeeds' {
        ($script:afterNotOkRuns | Wait-CcatJob -Timeout 150).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        $script:afterNotOkRuns | Get-CcatJobLog | Should -Be 'reporting'
        $never = $script:afterNotOkNever | Wait-CcatJob -Timeout 150
        $never.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $never.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::DependencyNeverSatisfied)
    }

    It 'AfterAny runs after a parent that failed' {
        ($script:afterAnyRuns | Wait-CcatJob -Timeout 150).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        $script:afterAnyRuns | Get-CcatJobLog | Should -Be 'cleaning'
    }

    It 'while the parent runs, the dependent reads pending, WaitingForDependency' {
        $parent = Submit-CcatJob -JobName 'pester slow parent' -ExecutionCommand 'sleep 300'
        $child = Submit-CcatJob -DependsOn $parent -JobName 'pester waiting child' -ExecutionCommand 'true'
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            do {
                $s = $child | Get-CcatJobStatus
                if ($s.Reason -eq 'WaitingForDependency') { break }
                Start-Sleep -Milliseconds 500
            } while ([DateTime]::UtcNow -lt $deadline)
            $s.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Pending)
            $s.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::WaitingForDependency)
        }
        finally {
            $child, $parent | Stop-CcatJob -Confirm:$false
        }
    }

    It 'a parent that already finished is honoured: done → the dependent runs; failed → refused, nothing submitted' {
        $done = Submit-CcatJob -JobName 'pester done parent' -ExecutionCommand 'true' | Wait-CcatJob -Timeout 150
        $child = Submit-CcatJob -DependsOn $done -JobName 'pester after done' -ExecutionCommand 'echo after'
        ($child | Wait-CcatJob -Timeout 150).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)

        $failed = Submit-CcatJob -JobName 'pester failed parent' -ExecutionCommand 'exit 2' | Wait-CcatJob -Timeout 150
        $before = @(Get-ChildItem $script:jobDir).Count
        $r = Submit-CcatJob -DependsOn $failed.JobId -ExecutionCommand 'true' -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DependencyNeverSatisfied,*'
        $err[0].Exception.Message | Should -Match $failed.JobId
        @(Get-ChildItem $script:jobDir).Count | Should -Be $before
    }

    It 'refuses dependencies across backends, unknown parents and bad specs' {
        $local = [CcatWorkflow.HPCJobInfo]::new('0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90', 'Local', 'Completed')
        Submit-CcatJob -DependsOn $local -ExecutionCommand 'true' -ErrorVariable e1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e1[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDependency,*'
        $e1[0].Exception.Message | Should -Match 'Local'

        Submit-CcatJob -DependsOn '987654' -ExecutionCommand 'true' -ErrorVariable e2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDependency,*'

        Submit-CcatJob -ArrayIndex '9-1' -ExecutionCommand 'true' -ErrorVariable e3 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e3[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArraySpec,*'

        Submit-CcatJob -ThrottleLimit 2 -ExecutionCommand 'true' -ErrorVariable e4 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e4[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArraySpec,*'
    }
}
