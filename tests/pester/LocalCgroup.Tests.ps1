# memory_gb on the Local backend: enforced by the kernel in a per-job memory cgroup where one can
# be made (root, or a delegated tree), with the OOM kill and the peak read from the kernel's own
# counters; checked by sampling where none can be. cpu: a CFS quota in a per-job cpu cgroup, with
# the kernel's throttling counters kept in result.json; not limited where none can be made.
# Both job stores.
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
    $script:cpuKernel = $script:inUse -match '(^v\d |\+)cpu\b'

    # The cpu controller's hierarchy as the mount table names it (v1: its own or a co-mounted
    # "cpu,cpuacct" mount; else the unified v2 tree), and the job cgroups' parent in it.
    $script:cpuRoot = Get-Content /proc/self/mounts | ForEach-Object {
        $f = $_ -split ' '
        if ($f[2] -eq 'cgroup' -and ($f[3] -split ',') -contains 'cpu') { $f[1] }
    } | Select-Object -First 1
    if (-not $script:cpuRoot) {
        $script:cpuRoot = Get-Content /proc/self/mounts | ForEach-Object { $f = $_ -split ' '; if ($f[2] -eq 'cgroup2') { $f[1] } } |
            Where-Object { (Get-Content (Join-Path $_ 'cgroup.controllers') -ErrorAction Ignore) -match '\bcpu\b' } | Select-Object -First 1
    }

    # The job's cpu cgroup as /proc/self/cgroup (printed by the job) names it: the v1 line
    # whose controllers include cpu, else the v2 line.
    function Get-CpuCgroupLine([string[]] $Lines) {
        $v1 = $Lines | Where-Object { ($_ -split ':')[1] -split ',' -contains 'cpu' }
        if ($v1) { $v1 } else { $Lines | Where-Object { $_ -like '0::*' } }
    }
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
            $setting.Value | Should -Be 'v1 pids+memory+cpu'
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
            $state.cgroup_use | Should -Match 'memory'
            $state.cgroup_use | Should -Not -Match 'cpu'
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

Describe 'Local cpu with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll { $script:dir = Use-CcatLocalStore $TestDrive $Store 'cpu' }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'holds a job of cpu=1 running two busy loops to one CPU: the kernel throttled it, and its CPU time is at most one CPU of its wall time' {
        # Two plain sh loops (no interpreter start-up to blur the count), 5 s each, and the job
        # prints its own cgroups and quota first: its processes are in the quota before it runs.
        $quotaFile = if ($script:cpuRoot -and (Test-Path (Join-Path $script:cpuRoot 'cpu.cfs_quota_us'))) { 'cpu.cfs_quota_us' } else { 'cpu.max' }
        $command = "cat /proc/self/cgroup; cat '$script:cpuRoot/ccat-workflow/'`"`$CCAT_JOB_ID`"/$quotaFile 2>/dev/null; " +
            "timeout 5 sh -c 'while :; do :; done' & timeout 5 sh -c 'while :; do :; done' & wait"
        # Under load a job's cgroup gets only its weight's share of the machine — far below one
        # CPU with dozens of busy processes about — and a quota it never reaches cannot bind.
        # For this test the job cgroups' parent weighs as much as the kernel allows (restored
        # after), so the two loops could use both CPUs and only the quota holds them to one.
        $weightFile = if ($script:cpuKernel) {
            New-Item -ItemType Directory -Force (Join-Path $script:cpuRoot 'ccat-workflow') | Out-Null
            @('cpu.shares', 'cpu.weight') | ForEach-Object { Join-Path $script:cpuRoot "ccat-workflow/$_" } | Where-Object { Test-Path $_ } | Select-Object -First 1
        }
        $savedWeight = if ($weightFile) { (Get-Content $weightFile).Trim() }
        try {
            if ($weightFile) { Set-Content $weightFile $(if ($weightFile -like '*shares') { 262144 } else { 10000 }) }
            $job = Submit-CcatJob -ExecutionCommand $command -JobName busy -Resources @{ cpu = 1 } | Wait-CcatJob -Timeout 120
        }
        finally {
            if ($weightFile) { Set-Content $weightFile $savedWeight }
        }

        $job.Status | Should -Be 'Completed'
        $result = Get-Content (Join-Path $script:dir "$($job.JobId)/result.json") | ConvertFrom-Json
        $state = Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json
        $out = @(Get-Content (Join-Path $script:dir "$($job.JobId)/stdout.log"))
        # an upper bound only: a loaded machine can only lower it
        ($result.cpu_seconds / $result.wall_seconds) | Should -BeLessOrEqual (1 * 1.15)
        $job.CpuHours * 3600 | Should -BeLessOrEqual (1.15 * $result.wall_seconds)
        Get-RecordField $Store $script:dir $job.JobId 'cgroup' | Should -Be $state.cgroup_use
        if ($script:cpuKernel) {
            $state.cgroup_use | Should -Match '(^v\d |\+)cpu\b'
            $state.cpu_cgroup | Should -Be "$script:cpuRoot/ccat-workflow/$($job.JobId)"
            Test-Path $state.cpu_cgroup | Should -BeFalse
            Get-CpuCgroupLine $out | Should -BeLike "*:/ccat-workflow/$($job.JobId)"
            $out | Should -Contain $(if ($quotaFile -eq 'cpu.max') { '100000 100000' } else { '100000' })
            # the kernel's word, read by the runner before it removed the cgroup
            $result.cpu_throttled_periods | Should -BeGreaterThan 0
            $result.cpu_throttled_seconds | Should -BeGreaterThan 0
        }
        else {
            $state.cpu_cgroup | Should -BeNullOrEmpty
            $state.cgroup_use | Should -Not -Match 'cpu'
            $result.cpu_throttled_periods | Should -BeNullOrEmpty
        }
    }

    It 'gives a job that asks no cpu no cpu cgroup and no quota' {
        $job = Submit-CcatJob -ExecutionCommand 'cat /proc/self/cgroup' -JobName nocpu | Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Completed'
        $state = Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json
        $result = Get-Content (Join-Path $script:dir "$($job.JobId)/result.json") | ConvertFrom-Json
        $state.cpu_cgroup | Should -BeNullOrEmpty
        $state.cgroup_use | Should -Not -Match 'cpu'
        $result.cpu_throttled_periods | Should -BeNullOrEmpty
        Get-CpuCgroupLine @(Get-Content (Join-Path $script:dir "$($job.JobId)/stdout.log")) | Should -Not -BeLike '*ccat-workflow*'
        if ($script:cpuRoot) { Test-Path (Join-Path $script:cpuRoot "ccat-workflow/$($job.JobId)") | Should -BeFalse }
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
