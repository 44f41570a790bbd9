# memory_gb on the Local backend: enforced by the kernel in a per-job memory cgroup where one can
# be made (root, or a delegated tree), with the OOM kill and the peak read from the kernel's own
# counters; checked by sampling where none can be. Both job stores.
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

    # The job's record field as its store holds it (record.json, or the Redis hash).
    function Get-RecordField([string] $Store, [string] $Dir, [string] $Id, [string] $Field) {
        if ($Store -eq 'redis') {
            & redis-cli -p 16379 HGET "$($env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX):local:job:$Id" $Field
        }
        else { (Get-Content (Join-Path $Dir "$Id/record.json") | ConvertFrom-Json).$Field }
    }

    # Debian's python by its absolute path: no version-manager shim in the measured tree.
    # bytearray(n) is calloc'd: pages count only once written, so every page is written.
    function Get-TouchCommand([int] $MiB, [int] $Seconds = 1) {
        "/usr/bin/python3 -c `"b = bytearray($MiB * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep($Seconds)`""
    }

    $script:inUse = (Get-CcatConfiguration LOCAL_CGROUP_IN_USE).Value
    $script:kernel = $script:inUse -match 'memory'
}

Describe 'Local memory_gb with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll { $script:dir = Use-CcatLocalStore $TestDrive $Store 'cgroup' }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'Get-CcatConfiguration says which cgroups jobs get here (read-only)' {
        $setting = Get-CcatConfiguration LOCAL_CGROUP_IN_USE
        $setting.Source | Should -Be 'Detected'
        $setting.Value | Should -Match '^(v[12] [a-z+() 0-9]+|none)$'
        if ([Environment]::UserName -eq 'root' -and (Test-Path /sys/fs/cgroup/memory/memory.limit_in_bytes)) {
            # this machine kind: cgroup v1, as root
            $setting.Value | Should -Be 'v1 pids+memory'
        }
    }

    It 'ends a job that allocates past its memory_gb as Failed/OutOfMemory, its peak near the limit, its cgroup gone' {
        $job = Submit-CcatJob -ExecutionCommand (Get-TouchCommand 400 30) -JobName oom -Resources @{ memory_gb = 0.15 } |
            Wait-CcatJob -Timeout 120
        $job.Status | Should -Be 'Failed'
        $job.Reason | Should -Be 'OutOfMemory'
        $state = Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json
        if ($script:kernel) {
            # the kernel's counters: its peak cannot pass the limit, and it OOM-killed
            $job.PeakMemoryGb | Should -BeGreaterThan (0.9 * 0.15)
            $job.PeakMemoryGb | Should -BeLessOrEqual 0.15
            $job.Message | Should -BeLike '*kernel killed*memory limit of 0.15 GiB*'
            $state.cgroup_use | Should -Be $script:inUse
            $state.memory_cgroup | Should -Not -BeNullOrEmpty
            Test-Path $state.memory_cgroup | Should -BeFalse
        }
        else {
            $job.PeakMemoryGb | Should -BeGreaterThan 0.15
            $state.memory_cgroup | Should -BeNullOrEmpty
        }
        Get-RecordField $Store $script:dir $job.JobId 'cgroup' | Should -Be $state.cgroup_use
    }

    It 'lets a job under its memory_gb complete, its peak within 15% of what it touched, its cgroup gone' {
        $job = Submit-CcatJob -ExecutionCommand (Get-TouchCommand 300) -JobName fits -Resources @{ memory_gb = 1 } |
            Wait-CcatJob -Timeout 120
        $job.Status | Should -Be 'Completed'
        $job.PeakMemoryGb | Should -BeGreaterThan (0.85 * 300 / 1024)
        $job.PeakMemoryGb | Should -BeLessThan (1.15 * 300 / 1024)
        $state = Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json
        if ($script:kernel) {
            $state.memory_cgroup | Should -Not -BeNullOrEmpty
            Test-Path $state.memory_cgroup | Should -BeFalse
        }
        Get-RecordField $Store $script:dir $job.JobId 'cgroup' | Should -Be $state.cgroup_use
    }

    It 'gives a job that asks no memory no memory cgroup (its processes are still marked by the pids cgroup)' {
        $job = Submit-CcatJob -ExecutionCommand 'exit 0' -JobName plain | Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Completed'
        $state = Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json
        $state.memory_cgroup | Should -BeNullOrEmpty
        $state.cgroup_use | Should -Not -Match 'memory'
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
