# HPC jobs as PowerShell jobs: Submit-CcatJob -AsJob and Wait-CcatJob -AsJob return CcatJob
# objects that Get-Job, Wait-Job, Receive-Job and Stop-Job work on, also from a new session.
# Jobs that must still be running when a check runs wait for a flag file the test creates, so no
# check depends on how fast the machine is.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:manifest = Get-ModuleManifestPath
    Import-Module $script:manifest -Force
    $script:pwshDll = Join-Path $PSHOME 'pwsh.dll'

    # A command that waits until the test creates $Flag, then prints its lines.
    function Get-FlagCommand([string] $Flag, [string] $Then = 'echo released') {
        "while [ ! -e '$Flag' ]; do sleep 0.1; done; $Then"
    }

    # Runs a script in a new pwsh process with the module and this process's CCAT_* environment;
    # returns its output objects (through CLIXML).
    function Invoke-InNewSession([string] $Script) {
        $file = Join-Path $TestDrive "$([guid]::NewGuid()).ps1"
        Set-Content $file "Import-Module '$script:manifest'; `$ErrorActionPreference = 'Stop'; $Script"
        $out = & dotnet $script:pwshDll -NoProfile -NonInteractive -OutputFormat xml -File $file
        $LASTEXITCODE | Should -Be 0 -Because ($out | Out-String)
        $out
    }
}

Describe 'PowerShell jobs on the Local backend' {
    BeforeAll {
        Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs')
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'Local'
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '2'
        $script:flags = Join-Path $TestDrive 'flags'
        New-Item -ItemType Directory -Force $script:flags | Out-Null
    }
    AfterAll {
        Get-CcatJob -Backend Local -Status Pending, Running | Stop-CcatJob -Confirm:$false
    }

    It 'Submit-CcatJob -AsJob returns a CcatJob that is Running while the HPC job runs, then Completed' {
        $flag = Join-Path $script:flags 'completed'
        $job = Submit-CcatJob -ExecutionCommand (Get-FlagCommand $flag 'echo hello; echo oops >&2') -JobName psjob-ok -AsJob
        $job | Should -BeOfType ([System.Management.Automation.Job])
        $job.PSJobTypeName | Should -Be 'CcatJob'
        $job.Name | Should -Be 'psjob-ok'
        $job.Location | Should -Be 'Local'
        $job.State | Should -Be 'Running'
        New-Item $flag | Out-Null
        $job | Wait-Job -Timeout 120 | Should -Be $job
        $job.State | Should -Be 'Completed'
    }

    It 'Receive-Job returns the log lines (standard output then standard error, as strings), then the final HPCJobInfo' {
        $job = Submit-CcatJob -ExecutionCommand 'echo one; echo bad >&2; echo two' -JobName psjob-log -AsJob
        $out = @(Receive-Job $job -Wait)
        $out.Count | Should -Be 4
        $out[0..2] | Should -Be 'one', 'two', 'bad'
        $out[-1] | Should -BeOfType ([CcatWorkflow.HPCJobInfo])
        $out[-1].Status | Should -Be 'Completed'
        $out[-1].JobId | Should -Be $job.JobId
        $job.HasMoreData | Should -BeFalse
    }

    It 'a job that exits 3 is Failed, with a JobFailed reason that names the exit code' {
        $job = Submit-CcatJob -ExecutionCommand 'echo before; exit 3' -JobName psjob-fail -AsJob
        $job | Wait-Job -Timeout 120 | Out-Null
        $job.State | Should -Be 'Failed'
        $job.JobStateInfo.Reason | Should -BeOfType ([CcatWorkflow.CcatWorkflowException])
        $job.JobStateInfo.Reason.ErrorId | Should -Be 'JobFailed'
        $job.JobStateInfo.Reason.Message | Should -Match 'exit code 3'
        $out = @(Receive-Job $job -ErrorAction SilentlyContinue)
        $out[0] | Should -Be 'before'
        $out[-1].ExitCode | Should -Be 3
    }

    It 'Stop-Job cancels the HPC job: the job is Stopped and Get-CcatJobStatus reads it cancelled' {
        $job = Submit-CcatJob -ExecutionCommand (Get-FlagCommand (Join-Path $script:flags 'never')) -JobName psjob-stop -AsJob
        $job.State | Should -Be 'Running'
        Stop-Job $job
        $job.State | Should -Be 'Stopped'
        $status = Get-CcatJobStatus -JobId $job.JobId -Backend Local
        $status.Status | Should -Be 'Failed'
        $status.Reason | Should -Be 'Cancelled'
    }

    It 'Wait-Job -Any returns the first job to end' {
        $slow = Submit-CcatJob -ExecutionCommand (Get-FlagCommand (Join-Path $script:flags 'slow')) -JobName psjob-slow -AsJob
        $fast = Submit-CcatJob -ExecutionCommand 'echo fast' -JobName psjob-fast -AsJob
        $first = $slow, $fast | Wait-Job -Any -Timeout 120
        $first | Should -Be $fast
        $slow.State | Should -Be 'Running'
        Stop-Job $slow
        $slow.State | Should -Be 'Stopped'
    }

    It 'Receive-Job -Wait writes the lines of a job still running when it is called, and ends with the job' {
        $flag = Join-Path $script:flags 'receive'
        $job = Submit-CcatJob -ExecutionCommand (Get-FlagCommand $flag 'echo late') -JobName psjob-receive -AsJob
        $job.State | Should -Be 'Running'
        # The flag is created by a thread job, most likely once this thread is inside Receive-Job -Wait.
        $helper = Start-ThreadJob { Start-Sleep -Seconds 1; New-Item $using:flag } -ArgumentList $flag
        $out = @(Receive-Job $job -Wait)
        $helper | Wait-Job | Remove-Job
        $out[0] | Should -Be 'late'
        $out[-1].Status | Should -Be 'Completed'
        $job.State | Should -Be 'Completed'
    }

    It 'Wait-CcatJob -AsJob follows jobs given as HPCJobInfo and returns a CcatJob for each' {
        $infos = 1..2 | ForEach-Object { Submit-CcatJob -ExecutionCommand "echo n$_" -JobName "psjob-wait-$_" }
        $jobs = @($infos | Wait-CcatJob -AsJob)
        $jobs.Count | Should -Be 2
        @($jobs.JobId) | Should -Be @($infos.JobId)
        $jobs | Wait-Job -Timeout 120 | Out-Null
        @($jobs.State) | Should -Be 'Completed', 'Completed'
        @(Receive-Job $jobs[1])[0] | Should -Be 'n2'
    }

    It 'Wait-CcatJob -AsJob with -Timeout is refused: Wait-Job -Timeout is the way' {
        $info = Submit-CcatJob -ExecutionCommand 'true' -JobName psjob-refused
        { $info | Wait-CcatJob -AsJob -Timeout 5 -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidParameterCombination,CcatWorkflow.Commands.WaitCcatJobCommand'
    }

    It 'Get-Job lists them; Remove-Job forgets a job without touching the HPC job' {
        $job = Submit-CcatJob -ExecutionCommand 'echo listed' -JobName psjob-listed -AsJob
        $job | Wait-Job -Timeout 120 | Out-Null
        Get-Job -Name psjob-listed | Should -Be $job
        Get-Job -Id $job.Id | Should -Be $job
        Get-Job -InstanceId $job.InstanceId | Should -Be $job
        Remove-Job $job
        Get-Job -Name psjob-listed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-CcatJobStatus -JobId $job.JobId -Backend Local).Status | Should -Be 'Completed'
    }

    It 'a new session lists a job another process submitted; Receive-Job -Wait and Wait-Job work on it' {
        $flag = Join-Path $script:flags 'other-process'
        $id = Invoke-InNewSession "(Submit-CcatJob -ExecutionCommand `"$(Get-FlagCommand $flag 'echo from-elsewhere')`" -JobName psjob-other).JobId"
        $id | Should -Not -BeNullOrEmpty
        $seen = Invoke-InNewSession @"
`$j = Get-Job | Where-Object JobId -eq '$id'
[pscustomobject]@{ Type = `$j.PSJobTypeName; State = [string]`$j.State; Name = `$j.Name; Count = @(`$j).Count }
"@
        $seen.Count | Should -Be 1
        $seen.Type | Should -Be 'CcatJob'
        $seen.Name | Should -Be 'psjob-other'
        $seen.State | Should -Be 'Running'
        New-Item $flag | Out-Null
        $received = @(Invoke-InNewSession @"
`$j = Get-Job -Name psjob-other
`$null = `$j | Wait-Job -Any -Timeout 120
[string]`$j.State
Receive-Job `$j -Wait | ForEach-Object { if (`$_ -is [CcatWorkflow.HPCJobInfo]) { 'info:' + `$_.Status } else { 'line:' + `$_ } }
"@)
        $received | Should -Be 'Completed', 'line:from-elsewhere', 'info:Completed'
    }

    It 'Stop-Job in a new session cancels a job another process submitted' {
        $id = Invoke-InNewSession "(Submit-CcatJob -ExecutionCommand `"$(Get-FlagCommand (Join-Path $script:flags 'never-other'))`" -JobName psjob-stop-other).JobId"
        $state = Invoke-InNewSession "Get-Job -Name psjob-stop-other | Stop-Job -PassThru | ForEach-Object { [string]`$_.State }"
        $state | Should -Be 'Stopped'
        (Get-CcatJobStatus -JobId $id -Backend Local).Reason | Should -Be 'Cancelled'
    }
}

Describe 'PowerShell jobs on the Slurm backend' {
    BeforeAll {
        & bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh')
        if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
        $work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-psjobs-slurm-$PID"
        Remove-Item -Recurse -Force $work -ErrorAction Ignore
        Reset-CcatEnvironment -JobDir (Join-Path $work 'local-jobs')
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
        $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = 'cli'
        $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = Join-Path $work 'slurm-jobs'
        $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'
    }

    It 'a Slurm job submitted -AsJob completes, with its log lines and final status; Stop-Job cancels another' {
        $job = Submit-CcatJob -ExecutionCommand 'echo slurm-says-hi' -JobName psjob-slurm -AsJob
        $job.Location | Should -Be 'Slurm'
        $long = Submit-CcatJob -ExecutionCommand 'sleep 300' -JobName psjob-slurm-stop -AsJob
        Stop-Job $long
        $long.State | Should -Be 'Stopped'
        $job | Wait-Job -Timeout 300 | Out-Null
        $job.State | Should -Be 'Completed'
        $out = @(Receive-Job $job)
        $out | Should -Contain 'slurm-says-hi'
        $out[-1].Status | Should -Be 'Completed'
        # scancel is asynchronous: the scheduler's own verdict follows shortly.
        $final = Get-CcatJobStatus -JobId $long.JobId -Backend Slurm | Wait-CcatJob -Timeout 120
        $final.Reason | Should -Be 'Cancelled'
    }
}
