# -WorkingDirectory and WORKFLOW_OUTPUT_DIR on the Slurm backend, through the cmdlets, against the
# real single-node cluster of tests/infra/slurm (started here if it is not up).

BeforeAll {
    & bash (Join-Path $PSScriptRoot '../infra/slurm/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Join-Path $PSScriptRoot '../../out/CcatWorkflow/CcatWorkflow.psd1') -Force

    $script:work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-slurm-wd-$PID"
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Reset-CcatEnvironment -JobDir (Join-Path $script:work 'local-jobs')
    $script:jobDir = Join-Path $script:work 'slurm-jobs'
    $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT = 'cli'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $script:jobDir
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = '1'

    function Wait-Slurm([Parameter(ValueFromPipeline)] $Job, [int] $Timeout = 150) {
        process { $Job | Wait-CcatJob -Timeout $Timeout }
    }
}

AfterAll {
    # Nothing of ours may keep running on the shared test cluster (asked while SLURM_JOB_DIR still
    # names our folder, so the jobs are recognised as ours).
    $live = @(Get-CcatJob -Backend Slurm -Status Pending, Running -ErrorAction Ignore)
    if ($live.Count -gt 0) { $live | Stop-CcatJob -Confirm:$false -ErrorAction Ignore }
    Remove-Item -Recurse -Force $script:work -ErrorAction Ignore
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'Slurm backend: working directory and WORKFLOW_OUTPUT_DIR' -Tag 'Service', 'Slurm' {
    It 'starts the command in -WorkingDirectory, by default in the job''s folder; the job stays recognised as ours' {
        $here = New-Item -ItemType Directory -Force (Join-Path $script:work 'work here')
        $a = Submit-CcatJob -ExecutionCommand 'pwd' -WorkingDirectory $here.FullName -JobName 'pester cwd'
        $b = Submit-CcatJob -ExecutionCommand 'pwd' -JobName 'pester cwd default'
        $ra = $a | Wait-Slurm
        $ra.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        $ra.JobName | Should -Be 'pester cwd' # found through its folder: sacct's WorkDir is still the job folder
        ($a | Get-CcatJobLog -Stream Output) | Should -Be $here.FullName
        $b | Wait-Slurm | Out-Null
        ($b | Get-CcatJobLog -Stream Output) | Should -Be (Get-Item (Join-Path $script:jobDir $b.JobId)).ResolveLinkTarget($true).FullName
    }

    It 'refuses a -WorkingDirectory that does not exist, before sbatch' {
        Submit-CcatJob -ExecutionCommand 'true' -WorkingDirectory (Join-Path $script:work 'missing') -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSubmission,*'
    }

    It 'gives a plain command with -OutputDir the host directory as WORKFLOW_OUTPUT_DIR, where it can write' {
        $out = New-Item -ItemType Directory -Force (Join-Path $script:work 'plain-out')
        $job = Submit-CcatJob -ExecutionCommand 'echo product > "$WORKFLOW_OUTPUT_DIR/result.txt" && echo "$WORKFLOW_OUTPUT_DIR"' -OutputDir $out.FullName -JobName 'pester out'
        ($job | Wait-Slurm).Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Completed)
        ($job | Get-CcatJobLog -Stream Output) | Should -Be $out.FullName
        Get-Content (Join-Path $out 'result.txt') | Should -Be 'product'
    }
}
