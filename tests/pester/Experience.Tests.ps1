# What a user who knows good PowerShell modules expects: binding, views, type data, catchable
# errors with hints, and progress. Runs against the Local backend (no services needed).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    $script:manifest = Get-ModuleManifestPath
    Import-Module $script:manifest -Force
    Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs')

    # Runs a script in a fresh runspace of this process (same environment) and returns the
    # PowerShell object, whose Streams hold what the script wrote (progress cannot be redirected).
    function Invoke-WithStreams([string] $Script) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$script:manifest'; $Script").Invoke()
            [pscustomobject]@{ Progress = @($ps.Streams.Progress); Errors = @($ps.Streams.Error) }
        }
        finally { $ps.Dispose() }
    }

    $script:jobs = @(
        Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'calib-a'
        Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'flat-b'
        Submit-CcatJob -ExecutionCommand 'exit 0' -JobName 'other-c'
    ) | Wait-CcatJob -Timeout 120
}

Describe 'Pipeline binding' -Tag 'Process', 'Local' {
    It 'binds bare strings from the pipeline to -JobId' {
        $ids = $script:jobs.JobId
        $got = @($ids | Get-CcatJobStatus)
        $got.Count | Should -Be 3
        @($got.JobId) | Should -Be @($ids)
    }

    It 'still binds job objects to -InputObject and keeps their backend' {
        $got = @($script:jobs | Get-CcatJobStatus)
        $got.Count | Should -Be 3
        $got[0].Backend | Should -Be 'Local'
    }
}

Describe 'Get-CcatJob filters' -Tag 'Process', 'Local' {
    It 'takes several -Name patterns' {
        $names = @(Get-CcatJob -Name 'calib-*', 'flat-*').JobName | Sort-Object
        $names | Should -Be @('calib-a', 'flat-b')
    }

    It 'takes -JobId, several and with wildcards' {
        $a, $b = $script:jobs[0].JobId, $script:jobs[1].JobId
        @(Get-CcatJob -JobId $a, $b).JobId | Sort-Object | Should -Be (@($a, $b) | Sort-Object)
        @(Get-CcatJob -JobId ($a.Substring(0, 8) + '*')).JobId | Should -Be @($a)
    }
}

Describe 'Views' -Tag 'Process', 'Local' {
    BeforeAll {
        $script:slurm = [CcatWorkflow.HPCJobInfo]::new('1234567', 'Slurm', 'Failed', 'calib-scan-0042', 3, 1234.5, 0.5123, 12.125, 'NonZeroExit')
        $script:local = [CcatWorkflow.HPCJobInfo]::new('0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90', 'Local', 'Failed', 'calib-scan-0042', 3, 1234.5, 0.5123, 12.125, 'NonZeroExit')
    }

    It 'keeps JobId, JobName, Status, Reason, Exit and the metrics at 80 columns for a Slurm job' {
        $lines = ($script:slurm | Out-String -Width 80) -split "`n"
        $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        $lines -join "`n" | Should -Match 'JobId\s+JobName\s+Status\s+Reason\s+Exit\s+Wall\(s\)\s+CpuHours\s+PeakMemGB'
        $lines -join "`n" | Should -Match '1234567\s+calib-scan-0042\s+Failed\s+NonZeroExit\s+3\s+1234\.5\s+0\.5123\s+12\.125'
    }

    It 'keeps JobId, JobName, Status, Reason and Exit whole at 80 columns for a Local (UUID) job' {
        $text = $script:local | Out-String -Width 80
        $text | Should -Match '0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90\s+calib-scan-0042\s+Failed\s+NonZeroExit\s+3'
    }

    It 'has a list view that shows the status with its reason and hides empty fields' {
        $text = [CcatWorkflow.HPCJobInfo]::new('7', 'Slurm', 'Failed', 'calib', 3, 90, $null, $null, 'NonZeroExit') | Format-List | Out-String
        $text | Should -Match 'Status\s+: Failed \(NonZeroExit\)'
        $text | Should -Match 'Duration\s+: 00:01:30'
        $text | Should -Not -Match 'CpuHours|PeakMemoryGb|Message|IsFinished'
    }
}

Describe 'Type data' -Tag 'Process', 'Local' {
    It 'adds Duration from the wall time, else from start to end' {
        [CcatWorkflow.HPCJobInfo]::new('1', 'Slurm', 'Completed', 'x', 0, 90.5).Duration | Should -Be ([TimeSpan]::FromSeconds(90.5))
        $start = [DateTimeOffset]::UtcNow.AddMinutes(-10)
        $job = [CcatWorkflow.HPCJobInfo]::new('1', 'Slurm', 'Completed', 'x', 0, $null, $null, $null, 'None', $null, $start, $start, $start.AddMinutes(5))
        $job.Duration | Should -Be ([TimeSpan]::FromMinutes(5))
        [CcatWorkflow.HPCJobInfo]::new('1', 'Slurm', 'Pending').Duration | Should -BeNullOrEmpty
    }

    It 'adds Age from the submission time' {
        $job = [CcatWorkflow.HPCJobInfo]::new('1', 'Slurm', 'Pending', 'x', $null, $null, $null, $null, 'None', $null, [DateTimeOffset]::UtcNow.AddHours(-2))
        $job.Age.TotalHours | Should -BeGreaterOrEqual 2
        $job.Age.TotalHours | Should -BeLessThan 3
    }
}

Describe 'Errors scripts can catch by type' -Tag 'Process', 'Local' {
    It 'throws CcatWorkflow.CcatWorkflowException carrying ErrorId and JobId' {
        $caught = $null
        try { Get-CcatJobStatus -JobId 'no-such-id' -Backend Local -ErrorAction Stop }
        catch [CcatWorkflow.CcatWorkflowException] { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception | Should -BeOfType ([CcatWorkflow.CcatWorkflowException])
        $caught.Exception.ErrorId | Should -Be 'InvalidJobId'
        $caught.Exception.JobId | Should -Be 'no-such-id'
        $caught.FullyQualifiedErrorId | Should -BeLike 'InvalidJobId,*'
    }

    It 'hints at <Backend> when a <Kind> id is given to the Local backend' -ForEach @(
        @{ Kind = 'numeric'; Id = '123456'; Backend = 'Slurm' }
        @{ Kind = 'DNS-name'; Id = 'calib-scan-7xk2p'; Backend = 'Kubernetes' }
    ) {
        $err = $null
        try { Get-CcatJobStatus -JobId $Id -ErrorAction Stop } catch { $err = $_ }
        $err.Exception.Message | Should -BeLike "*is not a Local job id*add -Backend $Backend."
    }

    It 'gives no hint when the id looks like no backend''s' {
        $err = $null
        try { Get-CcatJobStatus -JobId 'Not_An_Id!' -ErrorAction Stop } catch { $err = $_ }
        $err.Exception.Message | Should -Not -Match 'add -Backend'
    }

    It 'says a job that cannot be found is ObjectNotFound with the public type' {
        $err = $null
        try { Get-CcatJobStatus -JobId ([guid]::NewGuid()) -ErrorAction Stop } catch { $err = $_ }
        $err.Exception.GetType().FullName | Should -Be 'CcatWorkflow.CcatWorkflowException'
        $err.Exception.ErrorId | Should -Be 'JobNotFound'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Progress' -Tag 'Process', 'Local' {
    It 'counts jobs while a pipeline submits them, without a percentage' {
        $r = Invoke-WithStreams "1..3 | ForEach-Object { [pscustomobject]@{ ExecutionCommand = 'exit 0'; JobName = ""p`$_"" } } | Submit-CcatJob | Out-Null"
        $r.Errors | Should -BeNullOrEmpty
        $records = @($r.Progress | Where-Object Activity -eq 'Submitting CcatWorkflow jobs' | Where-Object RecordType -eq 'Processing')
        @($records.StatusDescription) | Should -Be @('1 submitted; last: p1', '2 submitted; last: p2', '3 submitted; last: p3')
        $records.PercentComplete | ForEach-Object { $_ | Should -Be -1 }
    }

    It 'shows the elapsed time in the Wait-CcatJob bar' {
        $r = Invoke-WithStreams "Submit-CcatJob -ExecutionCommand 'sleep 1' -JobName w | Wait-CcatJob -Timeout 120 | Out-Null"
        $r.Errors | Should -BeNullOrEmpty
        $bars = @($r.Progress | Where-Object Activity -eq 'Waiting for CcatWorkflow jobs' | Where-Object RecordType -eq 'Processing')
        $bars.Count | Should -BeGreaterThan 0
        $bars[-1].StatusDescription | Should -Match '0 of 1 finished, .*; waited \d+s$'
    }
}

Describe 'Logs of several jobs' -Tag 'Process', 'Local' {
    BeforeAll {
        $script:logJobs = @(
            Submit-CcatJob -ExecutionCommand 'echo a-out1; echo a-out2; echo a-err >&2' -JobName 'log-a'
            Submit-CcatJob -ExecutionCommand 'echo b-out; echo b-err >&2' -JobName 'log-b'
        ) | Wait-CcatJob -Timeout 120
    }

    It 'keeps plain strings for one job' {
        $lines = @($script:logJobs[0] | Get-CcatJobLog)
        $lines | Should -Be @('a-out1', 'a-out2', 'a-err')
        $lines[0] | Should -BeOfType ([string])
    }

    It 'writes CcatLogLine objects that carry their job and stream' {
        $lines = @($script:logJobs | Get-CcatJobLog)
        $lines | ForEach-Object { $_ | Should -BeOfType ([CcatWorkflow.CcatLogLine]) }
        @($lines | ForEach-Object { "$($_.JobName)|$($_.Stream)|$($_.Text)" }) | Should -Be @(
            'log-a|Output|a-out1', 'log-a|Output|a-out2', 'log-a|Error|a-err', 'log-b|Output|b-out', 'log-b|Error|b-err')
        $lines[0].JobId | Should -Be $script:logJobs[0].JobId
        "$($lines[0])" | Should -Be 'a-out1'
    }

    It 'names the jobs given by id too' {
        $lines = @($script:logJobs.JobId | Get-CcatJobLog -Stream Error)
        @($lines.JobName) | Should -Be @('log-a', 'log-b')
        @($lines.Stream | Sort-Object -Unique) | Should -Be @('Error')
    }

    It 'displays the text under a heading per job' {
        $text = $script:logJobs | Get-CcatJobLog | Out-String
        $text | Should -Match "Job: log-a \(Local [0-9a-f-]{36}\)\s+a-out1\s+a-out2\s+a-err\s+Job: log-b"
    }

    It 'keeps one string per job with -Raw' {
        $raw = @($script:logJobs | Get-CcatJobLog -Raw)
        $raw.Count | Should -Be 2
        $raw[0] | Should -BeOfType ([string])
        $raw[0] | Should -Match 'a-out1'
    }

    It 'interleaves the jobs'' output with -Follow as it arrives' {
        # Each job waits until the test has seen the other's line, so following one job after
        # the other cannot produce a1, b1, a2 (job a would time out first and print a2-late).
        $d = Join-Path $TestDrive 'follow'
        New-Item -ItemType Directory $d | Out-Null
        $wait = { param($f) "i=0; while [ ! -f '$d/$f' ] && [ `$i -lt 600 ]; do sleep 0.1; i=`$((i+1)); done" }
        $a = Submit-CcatJob -JobName fa -ExecutionCommand "echo a1; $(& $wait 'seen-b1'); if [ -f '$d/seen-b1' ]; then echo a2; else echo a2-late; fi"
        $b = Submit-CcatJob -JobName fb -ExecutionCommand "$(& $wait 'seen-a1'); echo b1"
        $seen = @($a, $b | Get-CcatJobLog -Follow | ForEach-Object {
                if ($_.Text -eq 'a1') { New-Item "$d/seen-a1" | Out-Null }
                if ($_.Text -eq 'b1') { New-Item "$d/seen-b1" | Out-Null }
                "$($_.JobName):$($_.Text)"
            })
        $seen | Should -Be @('fa:a1', 'fb:b1', 'fa:a2')
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
