# -Verbose and -Debug: the engine's log reaches the verbose and debug streams — every scheduler,
# API or store call with its duration and counts, and the decisions — and never a secret.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    & bash (Join-Path (Get-RepoRoot) 'tests/infra/redis/start.sh') | Out-Null

    # Verbose (4) and debug (5) records of a script block, as text.
    function Get-VerboseText([scriptblock] $Script) {
        $DebugPreference = 'Continue'
        $records = & $Script 4>&1 5>&1 | Where-Object { $_ -is [System.Management.Automation.InformationalRecord] }
        [pscustomobject]@{
            Verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            Debug   = @($records | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object Message)
        }
    }
}

Describe 'Verbose records on the Local backend' -Tag 'Service', 'Local', 'Redis' {
    BeforeAll {
        Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs')
        $script:jobs = 1..3 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'exit 0' -JobName "v$_" } | Wait-CcatJob -Timeout 120
    }

    It 'times the store read of a status batch and counts what it found' {
        $r = Get-VerboseText { $script:jobs | Get-CcatJobStatus -Verbose | Out-Null }
        $r.Verbose -match ': read 3 records: \d+ ms, 3 found$' | Should -Not -BeNullOrEmpty
        $r.Verbose -match '^Local: status of 3 jobs: \d+ ms, 3 answered, 0 with an error$' | Should -Not -BeNullOrEmpty
    }

    It 'times the listing' {
        $r = Get-VerboseText { Get-CcatJob -Verbose | Out-Null }
        $r.Verbose -match ': list records: \d+ ms, \d+ records$' | Should -Not -BeNullOrEmpty
        $r.Verbose -match '^Local: list jobs: \d+ ms, \d+ jobs$' | Should -Not -BeNullOrEmpty
    }

    It 'writes nothing to the verbose stream without -Verbose' {
        $r = Get-VerboseText { $script:jobs | Get-CcatJobStatus | Out-Null }
        $r.Verbose | Should -BeNullOrEmpty
    }

    It 'says why Wait-CcatJob stopped waiting' {
        $r = Get-VerboseText {
            Submit-CcatJob -ExecutionCommand 'sleep 30' -JobName slow | Wait-CcatJob -Timeout 1 -Verbose -ErrorAction SilentlyContinue | Out-Null
        }
        $r.Verbose -match '^Timed out: 1 s passed .* with 1 job unfinished\.$' | Should -Not -BeNullOrEmpty
        $r.Debug -match 'unfinished; next poll in' | Should -Not -BeNullOrEmpty
    }

    It 'never shows the Redis password' {
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = 'redis'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = '127.0.0.1'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = '16379'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = "ccat-test:$([guid]::NewGuid().ToString('N'))"
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PASSWORD = 'pw-marker-4711'
        try {
            $r = Get-VerboseText { Get-CcatJob -Verbose -ErrorAction SilentlyContinue -ErrorVariable e | Out-Null; $e | ForEach-Object { Write-Verbose "$_" } }
            ($r.Verbose + $r.Debug) | Should -Not -BeNullOrEmpty
            ($r.Verbose + $r.Debug) -join "`n" | Should -Not -Match 'pw-marker-4711'
        }
        finally {
            Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs')
        }
    }
}

Describe 'Verbose records on the Slurm backend' -Tag 'Service', 'Slurm' {
    BeforeAll {
        & bash (Join-Path (Get-RepoRoot) 'tests/infra/slurm/start.sh')
        if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
        Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs')
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
        $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = Join-Path $TestDrive 'slurm-jobs'
        $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'
        $script:slurmJobs = 1..2 | ForEach-Object { Submit-CcatJob -ExecutionCommand 'exit 0' -JobName "verbose $_" } | Wait-CcatJob -Timeout 300
    }
    AfterAll { Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs') }

    It 'times each Slurm command with the number of ids it asked about' {
        $r = Get-VerboseText { $script:slurmJobs | Get-CcatJobStatus -Verbose | Out-Null }
        $r.Verbose -match '^(sacct|squeue) for 2 ids: \d+ ms, exit 0, \d+ lines of output$' | Should -Not -BeNullOrEmpty
        $r.Verbose -match '^Slurm: status of 2 jobs: \d+ ms, 2 answered, 0 with an error$' | Should -Not -BeNullOrEmpty
    }

    It 'shows the argument lists on the debug stream ($DebugPreference = Continue)' {
        $r = Get-VerboseText { $script:slurmJobs | Get-CcatJobStatus | Out-Null }
        $ids = ($script:slurmJobs.JobId) -join ','
        $r.Debug -match "^(sacct|squeue) .*--jobs=$ids" | Should -Not -BeNullOrEmpty
    }

    It 'times sbatch when submitting' {
        $r = Get-VerboseText { Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'verbose submit' -Verbose | Stop-CcatJob }
        $r.Verbose -match '^sbatch: \d+ ms, exit 0, 1 lines of output$' | Should -Not -BeNullOrEmpty
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
