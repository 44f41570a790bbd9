# Campaign hygiene on the Local backend through the cmdlets, with both job stores: requested
# resources read back in another process, Measure-CcatJob against hand-computed figures,
# Get-CcatJob -OlderThan, and Remove-CcatJob leaving nothing behind (files and records counted).
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

    function Use-Store([string] $Store, [string] $Name) { Use-CcatLocalStore -Root $TestDrive -Store $Store -Name $Name -PollSeconds '0.2' }

    # Everything the store holds about a job: its record file, or its Redis keys and index entry.
    function Get-StoreTrace([string] $Store, [string] $Dir, [string] $Id) {
        if ($Store -eq 'file') { return @(Get-ChildItem -Recurse -Force (Join-Path $Dir $Id) -ErrorAction Ignore).Count }
        $prefix = $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX
        $keys = @(redis-cli -p 16379 --scan --pattern "$prefix*$Id*").Count
        $indexed = @(redis-cli -p 16379 zscore "${prefix}:local:jobs" $Id | Where-Object { $_ }).Count
        $keys + $indexed
    }
}

Describe 'Campaign hygiene on Local with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll { $script:dir = Use-Store $Store 'hygiene' }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'reads what was asked back in another process: resources, command and log path' {
        $job = Submit-CcatJob -ExecutionCommand 'echo asked' -JobName asked -Resources @{ cpu = 2; memory_gb = 1.5; time_hours = 0.5; gpu = 1 } | Wait-CcatJob -Timeout 60
        $plain = Submit-CcatJob -ExecutionCommand 'true' -JobName plain | Wait-CcatJob -Timeout 60
        $other = Invoke-InOtherProcess "Get-CcatJobStatus -Backend Local -JobId '$($job.JobId)', '$($plain.JobId)'"
        $asked = $other | Where-Object JobId -eq $job.JobId
        $asked.RequestedCpu | Should -Be 2
        $asked.RequestedMemoryGb | Should -Be 1.5
        $asked.RequestedTimeHours | Should -Be 0.5
        $asked.RequestedGpu | Should -Be 1
        $asked.Command | Should -Be 'echo asked'
        $asked.LogPath | Should -Be (Join-Path $script:dir $job.JobId 'stdout.log')
        Get-Content $asked.LogPath | Should -Be 'asked'
        $none = $other | Where-Object JobId -eq $plain.JobId
        $none.RequestedCpu | Should -BeNullOrEmpty
        $none.RequestedMemoryGb | Should -BeNullOrEmpty
        $none.RequestedTimeHours | Should -BeNullOrEmpty
        $none.RequestedGpu | Should -BeNullOrEmpty
        $none.Command | Should -Be 'true'
    }

    It 'Measure-CcatJob figures match the hand-computed ones within 1 %' {
        # Spins one CPU for a moment: CPU, memory and time are all measured.
        $spin = 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'
        $jobs = 1..3 | ForEach-Object { Submit-CcatJob -ExecutionCommand $spin -JobName "measure-$_" -Resources @{ cpu = 2; memory_gb = 1; time_hours = 0.01 } } | Wait-CcatJob -Timeout 120
        $jobs.Status | Should -Be @('Completed', 'Completed', 'Completed')
        foreach ($j in $jobs) {
            $m = $j | Measure-CcatJob
            $m | Should -BeOfType ([CcatWorkflow.JobEfficiency])
            $cpu = $j.CpuHours / (2 * $j.WallTimeSeconds / 3600)
            $m.CpuEfficiency | Should -BeGreaterThan 0
            [math]::Abs($m.CpuEfficiency - $cpu) | Should -BeLessOrEqual ($cpu * 0.01)
            $time = $j.WallTimeSeconds / 36
            [math]::Abs($m.TimeUsed - $time) | Should -BeLessOrEqual ($time * 0.01)
            if ($null -ne $j.PeakMemoryGb) {
                [math]::Abs($m.MemoryEfficiency - $j.PeakMemoryGb) | Should -BeLessOrEqual ($j.PeakMemoryGb * 0.01)
                $m.MemoryVerdict | Should -Be 'OverAsked'
            }
        }

        $summary = $jobs | Measure-CcatJob -Summary
        @($summary).Count | Should -Be 3
        $time = $summary | Where-Object Resource -eq 'Time'
        $time.Jobs | Should -Be 3
        $hours = @($jobs.WallTimeSeconds | ForEach-Object { $_ / 3600 } | Sort-Object)
        [math]::Abs($time.MedianUsed - $hours[1]) | Should -BeLessOrEqual ($hours[1] * 0.01)
        $p95 = $hours[1] + 0.9 * ($hours[2] - $hours[1])            # rank 0.95 × 2 = 1.9
        [math]::Abs($time.P95Used - $p95) | Should -BeLessOrEqual ($p95 * 0.01)
        $time.SuggestedRequest | Should -Be ([math]::Max(1, [math]::Ceiling($p95 * 1.2 * 60 - 1e-9)) / 60)
        ($summary | Where-Object Resource -eq 'Cpu').ResourceKey | Should -Be 'cpu'
        ($summary | Out-String -Width 200) | Should -Match 'ResourceKey\s+Unit\s+Jobs\s+Median\s+P95\s+MedEff%\s+P95Eff%\s+Over\s+AtLimit\s+Suggested'
        ($jobs[0] | Measure-CcatJob | Out-String -Width 200) | Should -Match 'JobId\s+JobName\s+Status\s+Cpu%\s+Cpu\s+Mem%\s+Memory\s+Time%\s+Time'
    }

    It 'Get-CcatJob -OlderThan keeps only jobs that ended longer ago' {
        $job = Submit-CcatJob -ExecutionCommand 'true' -JobName 'age' | Wait-CcatJob -Timeout 60
        @(Get-CcatJob -Backend Local -OlderThan 1h | Where-Object JobId -eq $job.JobId).Count | Should -Be 0
        Wait-Until { ([DateTimeOffset]::UtcNow - $job.FinishedAt).TotalSeconds -gt 1.5 } 'the job ended more than 1.5 s ago'
        @(Get-CcatJob -Backend Local -OlderThan 1s | Where-Object JobId -eq $job.JobId).Count | Should -Be 1
        @(Get-CcatJob -Backend Local -OlderThan (New-TimeSpan -Seconds 1) | Where-Object JobId -eq $job.JobId).Count | Should -Be 1
    }

    It 'Remove-CcatJob -WhatIf removes nothing' {
        $job = Submit-CcatJob -ExecutionCommand 'true' -JobName 'whatif' | Wait-CcatJob -Timeout 60
        $before = Get-StoreTrace $Store $script:dir $job.JobId
        $folder = @(Get-ChildItem -Recurse -Force (Join-Path $script:dir $job.JobId)).Count
        $job | Remove-CcatJob -WhatIf
        Get-StoreTrace $Store $script:dir $job.JobId | Should -Be $before
        @(Get-ChildItem -Recurse -Force (Join-Path $script:dir $job.JobId)).Count | Should -Be $folder
        (Get-CcatJobStatus -Backend Local -JobId $job.JobId).Status | Should -Be 'Completed'
    }

    It 'Remove-CcatJob leaves nothing of a finished job behind' {
        # The job leaves a symbolic link to a folder outside in its directory: only the link goes.
        $outside = Join-Path $TestDrive "outside-$Store"
        New-Item -ItemType Directory -Force $outside | Out-Null
        Set-Content (Join-Path $outside 'precious.txt') 'keep me'
        $job = Submit-CcatJob -ExecutionCommand "echo bye; ln -s '$outside' escape" -JobName 'removed' | Wait-CcatJob -Timeout 60
        (Get-Item (Join-Path $script:dir $job.JobId 'escape')).LinkTarget | Should -Be $outside
        $keep = Submit-CcatJob -ExecutionCommand 'true' -JobName 'kept' | Wait-CcatJob -Timeout 60
        Get-StoreTrace $Store $script:dir $job.JobId | Should -BeGreaterThan 0
        $removed = $job | Remove-CcatJob -PassThru
        $removed.JobId | Should -Be $job.JobId
        Test-Path (Join-Path $script:dir $job.JobId) | Should -BeFalse
        Get-StoreTrace $Store $script:dir $job.JobId | Should -Be 0
        Get-CcatJob -Backend Local | Where-Object JobId -eq $job.JobId | Should -BeNullOrEmpty
        Get-Content (Join-Path $outside 'precious.txt') | Should -Be 'keep me'
        Get-CcatJobStatus -Backend Local -JobId $job.JobId -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'JobNotFound,*'
        (Get-CcatJobStatus -Backend Local -JobId $keep.JobId).Status | Should -Be 'Completed'
    }

    It 'refuses a running job, and -Force cancels it first' {
        $seconds = Get-Random -Minimum 100000 -Maximum 999999   # a command line no other test runs
        $job = Submit-CcatJob -ExecutionCommand "sleep $seconds" -JobName 'still running'
        $until = (Get-Date).AddSeconds(60)
        while ((Get-CcatJobStatus -Backend Local -JobId $job.JobId).Status -ne 'Running' -and (Get-Date) -lt $until) { Start-Sleep -Milliseconds 200 }
        $job | Remove-CcatJob -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'JobStillRunning,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        Test-Path (Join-Path $script:dir $job.JobId) | Should -BeTrue
        (Get-CcatJobStatus -Backend Local -JobId $job.JobId).IsFinished | Should -BeFalse

        $job | Remove-CcatJob -Force -Confirm:$false
        Test-Path (Join-Path $script:dir $job.JobId) | Should -BeFalse
        Get-StoreTrace $Store $script:dir $job.JobId | Should -Be 0
        @(pgrep -f -x -- "sleep $seconds").Count | Should -Be 0
    }

    It 'refuses to remove a job directory the module did not make (a symbolic link), and leaves it' {
        $job = Submit-CcatJob -ExecutionCommand 'true' -JobName 'not ours' | Wait-CcatJob -Timeout 60
        $path = Join-Path $script:dir $job.JobId
        $elsewhere = Join-Path $TestDrive "elsewhere-$Store"
        cp -a $path $elsewhere   # (not Copy-Item: the runner may still hold its lock file)
        Remove-Item -Recurse -Force $path
        New-Item -ItemType SymbolicLink -Path $path -Target $elsewhere | Out-Null
        $files = @(Get-ChildItem -Recurse -Force $elsewhere).Count

        $job | Remove-CcatJob -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotOwnedByModule,*'
        (Get-Item $path).LinkTarget | Should -Be $elsewhere
        @(Get-ChildItem -Recurse -Force $elsewhere).Count | Should -Be $files
        Get-StoreTrace $Store $script:dir $job.JobId | Should -BeGreaterThan 0
    }
}

Describe 'Remove-CcatJob and Get-CcatJob -OlderThan as users see them' -Tag 'Service', 'Local' {
    It 'takes 30d-style ages: <Text>' -ForEach @(
        @{ Text = '30d'; Expected = [timespan]::FromDays(30) }
        @{ Text = '2w'; Expected = [timespan]::FromDays(14) }
        @{ Text = '12h'; Expected = [timespan]::FromHours(12) }
        @{ Text = '90m'; Expected = [timespan]::FromMinutes(90) }
        @{ Text = '1.5d'; Expected = [timespan]::FromHours(36) }
    ) {
        $attr = (Get-Command Get-CcatJob).Parameters['OlderThan'].Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentTransformationAttribute] }
        $attr.Transform($ExecutionContext, $Text) | Should -Be $Expected
    }

    It 'passes other TimeSpan forms to PowerShell and refuses nonsense' {
        $attr = (Get-Command Get-CcatJob).Parameters['OlderThan'].Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentTransformationAttribute] }
        $attr.Transform($ExecutionContext, '30.00:00:00') | Should -Be '30.00:00:00'
        { Get-CcatJob -OlderThan 'thirty days' } | Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'Remove-CcatJob supports -WhatIf, -Confirm, -Force and pipeline input by object and by id' {
        $p = (Get-Command Remove-CcatJob).Parameters
        foreach ($name in 'WhatIf', 'Confirm', 'Force', 'PassThru', 'JobId', 'Backend', 'InputObject') { $p.Keys | Should -Contain $name }
        $p['InputObject'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipeline | Should -Contain $true
        (Get-Command Measure-CcatJob).Parameters['InputObject'].ParameterType | Should -Be ([CcatWorkflow.HPCJobInfo[]])
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
