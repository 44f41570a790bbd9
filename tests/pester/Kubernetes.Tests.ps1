# The Kubernetes backend through the cmdlets, against the API-server double of
# tests/infra/kubernetes (HTTPS with a bearer token; started here if it is not up). Namespace
# ccat-test really runs each pod's command on this host (the runner image is ignored: the double
# cannot pull images); in ccat-manual the tests drive each pod through the double's control API.

BeforeAll {
    $started = & bash (Join-Path $PSScriptRoot '../infra/kubernetes/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/kubernetes/start.sh failed with exit code $LASTEXITCODE" }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    $script:manifest = Join-Path $PSScriptRoot '../../out/CcatWorkflow/CcatWorkflow.psd1'
    Import-Module $script:manifest -Force

    $script:state = Split-Path -Parent (($started | Where-Object { $_ -like 'KUBECONFIG=*' }) -replace '^KUBECONFIG=', '')
    $script:url = (Get-Content (Join-Path $script:state 'url') -Raw).Trim()
    $script:token = (Get-Content (Join-Path $script:state 'token') -Raw).Trim()
    $script:pwshDll = Join-Path $PSHOME 'pwsh.dll'

    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-k8s-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')
    $script:kubeconfig = Join-Path $script:state 'kubeconfig'

    function Use-Kubernetes([string] $Namespace = 'ccat-test', [string] $Kubeconfig = $script:kubeconfig) {
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'kubernetes'
        $env:CCAT_WORKFLOW_MANAGER_K8S_KUBECONFIG = $Kubeconfig
        $env:CCAT_WORKFLOW_MANAGER_K8S_NAMESPACE = $Namespace
        $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '0.5'
        Remove-Item env:CCAT_WORKFLOW_MANAGER_K8S_RUNNER_IMAGE, env:CCAT_WORKFLOW_MANAGER_K8S_NODE_SELECTOR -ErrorAction Ignore
    }

    # The double's test-control API (outside the Kubernetes API paths, no token).
    function Invoke-Double([string] $Path, $Body, [string] $Method = 'Post') {
        $params = @{ Uri = "$($script:url)_double/$Path"; Method = $Method; SkipCertificateCheck = $true }
        if ($null -ne $Body) { $params.Body = ($Body | ConvertTo-Json -Compress); $params.ContentType = 'application/json' }
        Invoke-RestMethod @params
    }

    # The Kubernetes API itself, as any client sees it.
    function Invoke-Kube([string] $Path) {
        Invoke-RestMethod -Uri "$($script:url)$Path" -Headers @{ Authorization = "Bearer $($script:token)" } -SkipCertificateCheck
    }

    function Get-JobPod([string] $Namespace, [string] $JobId) {
        @((Invoke-Kube "api/v1/namespaces/$Namespace/pods?labelSelector=ccat-workflow%2Fjob-id%3D$JobId").items)
    }

    New-Item -ItemType Directory -Force $script:work | Out-Null
    Use-Kubernetes
}

AfterAll {
    Invoke-Double 'fail-next' -Method Delete | Out-Null
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Kubernetes backend: jobs that run' -Tag 'Service', 'Kubernetes' {
    BeforeEach { Use-Kubernetes }

    It 'a job that exits 3 reads failed with exit code 3 and a wall time from the pod timestamps' {
        $r = Submit-CcatJob -ExecutionCommand 'echo to-stdout; echo to-stderr >&2; sleep 1; echo last; exit 3' -JobName 'Pester Exit 3' | Wait-CcatJob -Timeout 60
        $r.Backend | Should -Be 'Kubernetes'
        $r.JobId | Should -Match '^pester-exit-3-[a-z0-9]{5}$'
        $r.JobName | Should -Be 'Pester Exit 3'
        $r.Status | Should -Be 'Failed'
        $r.ExitCode | Should -Be 3
        $r.Reason | Should -Be 'NonZeroExit'

        $pod = Get-JobPod 'ccat-test' $r.JobId | Select-Object -First 1
        $t = $pod.status.containerStatuses[0].state.terminated
        $t.exitCode | Should -Be 3
        $started = [DateTimeOffset]::Parse("$($t.startedAt)", [Globalization.CultureInfo]::InvariantCulture, 'AssumeUniversal')
        $finished = [DateTimeOffset]::Parse("$($t.finishedAt)", [Globalization.CultureInfo]::InvariantCulture, 'AssumeUniversal')
        $r.StartedAt.UtcDateTime | Should -Be $started.UtcDateTime
        $r.FinishedAt.UtcDateTime | Should -Be $finished.UtcDateTime
        $r.WallTimeSeconds | Should -Be ($finished - $started).TotalSeconds
        $r.WallTimeSeconds | Should -BeGreaterOrEqual 1 -Because 'the command sleeps one second'
        $r.CpuHours | Should -BeNullOrEmpty -Because 'Kubernetes does not measure it'

        $log = $r | Get-CcatJobLog
        ($log -join "`n") | Should -Match 'to-stdout'
        ($log -join "`n") | Should -Match 'to-stderr'
        ($r | Get-CcatJobLog -Tail 1) -join "`n" | Should -Match '^last\s*$'
    }

    It 'a job that exits 0 completes and sees its environment exactly' {
        $r = Submit-CcatJob -ExecutionCommand 'printf "[%s]" "$GREETING"' -Environment @{ GREETING = "it's `$HOME and `"quotes`"" } | Wait-CcatJob -Timeout 60
        $r.Status | Should -Be 'Completed'
        $r.ExitCode | Should -Be 0
        ($r | Get-CcatJobLog) -join '' | Should -Be "[it's `$HOME and `"quotes`"]"
    }

    It 'starts the command in -WorkingDirectory (the container''s workingDir); a plain command gets the host -OutputDir as WORKFLOW_OUTPUT_DIR' {
        $here = New-Item -ItemType Directory -Force (Join-Path $script:work 'work here')
        $out = New-Item -ItemType Directory -Force (Join-Path $script:work 'plain-out')
        $r = Submit-CcatJob -ExecutionCommand 'pwd; echo product > "$WORKFLOW_OUTPUT_DIR/result.txt" && echo "$WORKFLOW_OUTPUT_DIR"' `
            -WorkingDirectory $here.FullName -OutputDir $out.FullName | Wait-CcatJob -Timeout 60
        $r.Status | Should -Be 'Completed'
        @($r | Get-CcatJobLog) | Should -Be @($here.FullName, $out.FullName)
        Get-Content (Join-Path $out 'result.txt') | Should -Be 'product'
        $spec = (Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs?labelSelector=ccat-workflow%2Fjob-id%3D$($r.JobId)").items[0].spec.template.spec
        $spec.containers[0].workingDir | Should -Be $here.FullName
    }

    It '-Follow streams the log until the container ends' {
        $job = Submit-CcatJob -ExecutionCommand 'for i in 1 2 3 4; do echo line $i; sleep 0.3; done'
        $lines = @($job | Get-CcatJobLog -Follow) -join "`n"
        $lines | Should -Match 'line 1'
        $lines | Should -Match 'line 4'
        ($job | Get-CcatJobStatus).Status | Should -Be 'Completed'
    }

    It 'a cancelled job leaves no pod behind and reads failed, reason cancelled' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 300' -JobName 'pester cancel'
        Wait-Until { ($job | Get-CcatJobStatus).Status -eq 'Running' }
        @(Get-JobPod 'ccat-test' $job.JobId).Count | Should -Be 1
        $job | Stop-CcatJob -Confirm:$false
        Wait-Until { @(Get-JobPod 'ccat-test' $job.JobId).Count -eq 0 }
        $r = $job | Get-CcatJobStatus
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'Cancelled'
        (Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs?fieldSelector=metadata.name%3D$($job.JobId)").items | Should -BeNullOrEmpty
    }

    It 'a job past time_hours reads failed, reason timeout' {
        $r = Submit-CcatJob -ExecutionCommand 'sleep 300' -Resources @{ time_hours = 0.0005 } | Wait-CcatJob -Timeout 60
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'Timeout'
        Wait-Until { @(Get-JobPod 'ccat-test' $r.JobId).Count -eq 0 }
    }

    It 'an image that cannot be pulled fails fast with its reason' {
        $env:CCAT_WORKFLOW_MANAGER_K8S_RUNNER_IMAGE = 'registry.invalid/ccat/runner:1.0'
        $r = Submit-CcatJob -ExecutionCommand 'true' | Wait-CcatJob -Timeout 60
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'ImagePullFailure'
        $r.Message | Should -Match '^(ErrImagePull|ImagePullBackOff)'
    }

    It 'Get-CcatJob lists the jobs of the namespace' {
        $job = Submit-CcatJob -ExecutionCommand 'true' -JobName 'pester listed'
        (Get-CcatJob -Backend Kubernetes).JobId | Should -Contain $job.JobId
    }

    It '-WhatIf shows the exact manifest and submits nothing' {
        $before = @((Invoke-Kube 'apis/batch/v1/namespaces/ccat-test/jobs').items).Count
        $text = Get-WhatIfText "Submit-CcatJob -ExecutionCommand 'echo whatif' -JobName 'pester what if' -Resources @{ cpu = 2; memory_gb = 4; time_hours = 1 } -WhatIf"
        $text | Should -Match 'kind: Job'
        $text | Should -Match 'restartPolicy: Never'
        $text | Should -Match 'backoffLimit: 0'
        $text | Should -Match 'activeDeadlineSeconds: 3600'
        $text | Should -Match 'memory: "4Gi"'
        $text | Should -Match 'echo whatif'
        $text | Should -Match 'namespace: ccat-test'
        @((Invoke-Kube 'apis/batch/v1/namespaces/ccat-test/jobs').items).Count | Should -Be $before
    }
}

Describe 'Kubernetes backend: pods driven by hand' -Tag 'Service', 'Kubernetes' {
    BeforeEach { Use-Kubernetes -Namespace 'ccat-manual' }

    It 'an OOMKilled pod reads failed, reason out of memory, exit 137' {
        $job = Submit-CcatJob -ExecutionCommand 'python3 big.py' -Resources @{ memory_gb = 0.5 }
        Invoke-Double "jobs/ccat-manual/$($job.JobId)/state" @{ state = 'running' } | Out-Null
        ($job | Get-CcatJobStatus).Status | Should -Be 'Running'
        Invoke-Double "jobs/ccat-manual/$($job.JobId)/state" @{ state = 'terminated'; exitCode = 137; reason = 'OOMKilled' } | Out-Null
        $r = $job | Wait-CcatJob -Timeout 30
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'OutOfMemory'
        $r.ExitCode | Should -Be 137
    }

    It 'an unschedulable pod reads pending with that reason; an evicted one fails as evicted' {
        $job = Submit-CcatJob -ExecutionCommand 'true' -Resources @{ cpu = 512 }
        Invoke-Double "jobs/ccat-manual/$($job.JobId)/state" @{ state = 'unschedulable'; message = '0/1 nodes are available: 1 Insufficient cpu.' } | Out-Null
        $r = $job | Get-CcatJobStatus
        $r.Status | Should -Be 'Pending'
        $r.Reason | Should -Be 'Unschedulable'
        $r.Message | Should -Be '0/1 nodes are available: 1 Insufficient cpu.'
        Invoke-Double "jobs/ccat-manual/$($job.JobId)/state" @{ state = 'running' } | Out-Null
        Invoke-Double "jobs/ccat-manual/$($job.JobId)/state" @{ state = 'evicted' } | Out-Null
        ($job | Wait-CcatJob -Timeout 30).Reason | Should -Be 'Evicted'
    }

    It 'a job deleted behind our back reads failed, reason lost' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 300'
        Invoke-RestMethod -Method Delete -Uri "$($script:url)apis/batch/v1/namespaces/ccat-manual/jobs/$($job.JobId)?propagationPolicy=Background" `
            -Headers @{ Authorization = "Bearer $($script:token)" } -SkipCertificateCheck | Out-Null
        $r = $job | Get-CcatJobStatus
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'Lost'
    }

    It 'status of 200 jobs costs three API calls, counted by the double' {
        $jobs = @(1..200 | ForEach-Object { [pscustomobject]@{ ExecutionCommand = 'true'; JobName = "pester batch $_" } } | Submit-CcatJob)
        $jobs.Count | Should -Be 200

        Invoke-Double 'stats/reset' | Out-Null
        $one = Get-CcatJobStatus -JobId $jobs[0].JobId -Backend Kubernetes
        $one.Status | Should -Be 'Pending'
        (Invoke-Double 'stats' -Method Get).total | Should -Be 3

        Invoke-Double 'stats/reset' | Out-Null
        $all = @($jobs | Get-CcatJobStatus)
        $all.Count | Should -Be 200
        $stats = Invoke-Double 'stats' -Method Get
        $stats.total | Should -Be 3
        $stats.requests.'list jobs' | Should -Be 1
        $stats.requests.'list pods' | Should -Be 1
        $stats.requests.'list configmaps' | Should -Be 1

        Invoke-Double 'stats/reset' | Out-Null
        @(Get-CcatJobStatus -JobId $jobs.JobId -Backend Kubernetes).Count | Should -Be 200
        (Invoke-Double 'stats' -Method Get).total | Should -Be 3

        $jobs | Stop-CcatJob -Confirm:$false
        @($jobs | Get-CcatJobStatus | Where-Object Reason -eq 'Cancelled').Count | Should -Be 200
    }
}

Describe 'Kubernetes backend: API errors become ErrorRecords with their own ErrorId' -Tag 'Service', 'Kubernetes' {
    BeforeEach { Use-Kubernetes -Namespace 'ccat-manual' }
    AfterEach { Invoke-Double 'fail-next' -Method Delete | Out-Null }

    It '<Case> is <ErrorId>' -TestCases @(
        @{ Case = 'a wrong token (401)'; ErrorId = 'KubernetesUnauthorized'; Kubeconfig = 'kubeconfig-wrong-token'; Message = '401 Unauthorized' }
        @{ Case = 'RBAC refusal (403)'; ErrorId = 'KubernetesForbidden'; Namespace = 'ccat-forbidden'; Message = 'is forbidden: User' }
        @{ Case = 'a missing namespace (404)'; ErrorId = 'KubernetesNotFound'; Namespace = 'no-such-namespace'; Message = 'namespaces "no-such-namespace" not found' }
        @{ Case = 'a taken name (409)'; ErrorId = 'KubernetesConflict'; Inject = @{ code = 409; verb = 'create'; resource = 'jobs' }; Message = 'already exists' }
        @{ Case = 'an invalid spec (422)'; ErrorId = 'KubernetesInvalid'; NodeSelector = '{ "disk type" = "fast" }'; Message = 'spec.template.spec.nodeSelector: Invalid value' }
        @{ Case = 'a server error (500)'; ErrorId = 'KubernetesServerError'; Inject = @{ code = 500; verb = 'create' }; Message = 'etcdserver: request timed out' }
        @{ Case = 'an unavailable server (503)'; ErrorId = 'KubernetesServerError'; Inject = @{ code = 503; verb = 'create' }; Message = '503' }
        @{ Case = 'a refused connection'; ErrorId = 'KubernetesConnectionFailed'; Kubeconfig = 'kubeconfig-refused'; Message = 'refused' }
        @{ Case = 'an untrusted certificate'; ErrorId = 'KubernetesTlsFailed'; Kubeconfig = 'kubeconfig-no-ca'; Message = 'UntrustedRoot' }
    ) {
        param($Case, $ErrorId, $Kubeconfig, $Namespace, $Inject, $NodeSelector, $Message)
        Use-Kubernetes -Namespace ($Namespace ?? 'ccat-manual') -Kubeconfig ($Kubeconfig ? (Join-Path $script:state $Kubeconfig) : $script:kubeconfig)
        if ($NodeSelector) { $env:CCAT_WORKFLOW_MANAGER_K8S_NODE_SELECTOR = $NodeSelector }
        if ($Inject) { Invoke-Double 'fail-next' $Inject | Out-Null }

        $out = Submit-CcatJob -ExecutionCommand 'true' -JobName 'pester errors' -ErrorAction SilentlyContinue -ErrorVariable err
        $out | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$ErrorId,CcatWorkflow.Commands.SubmitCcatJobCommand"
        $err[0].Exception.Message | Should -BeLike "*$Message*"
    }

    It 'a server error while reading status is KubernetesServerError, never a failed job' {
        $job = Submit-CcatJob -ExecutionCommand 'true'
        Invoke-Double 'fail-next' @{ code = 503; verb = 'list'; resource = 'jobs' } | Out-Null
        $out = $job | Get-CcatJobStatus -ErrorAction SilentlyContinue -ErrorVariable err
        $out | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'KubernetesServerError,*'
        ($job | Get-CcatJobStatus).Status | Should -Be 'Pending'
    }

    It 'an unknown job id is JobNotFound' {
        Get-CcatJobStatus -JobId 'never-submitted-bcdfg' -Backend Kubernetes -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'JobNotFound,*'
    }
}
