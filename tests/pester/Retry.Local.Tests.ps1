# Retry policies on the Local backend, with both job stores, through the cmdlets: an
# out-of-memory job retried with more memory, a timeout retried with more time, a failure not
# in -RetryOn left alone, and two processes waiting on one failing job making exactly one retry.
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

    function Use-Store([string] $Store) { Use-CcatLocalStore -Root $TestDrive -Store $Store -Name 'retry' -PollSeconds '0.2' }
}

Describe 'Retry policies on Local with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll { $script:dir = Use-Store $Store }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'a job that exceeds its memory is retried with more and completes as attempt 2, both attempts visible' {
        # Touches 300 MiB: over 0.2 GiB (204.8 MiB), under 0.2 × 2.5 = 0.5 GiB.
        $cmd = 'echo "attempt $CCAT_ATTEMPT"; python3 -c "b = bytearray(300 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096]); import time; time.sleep(3)"'
        $job = Submit-CcatJob -ExecutionCommand $cmd -JobName 'retry oom' -Resources @{ memory_gb = 0.2 } -RetryOn OutOfMemory -MaxAttempts 3 -MemoryGrowth 2.5
        $records = $job | Wait-CcatJob -Timeout 180 -Verbose 4>&1
        $r = $records | Where-Object { $_ -is [CcatWorkflow.HPCJobInfo] }
        $verbose = ($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"

        $r.JobId | Should -Be $job.JobId
        $r.Status | Should -Be 'Completed'
        $r.Attempt | Should -Be 2
        $r.AttemptJobId | Should -Not -Be $job.JobId
        $r.RequestedMemoryGb | Should -Be 0.5
        $r.PreviousAttempts.Count | Should -Be 1
        $r.PreviousAttempts[0].JobId | Should -Be $job.JobId
        $r.PreviousAttempts[0].Reason | Should -Be 'OutOfMemory'
        $r.PreviousAttempts[0].RequestedMemoryGb | Should -Be 0.2
        $verbose | Should -Match "attempt 1 .* failed with reason OutOfMemory.*retrying as attempt 2 of 3 \(memory 0\.2 → 0\.5 GiB\)"

        ($job | Get-CcatJobLog -Raw) | Should -Match 'attempt 2'
        (Get-CcatJobLog -JobId $job.JobId -Backend Local -Attempt 1 -Raw) | Should -Match 'attempt 1'
        # Every cmdlet on the id sees the latest attempt, and the listing shows the job once.
        ($job | Get-CcatJobStatus).Attempt | Should -Be 2
        @(Get-CcatJob -Backend Local -Name 'retry oom').Count | Should -Be 1
    }

    It 'a job that runs past its time limit is retried with more time and completes' {
        # 3 s limit, 5 s of work: attempt 2 gets 3 × 4 = 12 s.
        $job = Submit-CcatJob -ExecutionCommand 'sleep 5' -JobName 'retry timeout' -Resources @{ time_hours = 3 / 3600 } -RetryOn Timeout -TimeGrowth 4
        $r = $job | Wait-CcatJob -Timeout 180
        $r.Status | Should -Be 'Completed'
        $r.Attempt | Should -Be 2
        $r.PreviousAttempts[0].Reason | Should -Be 'Timeout'
        $r.RequestedTimeHours * 3600 | Should -BeGreaterOrEqual 11.99
    }

    It 'a non-zero exit not in -RetryOn is not retried' {
        $job = Submit-CcatJob -ExecutionCommand 'exit 3' -JobName 'retry not' -RetryPolicy @{ RetryOn = 'OutOfMemory', 'Timeout'; MemoryGrowth = 1; TimeGrowth = 1 }
        $r = $job | Wait-CcatJob -Timeout 60
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'NonZeroExit'
        $r.Attempt | Should -Be 1
        $r.PreviousAttempts.Count | Should -Be 0
        @(Get-CcatJob -Backend Local -Name 'retry not').Count | Should -Be 1
    }

    It 'two processes waiting on the same failing job produce exactly one retry' {
        $runs = Join-Path $TestDrive "runs-$Store.txt"
        $go = Join-Path $TestDrive "go-$Store"
        # Attempt 1 waits for the go file, then fails; attempt 2 succeeds. Each run appends its attempt.
        $cmd = "echo `"`$CCAT_ATTEMPT`" >> '$runs'; [ `"`$CCAT_ATTEMPT`" -ge 2 ] && exit 0; while [ ! -e '$go' ]; do sleep 0.1; done; exit 1"
        $job = Submit-CcatJob -ExecutionCommand $cmd -JobName 'retry race' -RetryOn NonZeroExit -MaxAttempts 3
        $seen = Invoke-CcatWaiterRace -JobId $job.JobId -Backend Local -Folder $TestDrive -Release {
            Start-Sleep -Seconds 1 # both are past their first poll (not a correctness margin: either order must give one retry)
            Set-Content $go go
        }
        foreach ($one in $seen) {
            $one.Status.ToString() | Should -Be 'Completed' # deserialized: the enum comes back as a number that prints its name
            [int] "$($one.Attempt)" | Should -Be 2
        }
        # Exactly two runs: attempt 1 and one attempt 2.
        (Get-Content $runs) | Should -Be @('1', '2')
        ($job | Get-CcatJobStatus).PreviousAttempts.Count | Should -Be 1
    }

    It 'Stop-CcatJob on a job under a policy stops it for good: no attempt follows' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 60' -JobName 'retry stop' -RetryOn Signaled, NonZeroExit -MaxAttempts 3
        Wait-Until { ($job | Get-CcatJobStatus).Status -eq 'Running' }
        $job | Stop-CcatJob -Confirm:$false
        $r = $job | Wait-CcatJob -Timeout 60
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'Cancelled'
        $r.Attempt | Should -Be 1
    }
}

Describe 'Retry policies on Local arrays (per element) with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll { $script:dir = Use-Store $Store }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'an element that exceeds its memory is retried alone with more and completes; the array reads Completed' {
        # Element 1 touches 300 MiB: over 0.2 GiB (204.8 MiB), under 0.2 × 2.5 = 0.5 GiB; elements 0 and 2 touch nothing.
        $cmd = 'echo "element $CCAT_ARRAY_INDEX attempt $CCAT_ATTEMPT"; [ "$CCAT_ARRAY_INDEX" = 1 ] || exit 0; python3 -c "b = bytearray(300 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096]); import time; time.sleep(3)"'
        $jobs = @(Submit-CcatJob -ArrayIndex '0-2' -ExecutionCommand $cmd -JobName 'retry array oom' -Resources @{ memory_gb = 0.2 } -RetryOn OutOfMemory -MaxAttempts 3 -MemoryGrowth 2.5)
        $jobs.Count | Should -Be 3
        $arrayId = $jobs[0].ArrayJobId
        $done = @($jobs | Wait-CcatJob -Timeout 240 | Sort-Object ArrayIndex)
        $done.Status | Should -Be @('Completed', 'Completed', 'Completed')
        $done.Attempt | Should -Be @(1, 2, 1)
        $done.JobId | Should -Be @("${arrayId}_0", "${arrayId}_1", "${arrayId}_2")
        $one = $done[1]
        $one.ArrayJobId | Should -Be $arrayId
        $one.ArrayIndex | Should -Be 1
        $one.AttemptJobId | Should -Not -Be "${arrayId}_1"
        $one.RequestedMemoryGb | Should -Be 0.5
        $one.PreviousAttempts[0].JobId | Should -Be "${arrayId}_1"
        $one.PreviousAttempts[0].Reason | Should -Be 'OutOfMemory'
        $done[0].RequestedMemoryGb | Should -Be 0.2

        # The array counts each element's latest attempt: waiting on its id ends with every element
        # completed, and -RetryFailed finds nothing to re-run.
        $all = @(Wait-CcatJob -JobId $arrayId -Backend Local -Timeout 120 | Sort-Object ArrayIndex)
        $all.Status | Should -Be @('Completed', 'Completed', 'Completed')
        $all.Attempt | Should -Be @(1, 2, 1)
        Submit-CcatJob -RetryFailed $arrayId -Backend Local -ErrorVariable none -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $none[0].FullyQualifiedErrorId | Should -BeLike 'NoFailedElements,*'
        # The new attempt sees the element's index; both attempts' logs stay readable.
        (Get-CcatJobLog -JobId "${arrayId}_1" -Backend Local -Raw) | Should -Match 'element 1 attempt 2'
        (Get-CcatJobLog -JobId "${arrayId}_1" -Backend Local -Attempt 1 -Raw) | Should -Match 'element 1 attempt 1'
        # A listing shows each element once (the new attempt's own job folded in).
        @(Get-CcatJob -Backend Local -Name 'retry array oom').Count | Should -Be 3
    }

    It 'an element failing for a reason not in -RetryOn is not retried; -RetryFailed still re-runs it' {
        $flag = Join-Path $TestDrive "fixed-$Store"
        $jobs = @(Submit-CcatJob -ArrayIndex '0-2' -ExecutionCommand "[ `"`$CCAT_ARRAY_INDEX`" = 2 ] && [ ! -e '$flag' ] && exit 3; exit 0" -JobName 'retry array not' -RetryOn OutOfMemory, Timeout -MemoryGrowth 1 -TimeGrowth 1)
        $arrayId = $jobs[0].ArrayJobId
        $done = @($jobs | Wait-CcatJob -Timeout 120 | Sort-Object ArrayIndex)
        $done.Status | Should -Be @('Completed', 'Completed', 'Failed')
        $done[2].Reason | Should -Be 'NonZeroExit'
        $done.Attempt | Should -Be @(1, 1, 1)
        (Get-CcatJobStatus -JobId $arrayId -Backend Local | Where-Object Status -EQ 'Failed').ArrayIndex | Should -Be 2

        New-Item -ItemType File $flag | Out-Null
        $again = @(Submit-CcatJob -RetryFailed $arrayId -Backend Local)
        $again.ArrayIndex | Should -Be @(2)
        ($again | Wait-CcatJob -Timeout 120).Status | Should -Be 'Completed'
    }

    It 'two processes waiting on the same failing element produce exactly one retry of it' {
        $race = Invoke-CcatElementRace -Backend Local -Folder $TestDrive
        foreach ($one in $race.Seen) {
            $one.Status.ToString() | Should -Be 'Completed' # deserialized: the enum comes back as a number that prints its name
            [int] "$($one.Attempt)" | Should -Be 2
        }
        # Exactly one new attempt of element 1, none of the others; the array completes.
        $race.Runs | Should -Be @('0-1', '1-1', '1-2', '2-1')
        @(Get-CcatJobStatus -JobId $race.ArrayId -Backend Local).Status | Should -Be @('Completed', 'Completed', 'Completed')
    }
}

Describe 'Retry policy input' -Tag 'Process', 'Local' {
    BeforeAll { Use-Store 'file' | Out-Null }

    It 'refuses a policy that names no reason, or both forms at once, with InvalidRetryPolicy' {
        Submit-CcatJob -ExecutionCommand 'true' -MaxAttempts 2 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRetryPolicy*'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Submit-CcatJob -ExecutionCommand 'true' -RetryOn Timeout -RetryPolicy @{ RetryOn = 'Timeout' } -ErrorVariable e2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRetryPolicy*'
    }

    It 'refuses growing memory with no memory_gb to grow from' {
        Submit-CcatJob -ExecutionCommand 'true' -RetryOn OutOfMemory -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRetryPolicy*'
        $e[0].Exception.Message | Should -Match 'memory_gb'
    }

    It 'refuses a secret variable with a policy (nothing could submit it again)' {
        Submit-CcatJob -ExecutionCommand 'true' -RetryOn NodeFailure -SecretEnvironment @{ TOKEN = 'x' } -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRetryPolicy*'
    }

    It '-WhatIf shows the attempt variable the job will see' {
        $text = Get-WhatIfText "Submit-CcatJob -ExecutionCommand 'true' -RetryOn NodeFailure -WhatIf"
        $text | Should -Match "CCAT_ATTEMPT='?1"
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
