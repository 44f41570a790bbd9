# The Local backend end to end, through the cmdlets, with both job stores.
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
    $script:infra = if ($env:CCAT_INFRA_DIR) { $env:CCAT_INFRA_DIR } else { '/tmp/ccat-infra' }
    & bash (Join-Path (Get-RepoRoot) 'tests/infra/redis/start.sh') | Out-Null
    & bash (Join-Path (Get-RepoRoot) 'tests/infra/apptainer/start.sh') | Out-Null
    $script:pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $script:manifest = Get-ModuleManifestPath

    function Use-Store([string] $Store, [string] $Name) { Use-CcatLocalStore $TestDrive $Store $Name }

    function Start-OtherProcess([string] $Script, [string] $OutFile) {
        $file = Join-Path $TestDrive "$([guid]::NewGuid()).ps1"
        Set-Content $file "Import-Module '$script:manifest'; `$ErrorActionPreference = 'Stop'; $Script | Export-Clixml '$OutFile'"
        Start-Process dotnet -ArgumentList @($script:pwshDll, '-NoProfile', '-NonInteractive', '-File', $file) -PassThru
    }

    # processes whose whole command line is exactly this (not the shell that started them)
    function Get-ProcessCount([string] $CommandLine) { @(pgrep -f -x -- $CommandLine).Count }
}

Describe 'Local backend with the <Store> store' -ForEach $stores -Tag 'Service', 'Local', 'Redis' {
    BeforeAll { $script:dir = Use-Store $Store 'local' }
    # A test that fails half-way must not leave its jobs running after TestDrive is gone.
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'runs a job that fails: exit code, wall time, reason and log' {
        $job = Submit-CcatJob -ExecutionCommand 'echo hello; exit 3' -JobName t1 | Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Failed'
        $job.ExitCode | Should -Be 3
        $job.Reason | Should -Be 'NonZeroExit'
        $job.WallTimeSeconds | Should -BeGreaterThan 0
        $job.JobName | Should -Be 't1'
        $job.Backend | Should -Be 'Local'
        $job.FinishedAt | Should -BeGreaterOrEqual $job.StartedAt
        $job | Get-CcatJobLog | Should -Be 'hello'
    }

    It 'reports completed only for exit code 0, with measured metrics' {
        $job = Submit-CcatJob -ExecutionCommand 'echo out; echo err >&2' -JobName ok | Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Completed'
        $job.ExitCode | Should -Be 0
        $job.Reason | Should -Be 'None'
        $job.CpuHours | Should -Not -BeNullOrEmpty
        $job.WallTimeSeconds | Should -BeGreaterThan 0
        # a job this short can end before the first memory sample: then the peak is null
        # (not measured), never a made-up 0
        if ($null -ne $job.PeakMemoryGb) { $job.PeakMemoryGb | Should -BeGreaterThan 0 }
        $job | Get-CcatJobLog -Stream Output | Should -Be 'out'
        $job | Get-CcatJobLog -Stream Error | Should -Be 'err'
        @($job | Get-CcatJobLog) | Should -Be @('out', 'err')
    }

    It 'passes environment variables exactly' {
        $hostile = "it's `$HOME ``date`` \n `"q`" ünïcødé"
        $job = Submit-CcatJob -ExecutionCommand 'printf "%s" "$HOSTILE"' -Environment @{ HOSTILE = $hostile } | Wait-CcatJob -Timeout 60
        $job | Get-CcatJobLog -Raw | Should -BeExactly $hostile
    }

    It 'measures peak memory of a job that touches 400 MiB within 10%' {
        $cmd = 'python3 -c "b = bytearray(400 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096]); import time; time.sleep(1)"'
        $job = Submit-CcatJob -ExecutionCommand $cmd -JobName mem | Wait-CcatJob -Timeout 120
        $job.Status | Should -Be 'Completed'
        $job.PeakMemoryGb | Should -BeGreaterThan (0.9 * 400 / 1024)
        $job.PeakMemoryGb | Should -BeLessThan (1.1 * 400 / 1024)
    }

    It 'measures the CPU of the whole process tree as the kernel counts it (3 s burnt by two children)' {
        # Each child burns until its own user + system time reaches 1.5 s (Debian's perl by its
        # absolute path: no version-manager shim whose start-up would burn unknown CPU). The
        # shell then prints, with the builtin 'times', the kernel's count of its own CPU and of
        # its waited-for children: the expected figure, start-ups included. A runner that counted
        # only the shell would read ~0; one that missed a child ~1.5 s.
        $burn = "/usr/bin/perl -e 'my @t; do { `$x++ for 1..20000; @t = times } while (`$t[0] + `$t[1] < 1.5)'"
        $job = Submit-CcatJob -ExecutionCommand "$burn & $burn & wait; times" -JobName cpu | Wait-CcatJob -Timeout 120
        $job.Status | Should -Be 'Completed'
        $reported = [regex]::Matches((Get-CcatJobLog -JobId $job.JobId -Stream Output), '(\d+)m([\d.]+)s') |
            ForEach-Object { 60 * [double]$_.Groups[1].Value + [double]::Parse($_.Groups[2].Value, [cultureinfo]::InvariantCulture) } |
            Measure-Object -Sum
        $reported.Count | Should -Be 4 # shell user, system; children user, system
        $reported.Sum | Should -BeGreaterOrEqual 3.0
        # times() truncates each of its four figures to clock ticks (1/100 s); the shell's exit
        # after it is all the runner may count beyond them
        ($job.CpuHours * 3600) | Should -BeGreaterOrEqual ($reported.Sum - 0.02)
        ($job.CpuHours * 3600) | Should -BeLessOrEqual ($reported.Sum + 0.08)
    }

    It 'is waited for from a second process and cancelled from a third; its children are gone' {
        $marker = Get-Random -Minimum 200000 -Maximum 900000
        $submitted = Invoke-InOtherProcess "Submit-CcatJob -ExecutionCommand 'sleep $marker & sleep $marker & wait' -JobName cross"
        # enums cross the process boundary as numbers or names: cast back
        [CcatWorkflow.HPCJobStatus]$submitted.Status | Should -Be 'Pending'
        $id = $submitted.JobId
        # the submitting process has exited; the job keeps running
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-ProcessCount "sleep $marker") -lt 2 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        Get-ProcessCount "sleep $marker" | Should -Be 2
        (Get-CcatJobStatus -JobId $id -Backend Local).Status | Should -Be 'Running'

        $waitOut = Join-Path $TestDrive "wait-$Store.xml"
        $waitLog = Join-Path $TestDrive "wait-$Store.verbose"
        $waiter = Start-OtherProcess "Wait-CcatJob -JobId $id -Backend Local -Timeout 120 -Verbose 4>> '$waitLog'" $waitOut
        # waiting for real: it has asked the backend (each poll writes a verbose record)
        Wait-Until { ((Test-Path $waitLog) -and (Get-Item $waitLog).Length -gt 0) -or $waiter.HasExited } 'the waiter polled' -Seconds 60
        $waiter.HasExited | Should -BeFalse

        $stopped = Invoke-InOtherProcess "Stop-CcatJob -JobId $id -Backend Local -Confirm:`$false -PassThru"
        $stopped.JobId | Should -Be $id

        $waiter.WaitForExit(60000) | Should -BeTrue
        $final = Import-Clixml $waitOut
        [CcatWorkflow.HPCJobStatus]$final.Status | Should -Be 'Failed'
        [CcatWorkflow.HPCJobReason]$final.Reason | Should -Be 'Cancelled'
        Get-ProcessCount "sleep $marker" | Should -Be 0
    }

    It 'treats cancelling a finished job as nothing to do' {
        $job = Submit-CcatJob -ExecutionCommand 'true' | Wait-CcatJob -Timeout 60
        $errors = @()
        $job | Stop-CcatJob -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 0
        ($job | Get-CcatJobStatus).Status | Should -Be 'Completed'
    }

    It 'reports an unknown job as JobNotFound with the id as target' {
        $id = [guid]::NewGuid().ToString()
        $errors = @()
        $out = Get-CcatJobStatus -JobId $id -Backend Local -ErrorVariable errors -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errors[0].FullyQualifiedErrorId | Should -Be 'JobNotFound,CcatWorkflow.Commands.GetCcatJobStatusCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].TargetObject | Should -Be $id
    }

    It 'reads only the end of a large log with -Tail' {
        $job = Submit-CcatJob -ExecutionCommand 'seq 1 200000' -JobName big | Wait-CcatJob -Timeout 60
        $job | Get-CcatJobLog -Tail 3 | Should -Be @('199998', '199999', '200000')
    }

    It 'answers many piped jobs in input order' {
        $jobs = 1..12 | ForEach-Object { Submit-CcatJob -ExecutionCommand "exit $($_ % 2)" -JobName "batch-$_" }
        $done = $jobs | Wait-CcatJob -Timeout 120
        $done.Count | Should -Be 12
        $status = $jobs | Get-CcatJobStatus
        $status.JobId | Should -Be $jobs.JobId
        ($status | Where-Object Status -eq 'Failed').Count | Should -Be 6
    }

    It 'lists the jobs it submitted, newest first, with filters' {
        $a = Submit-CcatJob -ExecutionCommand 'true' -JobName 'list-alpha' | Wait-CcatJob -Timeout 60
        $listed = Get-CcatJob -Backend Local -Name 'list-*'
        $listed.JobId | Should -Contain $a.JobId
        (Get-CcatJob -Backend Local -Status Completed).JobId | Should -Contain $a.JobId
        (Get-CcatJob -Backend Local -Status Running).JobId | Should -Not -Contain $a.JobId
    }

    It 'submits nothing with -WhatIf and shows the command' {
        $before = @(Get-JobDirEntry $script:dir).Count
        $out = Get-WhatIfText "Submit-CcatJob -ExecutionCommand 'echo whatif' -JobName wi -WhatIf"
        $out | Should -Match 'What if: Submitting job .wi. on Local'
        $out | Should -Match 'echo whatif'
        @(Get-JobDirEntry $script:dir).Count | Should -Be $before
        (Get-CcatJob -Backend Local -Name wi) | Should -BeNullOrEmpty
    }

    It 'cancels nothing with -WhatIf' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 30' -JobName wi-stop
        $job | Stop-CcatJob -WhatIf
        ($job | Get-CcatJobStatus).Status | Should -BeIn 'Pending', 'Running'
        $job | Stop-CcatJob -Confirm:$false
        ($job | Wait-CcatJob -Timeout 60).Reason | Should -Be 'Cancelled'
    }

    It 'follows a log until the job ends' {
        $job = Submit-CcatJob -ExecutionCommand 'for i in 1 2 3; do echo line$i; sleep 0.3; done'
        @($job | Get-CcatJobLog -Follow) | Should -Be @('line1', 'line2', 'line3')
    }

    It 'splits CRLF lines the same way with and without -Follow' {
        $job = Submit-CcatJob -ExecutionCommand 'printf "a\r\nb\r\n"' | Wait-CcatJob -Timeout 60
        @($job | Get-CcatJobLog) | Should -Be @('a', 'b')
        @($job | Get-CcatJobLog -Follow) | Should -Be @('a', 'b')
    }
}

Describe 'The container form on the Local backend' -Tag 'Service', 'Local' {
    BeforeAll {
        $script:dir = Use-Store 'file' 'container'
        $env:CCAT_WORKFLOW_MANAGER_APPTAINER_PATH = Join-Path $script:infra 'apptainer/bin/apptainer'
        $script:in = New-Item -ItemType Directory (Join-Path $TestDrive 'in')
        $script:outDir = New-Item -ItemType Directory (Join-Path $TestDrive 'out')
        $script:work = New-Item -ItemType Directory (Join-Path $TestDrive 'work')
        Set-Content (Join-Path $script:in 'scan.dat') 'raw'
        $script:manifestFile = Join-Path $TestDrive 'cfg/manifest.json'
        New-Item -ItemType Directory (Split-Path $script:manifestFile) | Out-Null
        Set-Content $script:manifestFile '{"step": "calibrate"}'
        $script:sif = Join-Path $TestDrive 'reduce.sif'
        Set-Content $script:sif 'not a real image: the stand-in runs the host userland'
    }

    It 'binds input read-only, output writable, the manifest under /workflow/config, and sets WORKFLOW_OUTPUT_DIR' {
        $inner = 'cat /workflow/input/scan.dat; cat /workflow/config/manifest.json; ' +
            'if touch /workflow/input/x 2>/dev/null; then echo input-writable; else echo input-readonly; fi; ' +
            'echo product > "$WORKFLOW_OUTPUT_DIR/result.txt"; echo "$WORKFLOW_OUTPUT_DIR"'
        $job = Submit-CcatJob -SifPath $script:sif -ContainerCommand 'sh', '-c', $inner -InputDir $script:in `
            -OutputDir $script:outDir -WorkspaceDir $script:work -ManifestPath $script:manifestFile -JobName container |
            Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Completed'
        $log = @($job | Get-CcatJobLog -Stream Output)
        $log | Should -Be @('raw', '{"step": "calibrate"}', 'input-readonly', '/workflow/output')
        Get-Content (Join-Path $script:outDir 'result.txt') | Should -Be 'product'
        Test-Path (Join-Path $script:in 'x') | Should -BeFalse
    }

    It 'shows the apptainer line it would run with -WhatIf' {
        $text = Get-WhatIfText "Submit-CcatJob -SifPath '$($script:sif)' -ContainerCommand 'python3', 'it''s.py' -InputDir '$($script:in)' -WhatIf"
        $text | Should -Match ([regex]::Escape("--bind $($script:in):/workflow/input:ro"))
        $text | Should -Match ([regex]::Escape("reduce.sif python3 "))
    }
}

Describe 'Local backend: working directory and WORKFLOW_OUTPUT_DIR' -Tag 'Service', 'Local' {
    BeforeAll { $script:dir = Use-Store 'file' 'cwd' }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'starts the command in -WorkingDirectory (relative to the current location), by default in the job''s own folder' {
        $here = New-Item -ItemType Directory (Join-Path $TestDrive 'work here')
        Push-Location $TestDrive
        try { $a = Submit-CcatJob -ExecutionCommand 'pwd' -WorkingDirectory 'work here' -JobName cwd | Wait-CcatJob -Timeout 60 }
        finally { Pop-Location }
        $a.Status | Should -Be 'Completed'
        ($a | Get-CcatJobLog -Stream Output) | Should -Be $here.FullName
        $b = Submit-CcatJob -ExecutionCommand 'pwd' -JobName cwd-default | Wait-CcatJob -Timeout 60
        ($b | Get-CcatJobLog -Stream Output) | Should -Be (Join-Path $script:dir $b.JobId)
    }

    It 'refuses a -WorkingDirectory that does not exist, and submits nothing' {
        $before = (Get-JobDirEntry $script:dir).Count
        Submit-CcatJob -ExecutionCommand 'true' -WorkingDirectory (Join-Path $TestDrive 'missing') -JobName nocwd -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSubmission,*'
        $errors[0].Exception.Message | Should -BeLike '*missing*not a directory*'
        (Get-JobDirEntry $script:dir).Count | Should -Be $before
    }

    It 'gives a plain command with -OutputDir the host directory as WORKFLOW_OUTPUT_DIR, where it can write' {
        $out = New-Item -ItemType Directory (Join-Path $TestDrive 'plain-out')
        $job = Submit-CcatJob -ExecutionCommand 'echo product > "$WORKFLOW_OUTPUT_DIR/result.txt" && echo "$WORKFLOW_OUTPUT_DIR"' `
            -OutputDir $out.FullName -JobName plain-out | Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Completed'
        ($job | Get-CcatJobLog -Stream Output) | Should -Be $out.FullName
        Get-Content (Join-Path $out 'result.txt') | Should -Be 'product'
    }
}

Describe 'Local backend: the native runner and its managed fallback' -Tag 'Service', 'Local' {
    BeforeAll {
        $script:dir = Use-Store 'file' 'runner'
        $script:rid = [Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    }
    AfterEach { Remove-Item env:CCAT_WORKFLOW_MANAGER_LOCAL_RUNNER -ErrorAction Ignore }

    It 'ships a native runner for this machine and uses it: Get-CcatConfiguration and the job''s record say so' {
        $native = Join-Path (Split-Path (Get-ModuleManifestPath)) "deps/native/$script:rid/ccat-runner"
        Test-Path $native | Should -BeTrue
        $inUse = Get-CcatConfiguration LOCAL_RUNNER_IN_USE
        $inUse.Value | Should -Be 'native'
        $inUse.Source | Should -Be 'Detected'
        $inUse.Origin | Should -Be $native
        $job = Submit-CcatJob -ExecutionCommand 'echo native' -JobName native | Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Completed'
        $state = Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json
        $state.runner | Should -Be 'native'
        (Get-Content (Join-Path $script:dir "$($job.JobId)/record.json") | ConvertFrom-Json).runner | Should -Be 'native'
    }

    It 'starts the runner with no shell in between: its parent is the submitting process' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 60' -JobName direct
        try {
            $state = Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json
            $stat = (Get-Content "/proc/$($state.runner_pid)/stat" -Raw) -replace '^.*\) ', ''
            [int]($stat -split ' ')[1] | Should -Be $PID
            (Get-Content "/proc/$($state.runner_pid)/comm" -Raw).Trim() | Should -Be 'ccat-runner'
        }
        finally { $job | Stop-CcatJob -Confirm:$false }
    }

    It 'runs the managed runner with LOCAL_RUNNER=managed, and the record says so' {
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_RUNNER = 'managed'
        (Get-CcatConfiguration LOCAL_RUNNER_IN_USE).Value | Should -Be 'managed'
        $job = Submit-CcatJob -ExecutionCommand 'echo managed' -JobName managed | Wait-CcatJob -Timeout 60
        $job.Status | Should -Be 'Completed'
        (Get-Content (Join-Path $script:dir "$($job.JobId)/runner.json") | ConvertFrom-Json).runner | Should -Be 'managed'
        ($job | Get-CcatJobLog) | Should -Be 'managed'
    }

    It 'refuses an unknown LOCAL_RUNNER value naming the choices' {
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_RUNNER = 'fastest'
        { Submit-CcatJob -ExecutionCommand 'true' -ErrorAction Stop } | Should -Throw '*LOCAL_RUNNER*auto, native, managed*'
    }
}

Describe 'Ctrl+C' -Tag 'Service', 'Local' {
    BeforeAll { $script:dir = Use-Store 'file' 'ctrlc' }
    AfterAll { Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false }

    It 'stops Wait-CcatJob promptly and leaves the job running' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 60' -JobName ctrlc
        $ps = [powershell]::Create()
        $null = $ps.AddCommand('Import-Module').AddArgument($script:manifest).AddStatement().
            AddCommand('Wait-CcatJob').AddParameter('InputObject', $job).AddParameter('Verbose', $true)
        $handle = $ps.BeginInvoke()
        # waiting for real: it has asked the backend (each poll writes a verbose record)
        Wait-Until { $ps.Streams.Verbose.Count -gt 0 -or $handle.IsCompleted } 'Wait-CcatJob polled' -Seconds 60
        $handle.IsCompleted | Should -BeFalse
        $ps.Stop()   # what Ctrl+C does to the pipeline
        $handle.AsyncWaitHandle.WaitOne(10000) | Should -BeTrue
        $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        ($job | Get-CcatJobStatus).Status | Should -Be 'Running'
        $job | Stop-CcatJob -Confirm:$false
        ($job | Wait-CcatJob -Timeout 60).Reason | Should -Be 'Cancelled'
        $ps.Dispose()
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
