# Tab completion (C# argument completers): what it offers, and that pressing Tab never changes
# anything on any backend.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force

    # What PowerShell offers for the cursor at the end of $Line (as PSReadLine asks it).
    function Get-Completion([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches)
    }

    # Every file under a folder with its size and content hash: a store that was not written.
    function Get-TreeState([string] $Path) {
        Get-ChildItem $Path -Recurse -File -Force | Sort-Object FullName | ForEach-Object {
            '{0} {1} {2}' -f $_.FullName, $_.Length, (Get-FileHash $_.FullName).Hash
        }
    }
}

Describe 'Completion on the Local backend' -Tag 'Process', 'Local' {
    BeforeAll {
        $script:jobDir = Join-Path $TestDrive 'jobs'
        Reset-CcatEnvironment -JobDir $script:jobDir
        $script:older = Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'complete-older' | Wait-CcatJob -Timeout 120
        # newest first is by submission time: the second submission must come later on the clock
        Wait-Until { [DateTimeOffset]::UtcNow -gt $script:older.SubmittedAt.AddMilliseconds(1) } 'the clock passed the first submission'
        $script:newer = Submit-CcatJob -ExecutionCommand 'exit 3' -JobName 'complete-newer' | Wait-CcatJob -Timeout 120
    }

    It 'completes -JobId with the newest job first, its name and status in the list item' {
        $m = Get-Completion 'Get-CcatJobStatus -JobId '
        $m[0].CompletionText | Should -Be $script:newer.JobId
        $m[0].ListItemText | Should -Be "$($script:newer.JobId)  complete-newer (Failed, NonZeroExit)"
        $m[1].CompletionText | Should -Be $script:older.JobId
        $m[1].ListItemText | Should -BeLike '*complete-older (Completed)'
    }

    It 'matches the typed text against the start of the id or the name' {
        (Get-Completion "Stop-CcatJob -JobId $($script:older.JobId.Substring(0, 8))").CompletionText | Should -Be @($script:older.JobId)
        (Get-Completion 'Wait-CcatJob newer').CompletionText | Should -Be @($script:newer.JobId)
    }

    It 'completes Get-CcatJob -Name with each job name once' {
        (Get-Completion 'Get-CcatJob -Name complete-o').CompletionText | Should -Be @('complete-older')
    }

    It 'completes setting names for Get-CcatConfiguration' {
        $m = Get-Completion 'Get-CcatConfiguration SLURM_PA'
        $m.CompletionText | Should -Contain 'SLURM_PARTITION'
        $m[0].ToolTip | Should -Not -BeNullOrEmpty
    }

    It 'offers -Resources tables with every resource key' {
        $text = (Get-Completion 'Submit-CcatJob -ExecutionCommand x -Resources ').CompletionText -join ' '
        foreach ($key in 'cpu', 'memory_gb', 'time_hours', 'gpu') { $text | Should -Match "\b$key = " }
        { Submit-CcatJob -ExecutionCommand x -Resources (Invoke-Expression (Get-Completion 'Submit-CcatJob -ExecutionCommand x -Resources ')[1].CompletionText) -WhatIf } | Should -Not -Throw
    }

    It 'leaves the job store exactly as it was' {
        $before = Get-TreeState $script:jobDir
        1..3 | ForEach-Object { $null = Get-Completion 'Get-CcatJobLog -JobId ' }
        $null = Get-Completion 'Get-CcatJob -Name '
        Get-TreeState $script:jobDir | Should -Be $before
    }

    It 'offers nothing, quickly and without an error, when the settings are broken' {
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = 'not-a-port'
        try { Get-Completion 'Get-CcatJobStatus -JobId ' | Should -BeNullOrEmpty }
        finally { Remove-Item env:CCAT_WORKFLOW_MANAGER_REDIS_PORT }
    }
}

Describe 'Completion on the Kubernetes backend writes nothing' -Tag 'Service', 'Kubernetes' {
    BeforeAll {
        $started = & bash (Join-Path (Get-RepoRoot) 'tests/infra/kubernetes/start.sh')
        if ($LASTEXITCODE -ne 0) { throw "tests/infra/kubernetes/start.sh failed with exit code $LASTEXITCODE" }
        $state = Split-Path -Parent (($started | Where-Object { $_ -like 'KUBECONFIG=*' }) -replace '^KUBECONFIG=', '')
        $script:url = (Get-Content (Join-Path $state 'url') -Raw).Trim()
        $script:token = (Get-Content (Join-Path $state 'token') -Raw).Trim()
        Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'k8s-local-jobs')
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'kubernetes'
        $env:CCAT_WORKFLOW_MANAGER_K8S_KUBECONFIG = Join-Path $state 'kubeconfig'
        $env:CCAT_WORKFLOW_MANAGER_K8S_NAMESPACE = 'ccat-test'

        function Invoke-Kube([string] $Path) {
            Invoke-RestMethod -Uri "$($script:url)$Path" -Headers @{ Authorization = "Bearer $($script:token)" } -SkipCertificateCheck
        }
        # The job's record (a ConfigMap): its resourceVersion changes with every write.
        function Get-RecordVersion([string] $JobId) {
            (Invoke-Kube "api/v1/namespaces/ccat-test/configmaps/$JobId").metadata.resourceVersion
        }

        # A job that finished but whose result nobody has read yet: a listing (Get-CcatJob)
        # records the result in the job's record; completion must not.
        $script:k8sJob = Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'complete-k8s'
        $until = (Get-Date).AddSeconds(120)
        while (-not (Invoke-Kube "apis/batch/v1/namespaces/ccat-test/jobs/$($script:k8sJob.JobId)").status.succeeded) {
            if ((Get-Date) -gt $until) { throw 'the Kubernetes job did not finish in 120 s' }
            Start-Sleep -Milliseconds 200
        }
    }
    AfterAll { Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs') }

    It 'lists the job but leaves its record untouched; a listing would have written it' {
        $before = Get-RecordVersion $script:k8sJob.JobId
        $m = Get-Completion 'Get-CcatJobStatus -JobId complete-k8s'
        $m.CompletionText | Should -Contain $script:k8sJob.JobId
        $null = Get-Completion 'Get-CcatJob -Name complete-k'
        Get-RecordVersion $script:k8sJob.JobId | Should -Be $before

        # The control: the listing does write, so the assertion above could fail.
        $null = Get-CcatJob -Name 'complete-k8s'
        Get-RecordVersion $script:k8sJob.JobId | Should -Not -Be $before
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
