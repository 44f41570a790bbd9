# Many Local jobs through the pipeline into one Submit-CcatJob: gathered into batches (one store
# call for the records, the runners started together), each job still its own.
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
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }

Describe 'Submit-CcatJob with many Local jobs through the pipeline, <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll { $script:dir = Use-CcatLocalStore $TestDrive $Store 'batch' }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'writes one HPCJobInfo per job, in the input order, and every job completes' {
        $rows = 1..12 | ForEach-Object { [pscustomobject]@{ ExecutionCommand = "echo row$_"; JobName = "row$_" } }

        $jobs = @($rows | Submit-CcatJob)

        $jobs.Count | Should -Be 12
        $jobs.JobName | Should -Be $rows.JobName
        @($jobs.JobId | Sort-Object -Unique).Count | Should -Be 12
        $done = @($jobs | Wait-CcatJob -Timeout 180)
        @($done | Where-Object Status -EQ 'Completed').Count | Should -Be 12
        $jobs[11] | Get-CcatJobLog | Should -Be 'row12'
        @(Get-JobDirEntry $script:dir).Count | Should -Be 12
    }

    It 'writes the error of the one job that cannot be submitted and submits the others' {
        $rows = @(
            [pscustomobject]@{ ExecutionCommand = 'exit 0'; JobName = 'ok1' }
            [pscustomobject]@{ ExecutionCommand = 'exit 0'; JobName = 'bad'; WorkingDirectory = (Join-Path $TestDrive 'no-such-folder') }
            [pscustomobject]@{ ExecutionCommand = 'exit 0'; JobName = 'ok2' }
        )
        $before = @(Get-JobDirEntry $script:dir).Count

        $jobs = @($rows | Submit-CcatJob -ErrorVariable failed -ErrorAction SilentlyContinue)

        $jobs.JobName | Should -Be @('ok1', 'ok2')
        $failed.Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSubmission*'
        $failed[0].TargetObject | Should -Be 'bad'
        @(Get-JobDirEntry $script:dir).Count | Should -Be ($before + 2)
        @($jobs | Wait-CcatJob -Timeout 120 | Where-Object Status -EQ 'Completed').Count | Should -Be 2
    }

    It 'submits nothing under -WhatIf (ShouldProcess is asked per job, before any gathering)' {
        $before = @(Get-JobDirEntry $script:dir).Count
        $out = @(1..3 | ForEach-Object { [pscustomobject]@{ ExecutionCommand = 'exit 0' } } | Submit-CcatJob -WhatIf)
        $out.Count | Should -Be 0
        @(Get-JobDirEntry $script:dir).Count | Should -Be $before
    }
}

Describe 'Submit-CcatJob batches on Redis' -Tag 'Service', 'Local', 'Redis' {
    BeforeAll {
        # A private server: the shared one counts every other test run's commands too.
        $script:redisEnv = @{ CCAT_INFRA_DIR = (Join-Path $TestDrive 'infra'); CCAT_REDIS_PORT = '0' }
        $lines = & env @($script:redisEnv.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) bash (Join-Path (Get-RepoRoot) 'tests/infra/redis/start.sh')
        $script:socket = ($lines | Where-Object { $_ -like 'REDIS_SOCKET=*' }) -replace '^REDIS_SOCKET=', ''
        $script:dir = Use-CcatLocalStore $TestDrive 'redis' 'counted'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = $script:socket
        function Get-Calls([string[]] $Command) {
            $sum = 0
            foreach ($line in (redis-cli -s $script:socket info commandstats)) {
                if ($line -match '^cmdstat_(\w+):calls=(\d+)' -and $Matches[1] -in $Command) { $sum += [long]$Matches[2] }
            }
            $sum
        }
    }
    AfterAll {
        Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false
        $null = & env @($script:redisEnv.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) bash (Join-Path (Get-RepoRoot) 'tests/infra/redis/stop.sh')
    }

    It 'creates the records of piped jobs in fewer store calls than jobs (one script per batch)' {
        $null = Get-CcatJob -Backend Local # connected before counting
        $scripts = Get-Calls 'eval', 'evalsha'

        $jobs = @(1..12 | ForEach-Object { [pscustomobject]@{ ExecutionCommand = 'exit 0'; JobName = "c$_" } } | Submit-CcatJob)

        $jobs.Count | Should -Be 12
        $used = (Get-Calls 'eval', 'evalsha') - $scripts
        # Batches form as fast as the input comes: at least one, never one per job.
        $used | Should -BeGreaterOrEqual 1
        $used | Should -BeLessThan 12
        @($jobs | Wait-CcatJob -Timeout 180 | Where-Object Status -EQ 'Completed').Count | Should -Be 12
    }
}
