# Campaign hygiene on the real Slurm cluster of tests/infra/slurm, through the cmdlets:
# requested resources read back in another process, Measure-CcatJob against hand-computed
# figures, and Remove-CcatJob leaving nothing of the module's behind (folder and link counted;
# Slurm's accounting record is the cluster's and stays).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $slurm = Use-CcatSlurmCluster -Name 'hygiene-slurm'
    $script:work = $slurm.Work
    $script:jobDir = $slurm.JobDir

    # Submitted first, checked later: the cluster runs them while the other tests run.
    $spin = 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done'
    $script:asked = Submit-CcatJob -ExecutionCommand 'echo asked' -JobName 'hygiene asked' -Resources @{ cpu = 1; memory_gb = 0.5; time_hours = 0.1 }
    $script:measured = 1..3 | ForEach-Object { Submit-CcatJob -ExecutionCommand $spin -JobName "hygiene measure $_" -Resources @{ cpu = 1; memory_gb = 0.25; time_hours = 0.05 } }
    $script:running = Submit-CcatJob -ExecutionCommand 'sleep 300' -JobName 'hygiene running'
    $script:finished = 1..3 | ForEach-Object { Submit-CcatJob -ExecutionCommand "echo finished $_" -JobName "hygiene finished $_" }

    function Wait-Slurm([Parameter(ValueFromPipeline)] $Job, [int] $Timeout = 150) {
        process { $Job | Wait-CcatJob -Timeout $Timeout }
    }

    # What the module keeps of a job: its by-id link and the folder behind it.
    function Get-SlurmTrace([string] $Id) {
        $link = Join-Path $script:jobDir $Id
        $item = Get-Item $link -ErrorAction Ignore
        if ($null -eq $item) { return 0 }
        1 + @(Get-ChildItem -Recurse -Force (Join-Path $script:jobDir $item.LinkTarget) -ErrorAction Ignore).Count
    }

    function Get-FolderCount { @(Get-ChildItem $script:jobDir -Directory | Where-Object { $null -eq $_.LinkTarget }).Count }
}

AfterAll {
    $live = @(Get-CcatJob -Backend Slurm -Status Pending, Running -ErrorAction Ignore)
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Campaign hygiene on Slurm' -Tag 'Service', 'Slurm' {
    It 'reads what was asked back in another process: resources, command and log path' {
        $null = $script:asked | Wait-Slurm
        $other = Invoke-InOtherProcess "Get-CcatJobStatus -Backend Slurm -JobId '$($script:asked.JobId)'"
        $other.RequestedCpu | Should -Be 1
        $other.RequestedMemoryGb | Should -Be 0.5
        $other.RequestedTimeHours | Should -Be 0.1
        $other.RequestedGpu | Should -BeNullOrEmpty
        $other.Command | Should -Be 'echo asked'
        $other.LogPath | Should -BeLike "$($script:jobDir)/*/stdout.log"
        Get-Content $other.LogPath | Should -Be 'asked'
    }

    It 'Measure-CcatJob figures match the hand-computed ones within 1 %' {
        $jobs = @($script:measured | Wait-Slurm)
        $jobs.Status | Should -Be @('Completed', 'Completed', 'Completed')
        foreach ($j in $jobs) {
            $m = $j | Measure-CcatJob
            $m.Cpus | Should -Be 1
            if ($j.WallTimeSeconds -gt 0) {
                $cpu = $j.CpuHours / ($j.WallTimeSeconds / 3600)
                [math]::Abs($m.CpuEfficiency - $cpu) | Should -BeLessOrEqual ([math]::Max($cpu * 0.01, 1e-12))
                $time = $j.WallTimeSeconds / (0.05 * 3600)
                [math]::Abs($m.TimeUsed - $time) | Should -BeLessOrEqual ($time * 0.01)
            }
            if ($null -ne $j.PeakMemoryGb) {
                $mem = $j.PeakMemoryGb / 0.25
                [math]::Abs($m.MemoryEfficiency - $mem) | Should -BeLessOrEqual ($mem * 0.01)
            }
        }

        $mem = @($jobs | Where-Object { $null -ne $_.PeakMemoryGb })
        $row = $jobs | Measure-CcatJob -Summary | Where-Object Resource -eq 'Memory'
        $row.Jobs | Should -Be $mem.Count
        if ($mem.Count -eq 3) {
            $peaks = @($mem.PeakMemoryGb | Sort-Object)
            [math]::Abs($row.MedianUsed - $peaks[1]) | Should -BeLessOrEqual ($peaks[1] * 0.01)
            $p95 = $peaks[1] + 0.9 * ($peaks[2] - $peaks[1])
            [math]::Abs($row.P95Used - $p95) | Should -BeLessOrEqual ($p95 * 0.01)
            $row.SuggestedRequest | Should -Be ([math]::Max(0.25, [math]::Ceiling($p95 * 1.2 / 0.25 - 1e-9) * 0.25))
        }
    }

    It 'Remove-CcatJob -WhatIf removes nothing' {
        $job = $script:finished[0] | Wait-Slurm
        $before = Get-SlurmTrace $job.JobId
        $before | Should -BeGreaterThan 1
        $job | Remove-CcatJob -WhatIf
        Get-SlurmTrace $job.JobId | Should -Be $before
    }

    It 'Remove-CcatJob leaves nothing of the module''s behind, and Get-CcatJob no longer lists the job' {
        $job = $script:finished[1] | Wait-Slurm
        $keep = $script:finished[2] | Wait-Slurm
        $folders = Get-FolderCount
        $removed = $job | Remove-CcatJob -PassThru
        $removed.JobId | Should -Be $job.JobId
        Get-SlurmTrace $job.JobId | Should -Be 0
        Get-FolderCount | Should -Be ($folders - 1)
        Get-CcatJob -Backend Slurm | Where-Object JobId -eq $job.JobId | Should -BeNullOrEmpty
        Get-SlurmTrace $keep.JobId | Should -BeGreaterThan 1
        @(Get-CcatJob -Backend Slurm | Where-Object JobId -eq $keep.JobId).Count | Should -Be 1
    }

    It 'refuses a running job, and -Force cancels it first' {
        $until = (Get-Date).AddSeconds(120)
        while ((Get-CcatJobStatus -JobId $script:running.JobId).Status -eq 'Pending' -and (Get-Date) -lt $until) { Start-Sleep 1 }
        $script:running | Remove-CcatJob -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'JobStillRunning,*'
        Get-SlurmTrace $script:running.JobId | Should -BeGreaterThan 1

        $script:running | Remove-CcatJob -Force -Confirm:$false
        Get-SlurmTrace $script:running.JobId | Should -Be 0
        # the cluster's own record says it was cancelled
        $state = sacct --noheader --parsable2 --format=State --jobs $script:running.JobId --starttime now-1hour | Select-Object -First 1
        $state | Should -BeLike 'CANCELLED*'
    }

    It 'refuses a job whose folder lacks the module''s tag, and leaves it' {
        $job = Submit-CcatJob -ExecutionCommand 'true' -JobName 'hygiene untagged' | Wait-Slurm
        $meta = Join-Path $script:jobDir $job.JobId 'job.json'
        (Get-Content $meta -Raw | ConvertFrom-Json) | Select-Object * -ExcludeProperty tag | ConvertTo-Json | Set-Content $meta
        $before = Get-SlurmTrace $job.JobId
        $job | Remove-CcatJob -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotOwnedByModule,*'
        Get-SlurmTrace $job.JobId | Should -Be $before
    }

    It 'refuses a job the module did not submit (no folder), touching nothing' {
        $id = (sbatch --parsable --output=/dev/null --wrap 'true').Trim()
        $until = (Get-Date).AddSeconds(120)
        while (-not (Get-CcatJobStatus -JobId $id).IsFinished -and (Get-Date) -lt $until) { Start-Sleep 1 }
        $folders = Get-FolderCount
        Remove-CcatJob -JobId $id -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotOwnedByModule,*'
        Get-FolderCount | Should -Be $folders
    }
}
