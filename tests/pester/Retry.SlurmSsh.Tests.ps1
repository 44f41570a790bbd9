# Retry policies on the real Slurm cluster of tests/infra/slurm over the SSH transport (the
# loopback sshd of tests/infra/ssh, as its test user), through the cmdlets: the job folder is on
# the login node, so the claim is made there by one remote command, and the next attempt goes
# through the transport's one-command submission. An out-of-memory job retried with more memory,
# a failure not in -RetryOn left alone, and two processes waiting on one failing job making
# exactly one retry. And the REST transport without any way to the job folders: refused, saying why.
BeforeAll {
    $script:restSettings = [ordered]@{}
    foreach ($line in (& bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh'))) {
        if ($line -match '^([A-Z0-9_]+)=(.*)$') { $script:restSettings[$Matches[1]] = $Matches[2] }
    }
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    $sshSettings = [ordered]@{}
    foreach ($line in (& bash (Join-Path $PSScriptRoot '../infra/ssh/start.sh'))) {
        if ($line -match '^([A-Z0-9_]+)=(.*)$') { $sshSettings[$Matches[1]] = $Matches[2] }
    }
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/ssh/start.sh failed with exit code $LASTEXITCODE" }
    $script:sshdLog = $sshSettings['SSHD_LOG']
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $script:pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $script:manifest = Get-ModuleManifestPath

    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-retry-slurm-ssh-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    New-Item -ItemType Directory -Force $script:work | Out-Null
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')
    foreach ($k in $sshSettings.Keys) { if ($k -like 'CCAT_WORKFLOW_MANAGER_*') { Set-Item "env:$k" $sshSettings[$k] } }
    # The login node's user makes and owns the job folders (this machine is the cluster: the
    # test reads them with its own eyes, the module only over SSH).
    $script:jobDir = "/tmp/ccat-pester-retry-slurm-ssh-jobs-$PID"
    $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = 'ssh'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $script:jobDir
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'
    # Where the jobs of the race test (run as the login node's user) and this test meet.
    $script:shared = Join-Path $script:work 'shared'
    New-Item -ItemType Directory -Force $script:shared | Out-Null
    & chmod 1777 $script:shared

    # Submitted first, checked later: the cluster runs them while the other tests run.
    # 400 MB touched by dd: over 0.25 GiB, under 0.25 × 3 = 0.75 GiB.
    $script:oom = Submit-CcatJob -ExecutionCommand 'echo "attempt $CCAT_ATTEMPT"; dd if=/dev/zero bs=400M count=1 2>/dev/null | sleep 8' -JobName 'retry ssh oom' -Resources @{ memory_gb = 0.25 } -RetryOn OutOfMemory -MemoryGrowth 3
    $script:plain = Submit-CcatJob -ExecutionCommand 'exit 3' -JobName 'retry ssh not' -RetryOn OutOfMemory -MemoryGrowth 1

    function Start-Waiter([string] $JobId, [string] $Ready, [string] $OutFile) {
        $file = Join-Path $script:work "$([guid]::NewGuid()).ps1"
        Set-Content $file "Import-Module '$script:manifest'; `$ErrorActionPreference = 'Stop'; Set-Content '$Ready' ready; Wait-CcatJob -JobId '$JobId' -Backend Slurm -Timeout 600 | Export-Clixml '$OutFile'"
        Start-Process dotnet -ArgumentList @($script:pwshDll, '-NoProfile', '-NonInteractive', '-File', $file) -PassThru
    }

    # The claim files in a job's folder on the cluster, as the login node's file system has them.
    function Get-ClaimFile([string] $JobId) { @(Get-ChildItem (Join-Path $script:jobDir $JobId) -Filter 'retry-attempt-*.json' -ErrorAction Ignore).Name }
}

AfterAll {
    $live = @(Get-CcatJob -Backend Slurm -Status Pending, Running -ErrorAction Ignore | Where-Object JobName -like 'retry ssh *')
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work, $script:jobDir -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Retry policies on Slurm over SSH' -Tag 'Service', 'Slurm' {
    It 'a job that exceeds its memory is retried with more over SSH and completes as attempt 2, both attempts visible' {
        $r = $script:oom | Wait-CcatJob -Timeout 300
        $r.JobId | Should -Be $script:oom.JobId
        $r.Status | Should -Be 'Completed'
        $r.Attempt | Should -Be 2
        $r.RequestedMemoryGb | Should -Be 0.75
        $r.PreviousAttempts[0].JobId | Should -Be $script:oom.JobId
        $r.PreviousAttempts[0].Reason | Should -Be 'OutOfMemory'
        ($script:oom | Get-CcatJobLog -Raw) | Should -Match 'attempt 2'
        (Get-CcatJobLog -JobId $script:oom.JobId -Backend Slurm -Attempt 1 -Raw) | Should -Match 'attempt 1'
        # The claim was made on the cluster, in the job's folder the login node's user owns.
        Get-ClaimFile $script:oom.JobId | Should -Be @('retry-attempt-2.json')
        (& stat -c '%a %U' (Join-Path $script:jobDir "$($script:oom.JobId)/retry-attempt-2.json")) | Should -Be '600 ccatssh'
        # Attempt 2 was submitted through the SSH transport: a folder of its own on the cluster, linked by its id.
        (Get-Item (Join-Path $script:jobDir $r.AttemptJobId)).LinkTarget | Should -Not -BeNullOrEmpty
    }

    It 'a reason not in -RetryOn is not retried, and nothing is claimed' {
        $r = $script:plain | Wait-CcatJob -Timeout 150
        $r.Status | Should -Be 'Failed'
        $r.Reason | Should -Be 'NonZeroExit'
        $r.Attempt | Should -Be 1
        $r.PreviousAttempts.Count | Should -Be 0
        Get-ClaimFile $script:plain.JobId | Should -BeNullOrEmpty
    }

    It 'two processes waiting on the same failing job produce exactly one retry, claimed on the cluster' {
        $runs = Join-Path $script:shared 'runs.txt'
        $go = Join-Path $script:shared 'go'
        $cmd = "echo `"`$CCAT_ATTEMPT`" >> '$runs'; [ `"`$CCAT_ATTEMPT`" -ge 2 ] && exit 0; while [ ! -e '$go' ]; do sleep 0.2; done; exit 1"
        $job = Submit-CcatJob -ExecutionCommand $cmd -JobName 'retry ssh race' -RetryOn NonZeroExit -MaxAttempts 3
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
        Get-ClaimFile $job.JobId | Should -Be @('retry-attempt-2.json')
    }

    It 'over REST without ssh or a shared folder, a retry policy is refused before anything is submitted, saying why' {
        $saved = Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { @{ Name = $_.Name; Value = $_.Value } }
        try {
            Remove-Item env:CCAT_WORKFLOW_MANAGER_SLURM_SSH_HOST
            foreach ($k in $script:restSettings.Keys) { if ($k -like 'CCAT_WORKFLOW_MANAGER_*') { Set-Item "env:$k" $script:restSettings[$k] } }
            $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = 'rest'
            $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = '/nonexistent-ccat/jobs'
            $r = Submit-CcatJob -ExecutionCommand 'true' -JobName 'retry ssh rest refused' -RetryOn OutOfMemory -ErrorVariable err -ErrorAction SilentlyContinue
            $r | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'NotSupportedOnBackend,*'
            $err[0].Exception.Message | Should -Match 'claimed in the job''s folder'
            $err[0].Exception.Message | Should -Match 'need ssh .* or a shared folder'
        }
        finally {
            Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
            foreach ($v in $saved) { Set-Item "env:$($v.Name)" $v.Value }
        }
    }
}
