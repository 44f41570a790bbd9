# Trust on shared machines (issue 7), the cross-cutting parts, through the cmdlets: secret
# variables reach the job and nothing else (no file, no -WhatIf, no verbose text) on the real
# Slurm cluster and on the Local backend; Slurm job folders are private; a hanging squeue
# cannot hold Wait-CcatJob past its -Timeout.

BeforeAll {
    & bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force

    $script:savedPath = $env:PATH
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-trust-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')
    $script:slurmDir = Join-Path $script:work 'slurm-jobs'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $script:slurmDir
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'

    # A value with everything a shell or a file format could mangle, and a marker to grep for.
    $script:secretText = "S3cr3t-$([guid]::NewGuid().ToString('N')) 'q' `"dq`" `$HOME"
    $script:marker = $script:secretText.Substring(0, 39)

    # Every file under a folder that holds the marker (the job's stdout excepted, where the job printed it).
    function Find-Secret([string] $Root) {
        @(Get-ChildItem -Recurse -File $Root -ErrorAction Ignore |
            Where-Object Name -ne 'stdout.log' |
            Where-Object { (Get-Content -Raw -LiteralPath $_.FullName) -like "*$($script:marker)*" })
    }
}

AfterAll {
    $live = @(Get-CcatJob -Backend Slurm -Status Pending, Running -ErrorAction Ignore | Where-Object JobName -like 'pester trust*')
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Secret environment variables' -Tag 'Service', 'Slurm', 'Local' {
    It 'on Slurm: the job sees the value; job.sbatch and the job folder do not hold it; the folder is 0700, its files 0600' {
        $secure = ConvertTo-SecureString $script:secretText -AsPlainText -Force
        $job = Submit-CcatJob -Backend Slurm -JobName 'pester trust secret' -Environment @{ PLAIN = 'visible' } `
            -SecretEnvironment @{ DB_PASSWORD = $secure } -ExecutionCommand 'printf "%s|%s" "$DB_PASSWORD" "$PLAIN"'
        $r = $job | Wait-CcatJob -Timeout 150
        $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        ($job | Get-CcatJobLog -Stream Output -Raw) | Should -BeExactly "$($script:secretText)|visible"

        $folder = (Get-Item (Join-Path $script:slurmDir $job.JobId)).ResolvedTarget
        Find-Secret $script:slurmDir | Should -BeNullOrEmpty
        Get-Content (Join-Path $folder 'job.sbatch') | Should -Contain '#   DB_PASSWORD=<secret>'
        $private = [IO.UnixFileMode]'UserRead, UserWrite, UserExecute'
        (Get-Item $folder).UnixFileMode | Should -Be $private
        (Get-Item $script:slurmDir).UnixFileMode | Should -Be $private
        foreach ($f in Get-ChildItem -File $folder) {
            $f.UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') -Because "$($f.Name) is the user's alone"
        }
    }

    It 'on Local: the job sees the value (a SecureString in -Environment is secret too); job.json and the records do not hold it' {
        $secure = ConvertTo-SecureString $script:secretText -AsPlainText -Force
        $job = Submit-CcatJob -Backend Local -JobName 'pester trust local' -Environment @{ DB_PASSWORD = $secure; PLAIN = 'visible' } `
            -ExecutionCommand 'printf "%s|%s" "$DB_PASSWORD" "$PLAIN"'
        $r = $job | Wait-CcatJob -Timeout 120
        $r.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        ($job | Get-CcatJobLog -Stream Output -Raw) | Should -BeExactly "$($script:secretText)|visible"
        Find-Secret (Join-Path $script:work 'local-jobs') | Should -BeNullOrEmpty
    }

    It '-WhatIf and -Verbose show <Backend> secrets by name with a placeholder, never their value' -ForEach @(
        @{ Backend = 'Slurm' }, @{ Backend = 'Local' }, @{ Backend = 'Kubernetes' }
    ) {
        $text = Get-WhatIfText "Submit-CcatJob -Backend $Backend -JobName 'pester trust whatif' -ExecutionCommand 'true' -SecretEnvironment @{ DB_PASSWORD = '$($script:marker)' } -WhatIf -Verbose"
        $text | Should -BeLike '*DB_PASSWORD*<secret>*'
        $text | Should -Not -BeLike "*$($script:marker)*"
    }

    It 'refuses a name given both plain and secret, naming it' {
        $e = $null
        Submit-CcatJob -Backend Local -ExecutionCommand 'true' -Environment @{ A = '1' } -SecretEnvironment @{ A = '2' } -ErrorVariable e -ErrorAction SilentlyContinue
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidEnvironmentVariable,*'
        $e[0].Exception.Message | Should -BeLike "*'A'*both*"
    }
}

Describe 'Deadlines' -Tag 'Service', 'Slurm', 'Local' {
    It 'Wait-CcatJob -Timeout 3 returns near its deadline while squeue hangs, and leaves no squeue behind' {
        $bin = Join-Path $script:work 'hanging-bin'
        New-Item -ItemType Directory -Force $bin | Out-Null
        # A shell that waits on a child, as a squeue stuck on an unreachable controller waits on its socket.
        Set-Content (Join-Path $bin 'squeue') "#!/bin/sh`nsleep 617`n"
        & chmod +x (Join-Path $bin 'squeue')
        $env:PATH = "$bin$([IO.Path]::PathSeparator)$($script:savedPath)"
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $e = $null
            $out = Wait-CcatJob -JobId 4242 -Backend Slurm -Timeout 3 -ErrorVariable e -ErrorAction SilentlyContinue
            $clock.Stop()
        }
        finally { $env:PATH = $script:savedPath }
        $out | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimeout,*'
        # Honest margin for a loaded machine: 3 s of timeout, up to 3 s to stop the call and return.
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 6
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 2.9
        @(& pgrep -f 'sleep 617') | Should -BeNullOrEmpty -Because 'the hanging squeue and its child are killed at the deadline'
    }
}
