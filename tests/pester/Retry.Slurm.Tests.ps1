# Retry policies on the real Slurm cluster of tests/infra/slurm, through the cmdlets: an
# out-of-memory job (JobAcctGatherParams=OverMemoryKill) retried with more memory, a timeout
# retried with more time (whole minutes: Slurm's step), a failure not in -RetryOn left alone,
# two processes waiting on one failing job making exactly one retry, and --no-requeue.
BeforeAll {
    & bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $script:pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $script:manifest = Get-ModuleManifestPath

    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-retry-slurm-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    New-Item -ItemType Directory -Force $script:work | Out-Null
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')
    $script:jobDir = Join-Path $script:work 'slurm-jobs'
    $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $script:jobDir
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'

    # Submitted first, checked later: the cluster runs them while the other tests run.
    # 400 MB touched by dd: over 0.25 GiB, under 0.25 × 3 = 0.75 GiB.
    $script:oom = Submit-CcatJob -ExecutionCommand 'echo "attempt $CCAT_ATTEMPT"; dd if=/dev/zero bs=400M count=1 2>/dev/null | sleep 8' -JobName 'retry oom' -Resources @{ memory_gb = 0.25 } -RetryOn OutOfMemory -MemoryGrowth 3
    # One minute, 75 s of work: attempt 2 gets 3 minutes.
    $script:timeout = Submit-CcatJob -ExecutionCommand 'sleep 75' -JobName 'retry timeout' -Resources @{ time_hours = 1 / 60 } -RetryOn Timeout -TimeGrowth 3
    $script:plain = Submit-CcatJob -ExecutionCommand 'exit 3' -JobName 'retry not' -RetryOn OutOfMemory -MemoryGrowth 1

    function Start-Waiter([string] $JobId, [string] $Ready, [string] $OutFile) {
        $file = Join-Path $script:work "$([guid]::NewGuid()).ps1"
        Set-Content $file "Import-Module '$script:manifest'; `$ErrorActionPreference = 'Stop'; Set-Content '$Ready' ready; Wait-CcatJob -JobId '$JobId' -Backend Slurm -Timeout 600 | Export-Clixml '$OutFile'"
        Start-Process dotnet -ArgumentList @($script:pwshDll, '-NoProfile', '-NonInteractive', '-File', $file) -PassThru
    }

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
        $waiters = 1..2 | ForEach-Object { Start-Waiter $job.JobId (Join-Path $script:work "ready-$_") (Join-Path $script:work "out-$_.xml") }
        Wait-Until { (Test-Path (Join-Path $script:work 'ready-1')) -and (Test-Path (Join-Path $script:work 'ready-2')) } -Seconds 600
        Wait-Until { Test-Path $runs } -Seconds 150 # attempt 1 runs
        Start-Sleep -Seconds 2 # both are past their first poll (either order must give one retry)
        Set-Content $go go
        $waiters | Wait-Process -Timeout 600
        $waiters | ForEach-Object { $_.ExitCode | Should -Be 0 }
        foreach ($i in 1, 2) {
            $seen = Import-Clixml (Join-Path $script:work "out-$i.xml")
            $seen.Status.ToString() | Should -Be 'Completed' # deserialized: the enum comes back as a number that prints its name
            [int] "$($seen.Attempt)" | Should -Be 2
        }
        (Get-Content $runs) | Should -Be @('1', '2')
    }
}
