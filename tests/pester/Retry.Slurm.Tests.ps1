# Retry policies on the real Slurm cluster of tests/infra/slurm, through the cmdlets: an
# out-of-memory job (JobAcctGatherParams=OverMemoryKill) retried with more memory, a timeout
# retried with more time (whole minutes: Slurm's step), a failure not in -RetryOn left alone,
# two processes waiting on one failing job making exactly one retry, and --no-requeue.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $slurm = Use-CcatSlurmCluster -Name 'retry-slurm'
    $script:work = $slurm.Work
    $script:jobDir = $slurm.JobDir

    # Submitted first, checked later: the cluster runs them while the other tests run.
    # 400 MB touched by dd: over 0.25 GiB, under 0.25 × 3 = 0.75 GiB.
    $script:oom = Submit-CcatJob -ExecutionCommand 'echo "attempt $CCAT_ATTEMPT"; dd if=/dev/zero bs=400M count=1 2>/dev/null | sleep 8' -JobName 'retry oom' -Resources @{ memory_gb = 0.25 } -RetryOn OutOfMemory -MemoryGrowth 3
    # One minute, 75 s of work: attempt 2 gets 3 minutes.
    $script:timeout = Submit-CcatJob -ExecutionCommand 'sleep 75' -JobName 'retry timeout' -Resources @{ time_hours = 1 / 60 } -RetryOn Timeout -TimeGrowth 3
    $script:plain = Submit-CcatJob -ExecutionCommand 'exit 3' -JobName 'retry not' -RetryOn OutOfMemory -MemoryGrowth 1
    # Arrays under a policy, retried per element: element 1 runs out of memory (as above), or exits 3 (not retried).
    $script:oomArray = @(Submit-CcatJob -ArrayIndex '0-2' -JobName 'retry array oom' -Resources @{ memory_gb = 0.25 } -RetryOn OutOfMemory -MemoryGrowth 3 `
        -ExecutionCommand 'echo "element $CCAT_ARRAY_INDEX/$SLURM_ARRAY_TASK_ID attempt $CCAT_ATTEMPT"; [ "$CCAT_ARRAY_INDEX" = 1 ] || exit 0; dd if=/dev/zero bs=400M count=1 2>/dev/null | sleep 8')
    $script:plainArray = @(Submit-CcatJob -ArrayIndex '0-2' -JobName 'retry array not' -RetryOn OutOfMemory -MemoryGrowth 1 `
        -ExecutionCommand '[ "$CCAT_ARRAY_INDEX" = 2 ] && exit 3; exit 0')

}

AfterAll {
    $live = @(Get-CcatJob -Backend Slurm -Status Pending, Running -ErrorAction Ignore | Where-Object JobName -like 'retry *')
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Retry policies on Slurm' -Tag 'Service', 'Slurm' {
    It 'a job with a policy is submitted with --no-requeue (the module is the only one to run it again)' {
        Get-WhatIfText "Submit-CcatJob -Backend Slurm -ExecutionCommand 'true' -RetryOn NodeFailure -WhatIf" | Should -Match '#SBATCH --no-requeue'
        Get-WhatIfText "Submit-CcatJob -Backend Slurm -ExecutionCommand 'true' -WhatIf" | Should -Not -Match 'requeue'
    }

    It 'a job that exceeds its memory is retried with more and completes as attempt 2, both attempts visible' {
        $r = $script:oom | Wait-CcatJob -Timeout 300
        $r.JobId | Should -Be $script:oom.JobId
        $r.Status | Should -Be 'Completed'
        $r.Attempt | Should -Be 2
        $r.RequestedMemoryGb | Should -Be 0.75
        $r.PreviousAttempts[0].JobId | Should -Be $script:oom.JobId
        $r.PreviousAttempts[0].Reason | Should -Be 'OutOfMemory'
        ($script:oom | Get-CcatJobLog -Raw) | Should -Match 'attempt 2'
        (Get-CcatJobLog -JobId $script:oom.JobId -Backend Slurm -Attempt 1 -Raw) | Should -Match 'attempt 1'
        # The claim is a file in the job's folder on the shared file system.
        Test-Path (Join-Path $script:jobDir "$($script:oom.JobId)/retry-attempt-2.json") | Should -BeTrue
    }

    It 'a job that runs past its time limit is retried with more time and completes' {
        $r = $script:timeout | Wait-CcatJob -Timeout 480
        $r.Status | Should -Be 'Completed'
        $r.Attempt | Should -Be 2
        $r.PreviousAttempts[0].Reason | Should -Be 'Timeout'
        $r.RequestedTimeHours | Should -Be 0.05
    }

    It 'a non-zero exit not in -RetryOn is not retried' {
        $r = $script:plain | Wait-CcatJob -Timeout 150
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'NonZeroExit'
        $r.Attempt | Should -Be 1
        $r.PreviousAttempts.Count | Should -Be 0
        Test-Path (Join-Path $script:jobDir "$($script:plain.JobId)/retry-attempt-2.json") | Should -BeFalse
    }

    It 'two processes waiting on the same failing job produce exactly one retry' {
        $runs = Join-Path $script:work 'runs.txt'
        $go = Join-Path $script:work 'go'
        $cmd = "echo `"`$CCAT_ATTEMPT`" >> '$runs'; [ `"`$CCAT_ATTEMPT`" -ge 2 ] && exit 0; while [ ! -e '$go' ]; do sleep 0.2; done; exit 1"
        $job = Submit-CcatJob -ExecutionCommand $cmd -JobName 'retry race' -RetryOn NonZeroExit -MaxAttempts 3
        $seen = Invoke-CcatWaiterRace -JobId $job.JobId -Backend Slurm -Folder $script:work -Release {
            Wait-Until { Test-Path $runs } -Seconds 150 # attempt 1 runs
            Start-Sleep -Seconds 2 # both are past their first poll (either order must give one retry)
            Set-Content $go go
        }
        foreach ($one in $seen) {
            $one.Status.ToString() | Should -Be 'Completed' # deserialized: the enum comes back as a number that prints its name
            [int] "$($one.Attempt)" | Should -Be 2
        }
        (Get-Content $runs) | Should -Be @('1', '2')
    }

    It 'an array element that exceeds its memory is retried alone with more and completes; the array reads Completed' {
        $arrayId = $script:oomArray[0].ArrayJobId
        $done = @($script:oomArray | Wait-CcatJob -Timeout 400 | Sort-Object ArrayIndex)
        $done.Status | Should -Be @('Completed', 'Completed', 'Completed')
        $done.Attempt | Should -Be @(1, 2, 1)
        $one = $done[1]
        $one.JobId | Should -Be "${arrayId}_1"
        $one.ArrayJobId | Should -Be $arrayId
        $one.AttemptJobId | Should -Not -Match '_' # a job of its own
        $one.RequestedMemoryGb | Should -Be 0.75
        $one.PreviousAttempts[0].JobId | Should -Be "${arrayId}_1"
        $one.PreviousAttempts[0].Reason | Should -Be 'OutOfMemory'
        # The array counts each element's latest attempt: waiting on its id ends with every element
        # completed, and -RetryFailed finds nothing to re-run.
        $all = @(Wait-CcatJob -JobId $arrayId -Backend Slurm -Timeout 120 | Sort-Object ArrayIndex)
        $all.Status | Should -Be @('Completed', 'Completed', 'Completed')
        $all.Attempt | Should -Be @(1, 2, 1)
        Submit-CcatJob -RetryFailed $arrayId -Backend Slurm -ErrorVariable none -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $none[0].FullyQualifiedErrorId | Should -BeLike 'NoFailedElements,*'
        # The new attempt sees the element's index in both variables; attempt 1's log stays readable.
        (Get-CcatJobLog -JobId "${arrayId}_1" -Backend Slurm -Raw) | Should -Match 'element 1/1 attempt 2'
        (Get-CcatJobLog -JobId "${arrayId}_1" -Backend Slurm -Attempt 1 -Raw) | Should -Match 'element 1/1 attempt 1'
        # The claim is in the array's folder, apart from other elements'.
        Test-Path (Join-Path $script:jobDir "$arrayId/retry-element-1-attempt-2.json") | Should -BeTrue
    }

    It 'an array element failing for a reason not in -RetryOn is not retried' {
        $arrayId = $script:plainArray[0].ArrayJobId
        $done = @($script:plainArray | Wait-CcatJob -Timeout 200 | Sort-Object ArrayIndex)
        $done.Status | Should -Be @('Completed', 'Completed', 'Failed')
        $done[2].Reason | Should -Be 'NonZeroExit'
        $done.Attempt | Should -Be @(1, 1, 1)
        (Get-CcatJobStatus -JobId $arrayId -Backend Slurm | Where-Object Status -EQ 'Failed').ArrayIndex | Should -Be 2
        @(Get-ChildItem (Join-Path $script:jobDir $arrayId) -Filter 'retry-element-*').Count | Should -Be 0
    }

    It 'two processes waiting on the same failing array element produce exactly one retry of it' {
        $race = Invoke-CcatElementRace -Backend Slurm -Folder $script:work
        foreach ($one in $race.Seen) {
            $one.Status.ToString() | Should -Be 'Completed' # deserialized: the enum comes back as a number that prints its name
            [int] "$($one.Attempt)" | Should -Be 2
        }
        # Exactly one new attempt of element 1, none of the others; the array completes.
        $race.Runs | Should -Be @('0-1', '1-1', '1-2', '2-1')
        @(Get-CcatJobStatus -JobId $race.ArrayId -Backend Slurm).Status | Should -Be @('Completed', 'Completed', 'Completed')
    }
}
