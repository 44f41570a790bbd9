# Job arrays, dependencies and -RetryFailed on the Local backend through the cmdlets, with both
# job stores (file and the real Redis of tests/infra/redis). Every wait is on a condition (a
# file the test creates, a job's end), never on a timing margin.
BeforeDiscovery {
    $script:stores = @(
        @{ Store = 'file' }
        @{ Store = 'redis' }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    & bash (Join-Path (Get-RepoRoot) 'tests/infra/redis/start.sh') | Out-Null

    function Use-Store([string] $Store) {
        $dir = Join-Path $TestDrive "arrays-$Store"
        Reset-CcatEnvironment -JobDir $dir
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = $Store
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '2'
        if ($Store -eq 'redis') {
            $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = '127.0.0.1'
            $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = '16379'
            # a private key prefix per run, so suites never see each other's jobs
            $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = "ccat-test:$([guid]::NewGuid().ToString('N'))"
        }
        $dir
    }

    # A command that waits until the test creates the file $Go, then runs $Then.
    function Gated([string] $Go, [string] $Then) { "while [ ! -e '$Go' ]; do sleep 0.1; done; $Then" }

    # Polls until $Condition holds for the job's status (or 60 s pass); returns the last status.
    function Wait-Status($Job, [scriptblock] $Condition) {
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        do {
            $s = $Job | Get-CcatJobStatus
            if (& $Condition $s) { return $s }
            Start-Sleep -Milliseconds 200
        } while ([DateTime]::UtcNow -lt $deadline)
        $s
    }
}

Describe 'Local arrays with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll {
        $script:dir = Use-Store $Store
        $script:work = Join-Path $TestDrive "work-$Store"
        New-Item -ItemType Directory -Force $script:work | Out-Null
        $script:fixed = Join-Path $script:work 'fixed'
        # The odd elements fail (exit 1) until the file $fixed exists.
        $script:oddFail = @(Submit-CcatJob -ArrayIndex '0-9' -JobName 'odd fail' -Resources @{ cpu = 1; time_hours = 1 } `
            -ExecutionCommand "echo `"element `$CCAT_ARRAY_INDEX`"; test -e '$script:fixed' || exit `$((CCAT_ARRAY_INDEX % 2))")
    }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'one submission returns one job per element, JobId array_index, with ArrayJobId and ArrayIndex' {
        $script:oddFail.Count | Should -Be 10
        $arrayId = $script:oddFail[0].ArrayJobId
        $arrayId | Should -Match '^[0-9a-f-]{36}$'
        $script:oddFail.JobId | Should -Be @(0..9 | ForEach-Object { "${arrayId}_$_" })
        $script:oddFail.ArrayIndex | Should -Be @(0..9)
        # One array folder and one runner: no element folder is made by the submission itself.
        Test-Path (Join-Path $script:dir $arrayId) | Should -BeTrue
    }

    It 'waiting on the array id returns every element: odd ones failed with exit code 1, even ones completed' {
        $arrayId = $script:oddFail[0].ArrayJobId
        $final = @(Wait-CcatJob -JobId $arrayId -Backend Local -Timeout 120)
        $final.Count | Should -Be 10
        foreach ($r in $final) {
            $r.JobId | Should -Be "${arrayId}_$($r.ArrayIndex)"
            $r.ArrayJobId | Should -Be $arrayId
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

        $one = Get-CcatJobStatus -JobId "${arrayId}_7" -Backend Local
        $one.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $one.ArrayIndex | Should -Be 7
        $one.RequestedCpu | Should -Be 1
        @(Get-CcatJobStatus -JobId $arrayId -Backend Local).Count | Should -Be 10
        @(Get-CcatJob -Backend Local -Name 'odd fail').Count | Should -Be 10 -Because 'the listing shows each element once'
    }

    It 'each element has its own log with its index in CCAT_ARRAY_INDEX; the array id names no single log' {
        $arrayId = $script:oddFail[0].ArrayJobId
        Get-CcatJobLog -JobId "${arrayId}_3" -Backend Local | Should -Be 'element 3'
        $script:oddFail[8] | Get-CcatJobLog | Should -Be 'element 8'
        Get-CcatJobLog -JobId $arrayId -Backend Local -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobId,*'
        $err[0].Exception.Message | Should -Match "${arrayId}_0"
    }

    It '-RetryFailed re-runs exactly the failed indices with the same command and resources, linked to the original' {
        $arrayId = $script:oddFail[0].ArrayJobId
        New-Item -ItemType File $script:fixed | Out-Null
        $again = @(Submit-CcatJob -RetryFailed $arrayId -Backend Local)
        $again.Count | Should -Be 5
        $again.ArrayIndex | Should -Be @(1, 3, 5, 7, 9)
        $newId = $again[0].ArrayJobId
        $newId | Should -Not -Be $arrayId
        $again | ForEach-Object { $_.Message | Should -Be "Re-run of ${arrayId}_$($_.ArrayIndex) (Submit-CcatJob -RetryFailed)." }
        $done = @($again | Wait-CcatJob -Timeout 120)
        $done | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed) }
        $done[0].Command | Should -Be ($script:oddFail[1] | Get-CcatJobStatus).Command
        $done[0].Command | Should -Match 'CCAT_ARRAY_INDEX % 2'
        $done[0].RequestedCpu | Should -Be 1
        $done[0].RequestedTimeHours | Should -Be 1
        $done[0].JobName | Should -Be 'odd fail'
        Get-CcatJobLog -JobId "${newId}_5" -Backend Local | Should -Be 'element 5'
        # The link is recorded with the new array.
        Get-Content -Raw (Join-Path $script:dir "$newId/job.json") | ConvertFrom-Json | Select-Object -ExpandProperty retry_of | Should -Be $arrayId

        # Given as objects; nothing failed any more in the re-run → nothing is submitted.
        Submit-CcatJob -RetryFailed $done -ErrorVariable none -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $none[0].FullyQualifiedErrorId | Should -BeLike 'NoFailedElements,*'
        # A single job is not an array.
        $single = Submit-CcatJob -Backend Local -ExecutionCommand 'exit 1' | Wait-CcatJob -Timeout 60
        Submit-CcatJob -RetryFailed $single -ErrorVariable notArray -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $notArray[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArraySpec,*'
    }

    It 'never runs more elements at once than -ThrottleLimit (2), observed from the elements themselves' {
        $marks = Join-Path $script:work 'marks.log'
        $jobs = @(Submit-CcatJob -ArrayIndex '0-5' -ThrottleLimit 2 -JobName 'throttle' `
            -ExecutionCommand "echo `"+ `$CCAT_ARRAY_INDEX`" >> '$marks'; sleep 1; echo `"- `$CCAT_ARRAY_INDEX`" >> '$marks'")
        $final = @($jobs | Wait-CcatJob -Timeout 120)
        $final | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed) }
        $lines = @(Get-Content $marks)
        $lines.Count | Should -Be 12
        $running = 0; $most = 0
        foreach ($line in $lines) {
            $running += if ($line.StartsWith('+')) { 1 } else { -1 }
            $most = [Math]::Max($most, $running)
        }
        $most | Should -BeLessOrEqual 2
        $most | Should -BeGreaterOrEqual 1
    }

    It 'cancels one element not yet started, one running, then the whole array by its id' {
        $go = Join-Path $script:work 'never'
        $jobs = @(Submit-CcatJob -ArrayIndex '0-3' -ThrottleLimit 1 -JobName 'cancel array' -ExecutionCommand (Gated $go 'true'))
        $arrayId = $jobs[0].ArrayJobId
        Stop-CcatJob -JobId "${arrayId}_2" -Backend Local -Confirm:$false -ErrorVariable stopErr
        $stopErr.Count | Should -Be 0
        $two = Wait-CcatJob -JobId "${arrayId}_2" -Backend Local -Timeout 60
        $two.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $two.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Cancelled)
        $two.StartedAt | Should -BeNullOrEmpty -Because 'it never ran'

        $zero = Wait-Status $jobs[0] { param($s) $s.Status -eq 'Running' }
        $zero.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Running)
        (Get-CcatJobStatus -JobId "${arrayId}_1" -Backend Local).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Pending)

        $passThru = @(Stop-CcatJob -JobId $arrayId -Backend Local -Confirm:$false -PassThru)
        $passThru.Count | Should -Be 4 -Because 'the array id means all its elements'
        $all = @(Wait-CcatJob -JobId $arrayId -Backend Local -Timeout 60)
        $all.Count | Should -Be 4
        $all | ForEach-Object { $_.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Cancelled) }
    }

    It 'unstarted elements read pending behind the throttle while the array runner lives, and lost once it is killed' {
        $go = Join-Path $script:work 'never-killed'
        $jobs = @(Submit-CcatJob -ArrayIndex '0-3' -ThrottleLimit 1 -JobName 'runner killed' -ExecutionCommand (Gated $go 'true'))
        $arrayId = $jobs[0].ArrayJobId
        $null = Wait-Status $jobs[0] { param($s) $s.Status -eq 'Running' }
        $all = @(Get-CcatJobStatus -JobId $arrayId -Backend Local)
        $all.Status | Should -Be @('Running', 'Pending', 'Pending', 'Pending')
        $all[1..3].Message | ForEach-Object { $_ | Should -Be 'Waiting for a slot: at most 1 elements of the array run at once.' }

        $runner = Get-Content -Raw (Join-Path $script:dir "$arrayId/runner.json") | ConvertFrom-Json
        Stop-Process -Id $runner.runner_pid -Force   # SIGKILL: the array runner ends without starting the rest
        $one = Wait-Status $jobs[1] { param($s) $s.Status -eq 'Failed' }
        $one.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Lost)
        $all = @(Get-CcatJobStatus -JobId $arrayId -Backend Local)
        $all[0].Status | Should -Be 'Running' -Because 'the started element has a runner of its own'
        $all[1..3] | ForEach-Object {
            $_.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Lost)
            $_.Message | Should -Be "The array runner of $arrayId ended without starting this element."
        }
        $jobs[0] | Stop-CcatJob -Confirm:$false
    }

    It 'Remove-CcatJob of a finished array id removes the array and every element: folders and records' {
        $small = @(Submit-CcatJob -ArrayIndex '0-2' -JobName 'remove me' -ExecutionCommand 'echo done')
        $arrayId = $small[0].ArrayJobId
        @($small | Wait-CcatJob -Timeout 120).Status | Should -Be @('Completed', 'Completed', 'Completed')
        @(Get-ChildItem -LiteralPath $script:dir -Directory -Filter "$arrayId*").Count | Should -Be 4
        $removed = @(Remove-CcatJob -JobId $arrayId -Backend Local -Confirm:$false -PassThru -ErrorAction Stop)
        $removed.Count | Should -Be 1
        @(Get-ChildItem -LiteralPath $script:dir -Directory -Filter "$arrayId*").Count | Should -Be 0
        foreach ($id in @($arrayId) + $small.JobId) {
            { Get-CcatJobStatus -JobId $id -Backend Local -ErrorAction Stop } | Should -Throw -ErrorId 'JobNotFound*'
        }
    }

    It '-WhatIf shows the array and the dependency and submits nothing' {
        $before = @(Get-ChildItem $script:dir).Count
        $text = Get-WhatIfText "Submit-CcatJob -Backend Local -ArrayIndex '0-99:2' -ThrottleLimit 5 -DependsOn '$($script:oddFail[0].ArrayJobId)' -DependencyCondition AfterAny -ExecutionCommand 'true' -WhatIf"
        $text | Should -Match '# array: indices 0-99:2 \(50 elements\), at most 5 running at once'
        $text | Should -Match "# waits for AfterAny: $($script:oddFail[0].ArrayJobId)"
        @(Get-ChildItem $script:dir).Count | Should -Be $before
    }
}

Describe 'Local dependencies with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll {
        $script:dir = Use-Store $Store
        $script:work = Join-Path $TestDrive "deps-$Store"
        New-Item -ItemType Directory -Force $script:work | Out-Null
        $script:go = Join-Path $script:work 'go'
        # Parents wait for $go, so every dependent is submitted while they run.
        $script:okParent = @(Submit-CcatJob -ArrayIndex '1-3' -JobName 'ok parent' -ExecutionCommand (Gated $script:go "echo ok > '$script:work'/ok_`$CCAT_ARRAY_INDEX"))
        $script:badParent = Submit-CcatJob -JobName 'failing parent' -ExecutionCommand (Gated $script:go 'exit 4')
        $script:afterOkChain = Submit-CcatJob -DependsOn $script:okParent -JobName 'combine' -ExecutionCommand "cat '$script:work'/ok_* | wc -l"
        $script:afterOkBroken = Submit-CcatJob -DependsOn $script:badParent -JobName 'never' -ExecutionCommand 'echo must not run'
        $script:afterNotOkRuns = Submit-CcatJob -DependsOn $script:badParent -DependencyCondition AfterNotOk -JobName 'report' -ExecutionCommand 'echo reporting'
        $script:afterNotOkNever = Submit-CcatJob -DependsOn $script:okParent -DependencyCondition AfterNotOk -JobName 'no report' -ExecutionCommand 'echo must not run'
        $script:afterAnyRuns = Submit-CcatJob -DependsOn $script:badParent -DependencyCondition AfterAny -JobName 'cleanup' -ExecutionCommand 'echo cleaning'
        $script:arrayAfter = @(Submit-CcatJob -DependsOn $script:badParent -DependencyCondition AfterNotOk -ArrayIndex '0-1' -JobName 'array after' -ExecutionCommand 'echo "after $CCAT_ARRAY_INDEX"')
    }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'while the parents run, dependents (a job, an array''s elements) read pending, WaitingForDependency' {
        try {
            $s = Wait-Status $script:afterOkChain { param($s) $s.Reason -eq 'WaitingForDependency' }
            $s.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Pending)
            $s.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::WaitingForDependency)
            $elements = @($script:arrayAfter | Get-CcatJobStatus)
            $elements | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Pending); $_.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::WaitingForDependency) }
        }
        finally {
            # The parents end now, whatever this test found.
            New-Item -ItemType File -Force $script:go | Out-Null
        }
    }

    It 'an AfterOk chain on a whole array waits for every element and then runs' {
        $parents = @($script:okParent | Wait-CcatJob -Timeout 120)
        $child = $script:afterOkChain | Wait-CcatJob -Timeout 120
        $child.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        ($child | Get-CcatJobLog).Trim() | Should -Be '3'
        $last = ($parents | Measure-Object -Property FinishedAt -Maximum).Maximum
        $child.StartedAt | Should -BeGreaterOrEqual $last
    }

    It 'AfterOk on a parent that fails reads failed, DependencyNeverSatisfied, and never ran' {
        $r = $script:afterOkBroken | Wait-CcatJob -Timeout 120
        $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::DependencyNeverSatisfied)
        $r.StartedAt | Should -BeNullOrEmpty
        $r.Message | Should -Match $script:badParent.JobId
        $script:afterOkBroken | Get-CcatJobLog | Should -BeNullOrEmpty
    }

    It 'AfterNotOk runs when the parent fails and is never satisfied when it succeeds' {
        ($script:afterNotOkRuns | Wait-CcatJob -Timeout 120).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        $script:afterNotOkRuns | Get-CcatJobLog | Should -Be 'reporting'
        $never = $script:afterNotOkNever | Wait-CcatJob -Timeout 120
        $never.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $never.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::DependencyNeverSatisfied)
        $elements = @($script:arrayAfter | Wait-CcatJob -Timeout 120)
        $elements | ForEach-Object { $_.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed) }
        $script:arrayAfter[1] | Get-CcatJobLog | Should -Be 'after 1'
    }

    It 'AfterAny runs after a parent that failed' {
        ($script:afterAnyRuns | Wait-CcatJob -Timeout 120).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        $script:afterAnyRuns | Get-CcatJobLog | Should -Be 'cleaning'
    }

    It 'a parent that already finished is honoured: done → the dependent runs; failed → refused, nothing submitted' {
        $done = Submit-CcatJob -JobName 'done parent' -ExecutionCommand 'true' | Wait-CcatJob -Timeout 60
        $child = Submit-CcatJob -DependsOn $done -JobName 'after done' -ExecutionCommand 'echo after'
        ($child | Wait-CcatJob -Timeout 60).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)

        $failed = Submit-CcatJob -JobName 'failed parent' -ExecutionCommand 'exit 2' | Wait-CcatJob -Timeout 60
        $before = @(Get-ChildItem $script:dir).Count
        $r = Submit-CcatJob -DependsOn $failed.JobId -ExecutionCommand 'true' -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DependencyNeverSatisfied,*'
        $err[0].Exception.Message | Should -Match $failed.JobId
        @(Get-ChildItem $script:dir).Count | Should -Be $before
    }

    It 'cancelling a waiting dependent ends it, cancelled, without running it' {
        $parent = Submit-CcatJob -JobName 'slow parent' -ExecutionCommand (Gated (Join-Path $script:work 'never') 'true')
        $child = Submit-CcatJob -DependsOn $parent -JobName 'waiting child' -ExecutionCommand 'echo must not run'
        $child | Stop-CcatJob -Confirm:$false
        $r = $child | Get-CcatJobStatus
        $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $r.Reason | Should -Be ([CcatWorkflow.HPCJobReason]::Cancelled)
        $child | Get-CcatJobLog | Should -BeNullOrEmpty
        $parent | Stop-CcatJob -Confirm:$false
    }

    It 'refuses unknown and malformed parents' {
        Submit-CcatJob -DependsOn ([guid]::NewGuid().ToString()) -ExecutionCommand 'true' -ErrorVariable e1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e1[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDependency,*'
        Submit-CcatJob -DependsOn 'not-a-job' -ExecutionCommand 'true' -ErrorVariable e2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDependency,*'
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
