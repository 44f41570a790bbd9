# Campaign hygiene on Kubernetes, against the API-server double of tests/infra/kubernetes
# (namespace ccat-test runs each pod's command on this host): requested resources read back in
# another process, Measure-CcatJob's time figure, and Remove-CcatJob leaving nothing behind
# (Jobs, pods and ConfigMaps labelled with the job's id, counted through the API).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $script:work = (Use-CcatKubernetesDouble -Name 'hygiene-k8s').Work

    # Every object labelled with the job's id: Jobs, pods, ConfigMaps (record and log).
    function Get-KubeTrace([string] $Id) {
        $selector = "ccat-workflow%2Fjob-id%3D$Id"
        @((Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs?labelSelector=$selector").items).Count +
        @((Invoke-Kube "api/v1/namespaces/ccat-test/pods?labelSelector=$selector").items | Where-Object { -not $_.metadata.deletionTimestamp }).Count +
        @((Invoke-Kube "api/v1/namespaces/ccat-test/configmaps?labelSelector=$selector").items).Count
    }

}

AfterAll {
    Get-CcatJob -Backend Kubernetes -Status Pending, Running -ErrorAction Ignore | Where-Object JobName -like 'hygiene*' | Stop-CcatJob -Confirm:$false -ErrorAction Ignore
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Campaign hygiene on Kubernetes' -Tag 'Service', 'Kubernetes' {
    It 'reads what was asked back in another process: resources and command' {
        $job = Submit-CcatJob -ExecutionCommand 'echo asked' -JobName 'hygiene asked' -Resources @{ cpu = 1; memory_gb = 0.5; time_hours = 0.25 } | Wait-CcatJob -Timeout 60
        $other = Invoke-InOtherProcess "Get-CcatJobStatus -Backend Kubernetes -JobId '$($job.JobId)'"
        $other.RequestedCpu | Should -Be 1
        $other.RequestedMemoryGb | Should -Be 0.5
        $other.RequestedTimeHours | Should -Be 0.25
        $other.RequestedGpu | Should -BeNullOrEmpty
        $other.Command | Should -Be 'echo asked'
        $other.LogPath | Should -BeNullOrEmpty -Because 'Kubernetes keeps logs in the API, not in files'

        # Measure-CcatJob: the time used is the wall time over the limit, as computed by hand.
        $m = $job | Measure-CcatJob
        $time = $job.WallTimeSeconds / (0.25 * 3600)
        [math]::Abs($m.TimeUsed - $time) | Should -BeLessOrEqual ([math]::Max($time * 0.01, 1e-12))
        $m.TimeVerdict | Should -Be 'OverAsked'
    }

    It 'Remove-CcatJob -WhatIf removes nothing' {
        $job = Submit-CcatJob -ExecutionCommand 'echo whatif' -JobName 'hygiene whatif' | Wait-CcatJob -Timeout 60
        $null = $job | Get-CcatJobStatus   # the capture (log ConfigMap) is made by a status read
        $before = Get-KubeTrace $job.JobId
        $before | Should -BeGreaterThan 0
        $job | Remove-CcatJob -WhatIf
        Get-KubeTrace $job.JobId | Should -Be $before
    }

    It 'Remove-CcatJob leaves nothing of a finished job behind: Job, pods, record and log ConfigMaps' {
        $job = Submit-CcatJob -ExecutionCommand 'echo removed' -JobName 'hygiene removed' | Wait-CcatJob -Timeout 60
        $null = $job | Get-CcatJobStatus
        $maps = @((Invoke-Kube "api/v1/namespaces/ccat-test/configmaps?labelSelector=ccat-workflow%2Fjob-id%3D$($job.JobId)").items)
        $maps.metadata.name | Should -Contain $job.JobId
        $maps.metadata.name | Should -Contain "$($job.JobId).log"
        $job | Remove-CcatJob
        Wait-Until { (Get-KubeTrace $job.JobId) -eq 0 }
        Get-CcatJobStatus -JobId $job.JobId -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'JobNotFound,*'
    }

    It 'refuses a running job, and -Force cancels it first' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 300' -JobName 'hygiene running'
        Wait-Until { (Get-CcatJobStatus -JobId $job.JobId).Status -eq 'Running' } -Seconds 60
        $job | Remove-CcatJob -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'JobStillRunning,*'
        Get-KubeTrace $job.JobId | Should -BeGreaterThan 0

        $job | Remove-CcatJob -Force -Confirm:$false
        Wait-Until { (Get-KubeTrace $job.JobId) -eq 0 }
    }

    It 'leaves objects without the module''s labels alone, even when named like the job''s' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 2; echo foreign' -JobName 'hygiene foreign'
        # Someone else's ConfigMap under the name the captured log will want, made while the job runs.
        Invoke-Kube 'api/v1/namespaces/ccat-test/configmaps' -Method Post -Body @{
            apiVersion = 'v1'; kind = 'ConfigMap'; metadata = @{ name = "$($job.JobId).log" }; data = @{ owner = 'someone else' }
        } | Out-Null
        $job = $job | Wait-CcatJob -Timeout 60
        $null = $job | Get-CcatJobStatus
        $job | Remove-CcatJob
        Wait-Until { (Get-KubeTrace $job.JobId) -eq 0 }
        (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$($job.JobId).log").data.owner | Should -Be 'someone else'
        Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$($job.JobId).log" -Method Delete | Out-Null
    }
}
