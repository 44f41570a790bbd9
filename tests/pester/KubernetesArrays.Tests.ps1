# Job arrays and dependencies on the Kubernetes backend through the cmdlets, against the API
# double of tests/infra/kubernetes (started here if it is not up). In namespace ccat-test each
# pod's command really runs on this host; the dependency waiter (an init container) runs too and
# asks the double about its parents with its pod's service-account token, which RBAC in the
# double allows through the Role and RoleBinding made below. ccat-manual pods never start, which
# keeps the 500-element array pending while its status calls are counted per namespace.

BeforeAll {
    $started = & bash (Join-Path $PSScriptRoot '../infra/kubernetes/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/kubernetes/start.sh failed with exit code $LASTEXITCODE" }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Join-Path $PSScriptRoot '../../out/CcatWorkflow/CcatWorkflow.psd1') -Force

    $script:state = Split-Path -Parent (($started | Where-Object { $_ -like 'KUBECONFIG=*' }) -replace '^KUBECONFIG=', '')
    $script:url = (Get-Content (Join-Path $script:state 'url') -Raw).Trim()
    $script:token = (Get-Content (Join-Path $script:state 'token') -Raw).Trim()
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-k8s-arrays-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    New-Item -ItemType Directory -Force $script:work | Out-Null
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')

    function Use-Kubernetes([string] $Namespace = 'ccat-test') {
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'kubernetes'
        $env:CCAT_WORKFLOW_MANAGER_K8S_KUBECONFIG = Join-Path $script:state 'kubeconfig'
        $env:CCAT_WORKFLOW_MANAGER_K8S_NAMESPACE = $Namespace
        $env:CCAT_WORKFLOW_MANAGER_K8S_SERVICE_ACCOUNT = 'ccat-dependency-waiter'
        $env:CCAT_WORKFLOW_MANAGER_K8S_DEPENDENCY_POLL_SECONDS = '1'
        $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '0.5'
    }

    function Invoke-Kube([string] $Path, [string] $Method = 'Get', $Body) {
        $params = @{ Uri = "$($script:url)$Path"; Method = $Method; Headers = @{ Authorization = "Bearer $($script:token)" }; SkipCertificateCheck = $true }
        if ($null -ne $Body) { $params.Body = ($Body | ConvertTo-Json -Depth 10 -Compress); $params.ContentType = 'application/json' }
        Invoke-RestMethod @params
    }

    # API requests the double counted in one namespace.
    function Get-NamespaceCalls([string] $Namespace) {
        (Invoke-RestMethod -Uri "$($script:url)_double/stats?namespace=$Namespace" -SkipCertificateCheck).total
    }

    # The least-privilege RBAC of docs/kubernetes.md for the waiter: read Jobs and ConfigMaps.
    foreach ($o in @(
            @{ path = 'api/v1/namespaces/ccat-test/serviceaccounts'; body = @{ metadata = @{ name = 'ccat-dependency-waiter' } } },
            @{ path = 'apis/rbac.authorization.k8s.io/v1/namespaces/ccat-test/roles'; body = @{
                    metadata = @{ name = 'ccat-dependency-reader' }
                    rules    = @(@{ apiGroups = @('batch'); resources = @('jobs'); verbs = @('get', 'list', 'watch') },
                        @{ apiGroups = @(''); resources = @('configmaps'); verbs = @('get', 'list', 'watch') })
                } },
            @{ path = 'apis/rbac.authorization.k8s.io/v1/namespaces/ccat-test/rolebindings'; body = @{
                    metadata = @{ name = 'ccat-dependency-reader' }
                    roleRef  = @{ apiGroup = 'rbac.authorization.k8s.io'; kind = 'Role'; name = 'ccat-dependency-reader' }
                    subjects = @(@{ kind = 'ServiceAccount'; name = 'ccat-dependency-waiter'; namespace = 'ccat-test' })
                } })) {
        try { Invoke-Kube $o.path -Method Post -Body $o.body | Out-Null }
        catch { if ($_.Exception.Response.StatusCode.value__ -ne 409) { throw } }
    }

    Use-Kubernetes

    # The odd elements fail with exit code 1; each prints its real and its completion index.
    $script:oddFail = @(Submit-CcatJob -ArrayIndex '0-9' -JobName 'pester odd fail' `
            -ExecutionCommand 'echo "index $CCAT_ARRAY_INDEX completion $JOB_COMPLETION_INDEX"; exit $((CCAT_ARRAY_INDEX % 2))')
    # A sparse spec: positions 0..3 are indices 2, 5, 9, 11.
    $script:sparse = @(Submit-CcatJob -ArrayIndex '2,5,9-11:2' -JobName 'pester sparse' -ExecutionCommand 'echo "index $CCAT_ARRAY_INDEX"')

    # Throttle: every element records when it started and ended, in nanoseconds.
    $script:marks = Join-Path $script:work 'marks'
    New-Item -ItemType Directory -Force $script:marks | Out-Null
    $script:throttled = @(Submit-CcatJob -ArrayIndex '0-5' -ThrottleLimit 2 -JobName 'pester throttle' `
            -ExecutionCommand "date +%s%N > '$script:marks/start_'`$CCAT_ARRAY_INDEX; sleep 2; date +%s%N > '$script:marks/end_'`$CCAT_ARRAY_INDEX")

    # Parents of the dependency tests: they wait for the file parents-go, made once every dependent
    # is submitted, so no parent can end before its dependents exist however loaded the machine.
    $script:parentsGo = Join-Path $script:work 'parents-go'
    $waitForGo = "while [ ! -e '$script:parentsGo' ]; do sleep 0.1; done"
    $script:okParent = @(Submit-CcatJob -ArrayIndex '1-3' -JobName 'pester ok parent' -ExecutionCommand $waitForGo)
    $script:badParent = Submit-CcatJob -JobName 'pester failing parent' -ExecutionCommand "$waitForGo; exit 4"
    $script:afterOkChain = Submit-CcatJob -DependsOn $script:okParent -JobName 'pester combine' -ExecutionCommand 'echo combined'
    $script:afterOkChainJustSubmitted = Get-CcatJobStatus -InputObject $script:afterOkChain
    $script:afterOkBroken = Submit-CcatJob -DependsOn $script:badParent -JobName 'pester never' -ExecutionCommand 'echo must not run'
    $script:afterNotOkRuns = Submit-CcatJob -DependsOn $script:badParent -DependencyCondition AfterNotOk -JobName 'pester report' -ExecutionCommand 'echo reporting'
    $script:afterNotOkNever = Submit-CcatJob -DependsOn $script:okParent -DependencyCondition AfterNotOk -JobName 'pester no report' -ExecutionCommand 'echo must not run'
    $script:afterAnyRuns = Submit-CcatJob -DependsOn $script:badParent -DependencyCondition AfterAny -JobName 'pester cleanup' -ExecutionCommand 'echo cleaning'
    $script:afterElement = Submit-CcatJob -DependsOn $script:okParent[1] -JobName 'pester after one element' -ExecutionCommand 'echo after element'
    New-Item -ItemType File -Path $script:parentsGo | Out-Null
}

AfterAll {
    Use-Kubernetes
    $live = @(Get-CcatJob -Status Pending, Running -ErrorAction Ignore)
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Use-Kubernetes 'ccat-manual'
    $live = @(Get-CcatJob -Status Pending, Running -ErrorAction Ignore)
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Kubernetes arrays' -Tag 'Service', 'Kubernetes' {
    BeforeEach { Use-Kubernetes }

    It 'a 10-element array is one Indexed Job and returns one job per element, ArrayId_Index' {
        $jobs = $script:oddFail
        $jobs.Count | Should -Be 10
        $arrayId = $jobs[0].ArrayJobId
        $arrayId | Should -Match '^pester-odd-fail-[a-z0-9]{5}$'
        $jobs.JobId | Should -Be @(0..9 | ForEach-Object { "${arrayId}_$_" })
        $jobs.ArrayIndex | Should -Be @(0..9)
        $jobs | ForEach-Object { $_.ArrayJobId | Should -Be $arrayId; $_.Backend | Should -Be 'Kubernetes' }

        $k8sJobs = @((Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs?labelSelector=ccat-workflow%2Fjob-id%3D$arrayId").items)
        $k8sJobs.Count | Should -Be 1
        $k8sJobs[0].spec.completionMode | Should -Be 'Indexed'
        $k8sJobs[0].spec.completions | Should -Be 10
        $k8sJobs[0].spec.parallelism | Should -Be 10
        $k8sJobs[0].spec.backoffLimitPerIndex | Should -Be 0
        $records = @((Invoke-Kube "api/v1/namespaces/ccat-test/configmaps?labelSelector=ccat-workflow%2Fjob-id%3D$arrayId").items)
        $records.Count | Should -Be 1
        $records[0].data.arrayIndex | Should -Be '0-9'
    }

    It 'odd elements fail with exit code 1, even ones complete, each read on its own' {
        $done = @($script:oddFail | Wait-CcatJob -Timeout 90)
        $done.Count | Should -Be 10
        foreach ($j in $done) {
            if ($j.ArrayIndex % 2) {
                $j.Status | Should -Be 'Failed'
                $j.ExitCode | Should -Be 1
                $j.Reason | Should -Be 'NonZeroExit'
            }
            else {
                $j.Status | Should -Be 'Completed'
                $j.ExitCode | Should -Be 0
            }
        }

        $arrayId = $script:oddFail[0].ArrayJobId
        $job = Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$arrayId"
        $job.status.completedIndexes | Should -Be '0,2,4,6,8'
        $job.status.failedIndexes | Should -Be '1,3,5,7,9'
        ($job.status.conditions | Where-Object { $_.type -eq 'Failed' }).reason | Should -Be 'FailedIndexes'
    }

    It 'the array id means all its elements; the log is per element' {
        $arrayId = $script:oddFail[0].ArrayJobId
        $null = $script:oddFail | Wait-CcatJob -Timeout 90
        $all = @(Get-CcatJobStatus -JobId $arrayId)
        $all.Count | Should -Be 10
        $all.JobId | Should -Be @(0..9 | ForEach-Object { "${arrayId}_$_" })
        (Get-CcatJobLog -JobId "${arrayId}_3") | Should -Match 'index 3 completion 3'
        { Get-CcatJobLog -JobId $arrayId -ErrorAction Stop } | Should -Throw '*logs are per element*'
    }

    It '-RetryFailed re-runs exactly the failed indices as one new Indexed Job, linked to the original' {
        $arrayId = $script:oddFail[0].ArrayJobId
        $null = $script:oddFail | Wait-CcatJob -Timeout 90
        $again = @(Submit-CcatJob -RetryFailed $arrayId)
        $again.Count | Should -Be 5
        $again.ArrayIndex | Should -Be @(1, 3, 5, 7, 9)
        $newId = $again[0].ArrayJobId
        $newId | Should -Not -Be $arrayId
        $again | ForEach-Object { $_.Message | Should -BeLike "Re-run of ${arrayId}_$($_.ArrayIndex)*" }
        (Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$newId").spec.completions | Should -Be 5
        (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$newId").data.retryOf | Should -Be $arrayId   # the link, recorded
        # The same command: each re-run sees its real index (position 3 of the new Job is index 7),
        # and the odd indices fail again.
        $done = @($again | Wait-CcatJob -Timeout 90)
        $done.Status | Should -Be @('Failed', 'Failed', 'Failed', 'Failed', 'Failed')
        (Get-CcatJobLog -JobId "${newId}_7") | Should -Match 'index 7 completion 3'
    }

    It 'a sparse index list reaches each element as its real index in CCAT_ARRAY_INDEX' {
        $done = @($script:sparse | Wait-CcatJob -Timeout 90)
        $done.ArrayIndex | Should -Be @(2, 5, 9, 11)
        $done.Status | Should -Be @('Completed', 'Completed', 'Completed', 'Completed')
        foreach ($j in $done) { (Get-CcatJobLog -InputObject $j) | Should -Match "index $($j.ArrayIndex)\b" }
    }

    It 'the throttle holds: never more than 2 elements ran at once' {
        $done = @($script:throttled | Wait-CcatJob -Timeout 120)
        $done.Status | Should -Be (@('Completed') * 6)
        $events = foreach ($i in 0..5) {
            [pscustomobject]@{ T = [long](Get-Content "$script:marks/start_$i"); D = 1 }
            [pscustomobject]@{ T = [long](Get-Content "$script:marks/end_$i"); D = -1 }
        }
        $running = 0; $max = 0
        foreach ($e in ($events | Sort-Object T, D)) { $running += $e.D; if ($running -gt $max) { $max = $running } }
        $max | Should -BeLessOrEqual 2
        $max | Should -Be 2
    }

    It 'cancelling one element cancels only it, running or not yet started' {
        $jobs = @(Submit-CcatJob -ArrayIndex '0-2' -ThrottleLimit 1 -JobName 'pester cancel one' -ExecutionCommand 'echo started; sleep 60')
        Wait-Until { (Get-CcatJobStatus -InputObject $jobs[0]).Status -eq 'Running' }
        $jobs[2] | Stop-CcatJob -Confirm:$false        # pending: it ends at once when its pod starts
        $jobs[0] | Stop-CcatJob -Confirm:$false        # running: its pod is deleted
        Wait-Until { (Get-CcatJobStatus -InputObject $jobs[1]).Status -eq 'Running' }
        $jobs[1] | Stop-CcatJob -Confirm:$false
        $done = @($jobs | Wait-CcatJob -Timeout 90)
        $done.Status | Should -Be @('Failed', 'Failed', 'Failed')
        $done.Reason | Should -Be @('Cancelled', 'Cancelled', 'Cancelled')
        Wait-Until { (Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$($jobs[0].ArrayJobId)").status.failedIndexes -eq '0-2' }
        (Get-CcatJobLog -InputObject $jobs[2]) | Should -Match 'element 2 was cancelled before it started'
        (Get-CcatJobLog -InputObject $jobs[2]) | Should -Not -Match 'started\n'
    }

    It 'cancelling the array id cancels every element and deletes the one Job' {
        $jobs = @(Submit-CcatJob -ArrayIndex '0-3' -ThrottleLimit 2 -JobName 'pester cancel all' -ExecutionCommand 'sleep 60')
        $arrayId = $jobs[0].ArrayJobId
        Wait-Until { @(Get-CcatJobStatus -InputObject $jobs | Where-Object Status -EQ 'Running').Count -eq 2 }
        Stop-CcatJob -JobId $arrayId -Confirm:$false
        $after = @(Get-CcatJobStatus -JobId $arrayId)
        $after.Count | Should -Be 4
        $after.Status | Should -Be (@('Failed') * 4)
        $after.Reason | Should -Be (@('Cancelled') * 4)
        @((Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs?labelSelector=ccat-workflow%2Fjob-id%3D$arrayId").items).Count | Should -Be 0
    }

    It '-WhatIf shows the Indexed Job manifest and the element lookup, and submits nothing' {
        $before = @((Invoke-Kube 'apis/batch/v1/namespaces/ccat-test/jobs').items).Count
        $text = Get-WhatIfText "Submit-CcatJob -ArrayIndex '0-99:2' -ThrottleLimit 5 -DependsOn 'prep-abcde' -DependencyCondition AfterAny -ExecutionCommand 'true' -WhatIf"
        $text | Should -Match 'completionMode: Indexed'
        $text | Should -Match 'completions: 50'
        $text | Should -Match 'parallelism: 5'
        $text | Should -Match 'backoffLimitPerIndex: 0'
        $text | Should -Match ([regex]::Escape('CCAT_ARRAY_INDEX=$((0 + i * 2))'))
        $text | Should -Match 'name: wait-for-dependencies'
        $text | Should -Match 'value: AfterAny'
        @((Invoke-Kube 'apis/batch/v1/namespaces/ccat-test/jobs').items).Count | Should -Be $before
    }
}

Describe 'Kubernetes arrays at scale' -Tag 'Service', 'Kubernetes' {
    It 'a 500-element array is one Job; the status of all its elements costs at most 3 API calls' {
        Use-Kubernetes 'ccat-manual'   # pods never start here: the array stays pending while counted
        $before = Get-NamespaceCalls 'ccat-manual'
        $jobs = @(Submit-CcatJob -ArrayIndex '0-499' -JobName 'pester five hundred' -ExecutionCommand 'true')
        $submitCalls = (Get-NamespaceCalls 'ccat-manual') - $before
        $jobs.Count | Should -Be 500
        $submitCalls | Should -Be 2   # the record and the Job
        $arrayId = $jobs[0].ArrayJobId
        @((Invoke-Kube "apis/batch/v1/namespaces/ccat-manual/jobs?labelSelector=ccat-workflow%2Fjob-id%3D$arrayId").items).Count | Should -Be 1

        $before = Get-NamespaceCalls 'ccat-manual'
        $byId = @(Get-CcatJobStatus -JobId $arrayId)
        ((Get-NamespaceCalls 'ccat-manual') - $before) | Should -BeLessOrEqual 3
        $byId.Count | Should -Be 500

        $before = Get-NamespaceCalls 'ccat-manual'
        $byElements = @($jobs | Get-CcatJobStatus)
        ((Get-NamespaceCalls 'ccat-manual') - $before) | Should -BeLessOrEqual 3
        $byElements.Count | Should -Be 500
        $byElements.Status | Select-Object -Unique | Should -Be 'Pending'
        Stop-CcatJob -JobId $arrayId -Confirm:$false
    }
}

Describe 'Kubernetes dependencies' -Tag 'Service', 'Kubernetes' {
    BeforeEach { Use-Kubernetes }

    It 'a dependent job waits in an init container: Pending, reason WaitingForDependency' {
        $script:afterOkChainJustSubmitted.Status | Should -Be 'Pending'
        $script:afterOkChainJustSubmitted.Reason | Should -Be 'WaitingForDependency'
        $job = Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$($script:afterOkChain.JobId)"
        $job.spec.template.spec.initContainers[0].name | Should -Be 'wait-for-dependencies'
        $job.spec.template.spec.serviceAccountName | Should -Be 'ccat-dependency-waiter'
        # -DependsOn with every element of an array waits for the array as a whole.
        ($job.spec.template.spec.initContainers[0].env | Where-Object name -EQ 'CCAT_DEPENDS_ON').value | Should -Be $script:okParent[0].ArrayJobId
    }

    It 'an AfterOk chain on a whole array runs once every element completed' {
        $r = $script:afterOkChain | Wait-CcatJob -Timeout 120
        $r.Status | Should -Be 'Completed'
        $r.StartedAt | Should -BeGreaterThan ((@($script:okParent | Get-CcatJobStatus).FinishedAt | Measure-Object -Maximum).Maximum.AddSeconds(-1))
        (Get-CcatJobLog -InputObject $r) | Should -Match 'combined'
    }

    It 'AfterOk on one element waits for that element only' {
        $r = $script:afterElement | Wait-CcatJob -Timeout 120
        $r.Status | Should -Be 'Completed'
        $job = Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$($script:afterElement.JobId)"
        ($job.spec.template.spec.initContainers[0].env | Where-Object name -EQ 'CCAT_DEPENDS_ON').value | Should -Be "$($script:okParent[1].ArrayJobId):1"
    }

    It 'AfterOk whose parent fails reads Failed, DependencyNeverSatisfied, and never runs' {
        $r = $script:afterOkBroken | Wait-CcatJob -Timeout 120
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'DependencyNeverSatisfied'
        $r.ExitCode | Should -BeNullOrEmpty
        $r.Message | Should -Match ([regex]::Escape($script:badParent.JobId))
        (Get-CcatJobLog -InputObject $r) | Should -Not -Match 'must not run'
    }

    It 'AfterNotOk runs when the parent failed, and can never be met when it completed' {
        ($script:afterNotOkRuns | Wait-CcatJob -Timeout 120).Status | Should -Be 'Completed'
        (Get-CcatJobLog -InputObject $script:afterNotOkRuns) | Should -Match 'reporting'
        $never = $script:afterNotOkNever | Wait-CcatJob -Timeout 120
        $never.Status | Should -Be 'Failed'
        $never.Reason | Should -Be 'DependencyNeverSatisfied'
    }

    It 'AfterAny runs whatever the parent ended as' {
        ($script:afterAnyRuns | Wait-CcatJob -Timeout 120).Status | Should -Be 'Completed'
        (Get-CcatJobLog -InputObject $script:afterAnyRuns) | Should -Match 'cleaning'
    }

    It 'a parent that already finished is honoured at submission: met runs at once, never met is refused' {
        $done = Submit-CcatJob -JobName 'pester finished parent' -ExecutionCommand 'true' | Wait-CcatJob -Timeout 60
        $done.Status | Should -Be 'Completed'
        $after = Submit-CcatJob -DependsOn $done -JobName 'pester after finished' -ExecutionCommand 'echo after' | Wait-CcatJob -Timeout 60
        $after.Status | Should -Be 'Completed'
        (Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$($after.JobId)").spec.template.spec.initContainers | Should -BeNullOrEmpty

        $failed = Submit-CcatJob -JobName 'pester finished bad parent' -ExecutionCommand 'exit 2' | Wait-CcatJob -Timeout 60
        $err = $null
        $null = Submit-CcatJob -DependsOn $failed -JobName 'pester refused' -ExecutionCommand 'true' -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Match '^DependencyNeverSatisfied'
    }

    It 'without the RBAC grant the waiter is refused by the API: Failed, LaunchFailure, naming the permission' {
        $env:CCAT_WORKFLOW_MANAGER_K8S_SERVICE_ACCOUNT = ''   # the namespace's default account: no Role bound
        $parent = Submit-CcatJob -JobName 'pester rbac parent' -ExecutionCommand 'sleep 2'
        $r = Submit-CcatJob -DependsOn $parent -JobName 'pester no rbac' -ExecutionCommand 'echo must not run' | Wait-CcatJob -Timeout 120
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'LaunchFailure'
        $r.Message | Should -Match 'access denied.*system:serviceaccount:ccat-test:default.*get on jobs and configmaps'
    }

    It 'a dependency on a job of another backend is refused' {
        $local = [CcatWorkflow.HPCJobInfo]::new('0c0ffee0-0000-4000-8000-000000000000', 'Local', 'Completed')
        $err = $null
        $null = Submit-CcatJob -DependsOn $local -ExecutionCommand 'true' -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Match '^InvalidDependency'
    }
}

Describe 'Kubernetes arrays in a namespace other than K8S_NAMESPACE' -Tag 'Service', 'Kubernetes' {
    # K8S_NAMESPACE is ccat-workflows (no other test uses it, so its call count is this test's);
    # the array goes to ccat-test with -Namespace, where pods run.
    BeforeEach { Use-Kubernetes 'ccat-workflows' }

    It 'status, wait, cancel, logs and removal find the array and its elements by their namespace/name ids; K8S_NAMESPACE is never touched' {
        $before = Get-NamespaceCalls 'ccat-workflows'
        $jobs = @(Submit-CcatJob -ArrayIndex '0-2' -Namespace 'ccat-test' -JobName 'pester ns array' `
                -ExecutionCommand 'echo "element $CCAT_ARRAY_INDEX here"; if [ "$CCAT_ARRAY_INDEX" = 1 ]; then sleep 120; fi')
        $jobs.Count | Should -Be 3
        $arrayId = $jobs[0].ArrayJobId
        $arrayId | Should -Match '^ccat-test/pester-ns-array-[a-z0-9]{5}$'
        $name = $arrayId.Split('/')[1]
        $jobs.JobId | Should -Be @(0..2 | ForEach-Object { "${arrayId}_$_" })
        (Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$name").spec.completions | Should -Be 3

        $all = @(Get-CcatJobStatus -JobId $arrayId)
        $all.JobId | Should -Be $jobs.JobId
        $all | ForEach-Object { $_.ArrayJobId | Should -Be $arrayId; $_.Namespace | Should -Be 'ccat-test' }
        $one = Get-CcatJobStatus -JobId "${arrayId}_2"
        $one.JobId | Should -Be "${arrayId}_2"
        $one.ArrayJobId | Should -Be $arrayId
        $one.ArrayIndex | Should -Be 2

        (Wait-CcatJob -JobId "${arrayId}_0" -Timeout 90).Status | Should -Be 'Completed'
        Wait-Until { (Get-CcatJobStatus -JobId "${arrayId}_1").Status -eq 'Running' }
        Stop-CcatJob -JobId "${arrayId}_1" -Confirm:$false
        $done = @(Wait-CcatJob -JobId $arrayId -Timeout 90)
        $done.JobId | Should -Be $jobs.JobId
        $done.Status | Should -Be @('Completed', 'Failed', 'Completed')
        $done[1].Reason | Should -Be 'Cancelled'
        (Get-CcatJobLog -JobId "${arrayId}_2") | Should -Match 'element 2 here'
        (Get-CcatJobLog -InputObject $done[0]) | Should -Match 'element 0 here'

        $removed = @(Remove-CcatJob -JobId $arrayId -Confirm:$false -PassThru -ErrorAction Stop)
        $removed.Count | Should -BeGreaterThan 0
        @((Invoke-Kube "api/v1/namespaces/ccat-test/configmaps?labelSelector=ccat-workflow%2Fjob-id%3D$name").items).Count | Should -Be 0
        @((Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs?labelSelector=ccat-workflow%2Fjob-id%3D$name").items).Count | Should -Be 0
        $err = $null
        $null = Get-CcatJobStatus -JobId $arrayId -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Match '^JobNotFound'

        ((Get-NamespaceCalls 'ccat-workflows') - $before) | Should -Be 0   # before the checks below, which ask there
        foreach ($kind in 'apis/batch/v1/namespaces/ccat-workflows/jobs', 'api/v1/namespaces/ccat-workflows/configmaps', 'api/v1/namespaces/ccat-workflows/pods') {
            @((Invoke-Kube "${kind}?labelSelector=ccat-workflow%2Fjob-id%3D$name").items).Count | Should -Be 0
        }
    }
}

Describe 'Kubernetes element logs beyond the pod' -Tag 'Service', 'Kubernetes' {
    BeforeEach { Use-Kubernetes }

    It 'an element''s log is saved when it is seen ended, bounded, read from there once the TTL took the pods, and removed with the array' {
        $go = Join-Path $script:work 'element-logs-go'
        # Element 1 writes more than a ConfigMap may keep; element 2 runs until the test lets it end.
        $command = ('echo "element $CCAT_ARRAY_INDEX says hello"; ' +
            'if [ "$CCAT_ARRAY_INDEX" = 1 ]; then head -c 900000 /dev/zero | tr "\0" x; echo; echo last-line; fi; ' +
            'if [ "$CCAT_ARRAY_INDEX" = 2 ]; then while [ ! -e GO ]; do sleep 0.2; done; fi').Replace('GO', "'$go'")
        $jobs = @(Submit-CcatJob -ArrayIndex '0-2' -JobName 'pester element logs' -ExecutionCommand $command)
        $arrayId = $jobs[0].ArrayJobId

        # Whoever sees an element ended saves its log, long before the array ends.
        @($jobs[0], $jobs[1] | Wait-CcatJob -Timeout 90).Status | Should -Be @('Completed', 'Completed')
        (Get-CcatJobStatus -InputObject $jobs[2]).IsFinished | Should -BeFalse
        (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$arrayId.0.log").data.log | Should -Match 'element 0 says hello'
        $big = (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$arrayId.1.log").data.log
        [Text.Encoding]::UTF8.GetByteCount($big) | Should -BeLessOrEqual (768 * 1024)
        $big | Should -BeLike '`[ccat-workflow: earlier output not kept`]*'
        $big | Should -Match 'last-line'
        (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$arrayId").data.savedLogs | Should -Be '0,1'

        New-Item -ItemType File $go | Out-Null
        @($jobs | Wait-CcatJob -Timeout 90).Status | Should -Be @('Completed', 'Completed', 'Completed')
        Wait-Until { @((Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$arrayId").status.conditions | Where-Object { $_.type -eq 'Complete' -and $_.status -eq 'True' }).Count -eq 1 }
        $null = Get-CcatJobStatus -JobId $arrayId   # sees the Job finished: the array's result is recorded
        (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$arrayId").data.capturedAt | Should -Not -BeNullOrEmpty

        # What the TTL controller does: delete the Job, pods first (Foreground).
        Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/${arrayId}?propagationPolicy=Foreground" -Method Delete | Out-Null
        Wait-Until { @((Invoke-Kube "api/v1/namespaces/ccat-test/pods?labelSelector=ccat-workflow%2Fjob-id%3D$arrayId").items).Count -eq 0 -and
            @((Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs?labelSelector=ccat-workflow%2Fjob-id%3D$arrayId").items).Count -eq 0 }

        (Get-CcatJobLog -JobId "${arrayId}_2") | Should -Match 'element 2 says hello'
        (Get-CcatJobLog -JobId "${arrayId}_0") | Should -Match 'element 0 says hello'
        (Get-CcatJobLog -JobId "${arrayId}_1" -Tail 1) | Should -Match '^last-line'
        @(Get-CcatJobStatus -JobId $arrayId).Status | Should -Be @('Completed', 'Completed', 'Completed')

        Remove-CcatJob -JobId $arrayId -Confirm:$false -ErrorAction Stop
        @((Invoke-Kube "api/v1/namespaces/ccat-test/configmaps?labelSelector=ccat-workflow%2Fjob-id%3D$arrayId").items).Count | Should -Be 0
    }
}
