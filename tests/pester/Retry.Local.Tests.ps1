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
