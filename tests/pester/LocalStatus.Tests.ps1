# The status of many Local jobs at campaign scale, counted (never timed): the Redis commands
# and the server's read events of one Get-CcatJobStatus call, on a private redis-server that
# nothing else talks to (the shared test Redis counts every suite's commands).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    # short: a unix socket path has at most 107 bytes
    $script:redisState = Join-Path ([IO.Path]::GetTempPath()) "ccat-st-$PID"

    function Invoke-PrivateRedis([string] $Script) {
        $saved = $env:CCAT_INFRA_DIR, $env:CCAT_REDIS_PORT
        try {
            $env:CCAT_INFRA_DIR = $script:redisState
            $env:CCAT_REDIS_PORT = '0'
            & bash (Join-Path (Get-RepoRoot) "tests/infra/redis/$Script")
            if ($LASTEXITCODE -ne 0) { throw "tests/infra/redis/$Script failed" }
        }
        finally { $env:CCAT_INFRA_DIR, $env:CCAT_REDIS_PORT = $saved }
    }

    # Calls per command (INFO commandstats, the INFO calls themselves left out) and the server's
    # read events (INFO stats total_reads_processed: requests that arrived in separate reads).
    function Get-RedisCounters {
        $calls = @{}
        foreach ($line in (redis-cli -s $script:socket info commandstats)) {
            if ($line -match '^cmdstat_([\w|]+):calls=(\d+)' -and $Matches[1] -ne 'info') { $calls[$Matches[1]] = [long]$Matches[2] }
        }
        $reads = [long](((redis-cli -s $script:socket info stats) | Where-Object { $_ -like 'total_reads_processed:*' }) -replace '\D', '')
        [pscustomobject]@{ Calls = $calls; Reads = $reads }
    }

    $started = Invoke-PrivateRedis 'start.sh'
    $script:socket = ($started | Where-Object { $_ -like 'REDIS_SOCKET=*' }) -replace '^REDIS_SOCKET=', ''
}

Describe 'Get-CcatJobStatus of many finished Local jobs on Redis' -Tag 'Service', 'Local', 'Redis' {
    BeforeAll {
        $script:dir = Use-CcatLocalStore $TestDrive 'redis' 'status'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = $script:socket
        Remove-Item env:CCAT_WORKFLOW_MANAGER_REDIS_PORT
        $script:ids = @(1..200 | ForEach-Object { (Submit-CcatJob -ExecutionCommand 'true' -JobName counted).JobId })
        $null = Wait-CcatJob -JobId $script:ids -Backend Local -Timeout 600
        # Every runner gone (its lock free), so none of them writes to the store while counted.
        foreach ($id in $script:ids) {
            $lock = Join-Path $script:dir "$id/runner.lock"
            Wait-Until { flock -n -s $lock true; $LASTEXITCODE -eq 0 } "the runner of $id ended"
        }
        $null = Get-CcatJobStatus -JobId $script:ids -Backend Local # connected; anything left to heal is healed
    }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'reads 200 finished jobs in one pipelined batch of 200 HGETALLs, and nothing else' {
        $before = Get-RedisCounters
        $r = @(Get-CcatJobStatus -JobId $script:ids -Backend Local)
        $after = Get-RedisCounters

        $r.Count | Should -Be 200
        @($r | Where-Object Status -NE 'Completed').Count | Should -Be 0
        $after.Calls['hgetall'] - $before.Calls['hgetall'] | Should -Be 200
        # PING and ECHO are the client's keep-alive, on its own clock; anything else is the call's.
        $others = @($after.Calls.Keys | Where-Object { $_ -notin 'hgetall', 'ping', 'echo' -and $after.Calls[$_] -ne $before.Calls[$_] })
        $others | Should -BeNullOrEmpty -Because 'a finished job needs no write, no retry-ledger read and no second read'
        # One batch arrives in a few reads (its bytes, not its commands, set how many); a round
        # trip per job would be 200. The INFO calls of Get-RedisCounters add two.
        $after.Reads - $before.Reads | Should -BeLessOrEqual 12
    }
}

AfterAll {
    Invoke-PrivateRedis 'stop.sh' | Out-Null
    Remove-Item -Recurse -Force $script:redisState -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}
