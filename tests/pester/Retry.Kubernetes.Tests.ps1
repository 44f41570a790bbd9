# Retry policies on Kubernetes, against the API-server double of tests/infra/kubernetes: an
# OOMKilled pod (driven by hand in namespace ccat-manual) retried with more memory, a job past
# its activeDeadlineSeconds retried with more time and a failure not in -RetryOn left alone
# (namespace ccat-test really runs commands), and two processes waiting on one failing job
# making exactly one retry (claims are resourceVersion-conditioned replaces of the record).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $script:work = (Use-CcatKubernetesDouble -Name 'retry-k8s' -PollSeconds '0.3').Work
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Retry policies on Kubernetes' -Tag 'Service', 'Kubernetes' {
    It 'an OOMKilled job is retried with more memory and completes as attempt 2, both attempts visible' {
        $env:CCAT_WORKFLOW_MANAGER_K8S_NAMESPACE = 'ccat-manual'
        try {
            $job = Submit-CcatJob -ExecutionCommand 'python3 big.py' -JobName 'retry oom' -Resources @{ memory_gb = 0.5 } -RetryOn OutOfMemory -MemoryGrowth 2
            Invoke-KubeDouble "jobs/ccat-manual/$($job.JobId)/state" @{ state = 'terminated'; exitCode = 137; reason = 'OOMKilled' } | Out-Null
            $second = $job | Get-CcatJobStatus
            $second.Attempt | Should -Be 2
            $second.AttemptJobId | Should -Not -Be $job.JobId
            # Attempt 2's Job asks for the grown memory.
            $manifest = Invoke-Kube "apis/batch/v1/namespaces/ccat-manual/jobs/$($second.AttemptJobId)"
            $manifest.spec.template.spec.containers[0].resources.limits.memory | Should -Be '1Gi'
            Invoke-KubeDouble "jobs/ccat-manual/$($second.AttemptJobId)/state" @{ state = 'terminated'; exitCode = 0; reason = 'Completed' } | Out-Null
            $r = $job | Wait-CcatJob -Timeout 60
            $r.JobId | Should -Be $job.JobId
            $r.Status | Should -Be 'Completed'
            $r.Attempt | Should -Be 2
            $r.RequestedMemoryGb | Should -Be 1
            $r.PreviousAttempts[0].JobId | Should -Be $job.JobId
            $r.PreviousAttempts[0].Reason | Should -Be 'OutOfMemory'
            $r.PreviousAttempts[0].ExitCode | Should -Be 137
            # The ledger is in the first attempt's record ConfigMap.
            $record = Invoke-Kube "api/v1/namespaces/ccat-manual/configmaps/$($job.JobId)"
            $record.metadata.labels.'ccat-workflow/retry' | Should -Be 'plan'
            $record.data.'retryAttempt.2' | Should -Match $second.AttemptJobId
        }
        finally { $env:CCAT_WORKFLOW_MANAGER_K8S_NAMESPACE = 'ccat-test' }
    }

    It 'a job past its time limit is retried with more time and completes' {
        # 0.001 h = 3.6 s (a 4 s deadline), 6 s of work: attempt 2 gets 0.004 h = 14.4 s, rounded up to 15 s.
        $job = Submit-CcatJob -ExecutionCommand 'echo "attempt $CCAT_ATTEMPT"; sleep 6' -JobName 'retry timeout' -Resources @{ time_hours = 0.001 } -RetryOn Timeout -TimeGrowth 4
        $r = $job | Wait-CcatJob -Timeout 120
        $r.Status | Should -Be 'Completed'
        $r.Attempt | Should -Be 2
        $r.PreviousAttempts[0].Reason | Should -Be 'Timeout'
        [Math]::Round($r.RequestedTimeHours * 3600, 3) | Should -Be 15
        ($job | Get-CcatJobLog -Raw) | Should -Match 'attempt 2'
    }

    It 'a non-zero exit not in -RetryOn is not retried' {
        $job = Submit-CcatJob -ExecutionCommand 'exit 3' -JobName 'retry not' -RetryOn OutOfMemory, Timeout -MemoryGrowth 1 -TimeGrowth 1
        $r = $job | Wait-CcatJob -Timeout 60
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'NonZeroExit'
        $r.Attempt | Should -Be 1
        (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$($job.JobId)").data.PSObject.Properties.Name | Should -Not -Contain 'retryAttempt.2'
    }

    It 'two processes waiting on the same failing job produce exactly one retry' {
        $runs = Join-Path $script:work 'runs.txt'
        $go = Join-Path $script:work 'go'
        $cmd = "echo `"`$CCAT_ATTEMPT`" >> '$runs'; [ `"`$CCAT_ATTEMPT`" -ge 2 ] && exit 0; while [ ! -e '$go' ]; do sleep 0.1; done; exit 1"
        $job = Submit-CcatJob -ExecutionCommand $cmd -JobName 'retry race' -RetryOn NonZeroExit -MaxAttempts 3
        $seen = Invoke-CcatWaiterRace -JobId $job.JobId -Backend Kubernetes -Folder $script:work -Release {
            Start-Sleep -Seconds 1 # both are past their first poll (either order must give one retry)
            Set-Content $go go
        }
        foreach ($one in $seen) {
            $one.Status.ToString() | Should -Be 'Completed' # deserialized: the enum comes back as a number that prints its name
            [int] "$($one.Attempt)" | Should -Be 2
        }
        (Get-Content $runs) | Should -Be @('1', '2')
    }

    It 'an array element that fails for a retried reason is retried alone and completes; the array reads Completed' {
        # One Indexed Job; element 1's attempt 1 exits 1 (NonZeroExit, retried), attempt 2 succeeds.
        $cmd = 'echo "element $CCAT_ARRAY_INDEX attempt $CCAT_ATTEMPT"; [ "$CCAT_ARRAY_INDEX" = 1 ] && [ "$CCAT_ATTEMPT" = 1 ] && exit 1; exit 0'
        $jobs = @(Submit-CcatJob -ArrayIndex '0-2' -ExecutionCommand $cmd -JobName 'retry array' -Resources @{ memory_gb = 0.25 } -RetryOn NonZeroExit -MaxAttempts 3 -MemoryGrowth 2)
        $arrayId = $jobs[0].ArrayJobId
        $done = @($jobs | Wait-CcatJob -Timeout 180 | Sort-Object ArrayIndex)
        $done.Status | Should -Be @('Completed', 'Completed', 'Completed')
        $done.Attempt | Should -Be @(1, 2, 1)
        $one = $done[1]
        $one.JobId | Should -Be "${arrayId}_1"
        $one.ArrayJobId | Should -Be $arrayId
        $one.AttemptJobId | Should -Not -Match '_'
        $one.RequestedMemoryGb | Should -Be 0.25 -Because 'memory grows after OutOfMemory only'
        $one.PreviousAttempts[0].JobId | Should -Be "${arrayId}_1"
        $one.PreviousAttempts[0].Reason | Should -Be 'NonZeroExit'
        # The array counts each element's latest attempt: waiting on its id ends with every element
        # completed, and -RetryFailed finds nothing to re-run.
        $all = @(Wait-CcatJob -JobId $arrayId -Backend Kubernetes -Timeout 120 | Sort-Object ArrayIndex)
        $all.Status | Should -Be @('Completed', 'Completed', 'Completed')
        $all.Attempt | Should -Be @(1, 2, 1)
        Submit-CcatJob -RetryFailed $arrayId -Backend Kubernetes -ErrorVariable none -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $none[0].FullyQualifiedErrorId | Should -BeLike 'NoFailedElements,*'
        (Get-CcatJobLog -JobId "${arrayId}_1" -Backend Kubernetes -Raw) | Should -Match 'element 1 attempt 2'
        # The ledger is in the array's record ConfigMap, apart from other elements'.
        $record = Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$arrayId"
        $record.metadata.labels.'ccat-workflow/retry' | Should -Be 'plan'
        $record.data.'retryElement.1.attempt.2' | Should -Match $one.AttemptJobId
    }

    It 'an array element failing for a reason not in -RetryOn is not retried' {
        $jobs = @(Submit-CcatJob -ArrayIndex '0-2' -ExecutionCommand '[ "$CCAT_ARRAY_INDEX" = 2 ] && exit 3; exit 0' -JobName 'retry array not' -RetryOn OutOfMemory, Timeout -MemoryGrowth 1 -TimeGrowth 1)
        $arrayId = $jobs[0].ArrayJobId
        $done = @($jobs | Wait-CcatJob -Timeout 120 | Sort-Object ArrayIndex)
        $done.Status | Should -Be @('Completed', 'Completed', 'Failed')
        $done[2].Reason | Should -Be 'NonZeroExit'
        $done.Attempt | Should -Be @(1, 1, 1)
        (Get-CcatJobStatus -JobId $arrayId -Backend Kubernetes | Where-Object Status -EQ 'Failed').ArrayIndex | Should -Be 2
        (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$arrayId").data.PSObject.Properties.Name | Should -Not -Contain 'retryElement.2.attempt.2'
    }

    It 'two processes waiting on the same failing array element produce exactly one retry of it' {
        $race = Invoke-CcatElementRace -Backend Kubernetes -Folder $script:work
        foreach ($one in $race.Seen) {
            $one.Status.ToString() | Should -Be 'Completed' # deserialized: the enum comes back as a number that prints its name
            [int] "$($one.Attempt)" | Should -Be 2
        }
        # Exactly one new attempt of element 1, none of the others; the array completes.
        $race.Runs | Should -Be @('0-1', '1-1', '1-2', '2-1')
        @(Get-CcatJobStatus -JobId $race.ArrayId -Backend Kubernetes).Status | Should -Be @('Completed', 'Completed', 'Completed')
    }
}

