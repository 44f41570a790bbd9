# The runbook's logic, with the cmdlets mocked: no backend is asked. Run by build.ps1's Pester
# task. Two things to know when mocking CcatWorkflow:
#  - a job piped to Wait-CcatJob, Get-CcatJobLog, ... binds to -JobId and -Backend by property
#    name; a mock body reads $JobId (an array of one id), not $InputObject;
#  - a mock runs once per piped object (Should -Invoke counts one call per job).
BeforeAll {
    $modulePath = Join-Path $PSScriptRoot '../../out/CcatWorkflow/CcatWorkflow.psd1'
    Import-Module $modulePath -Force
    $script:runbook = Join-Path $PSScriptRoot 'Invoke-Calibration.ps1'

    # Import-Module inside the runbook would re-import from PSModulePath: point it at the build.
    Mock Import-Module { }

    Mock Submit-CcatJob { New-CcatJobInfo -JobId "id-$JobName" -Backend Local -Status Pending -JobName $JobName }
    Mock Get-CcatJobLog { "traceback of $JobId" }
}

Describe 'Invoke-Calibration' -Tag 'Unit' {
    It 'exits 0 when every job completes, submitting one job per scan' {
        Mock Wait-CcatJob { New-CcatJobInfo -JobId $JobId[0] -Backend Local -Status Completed -ExitCode 0 }
        $summary = & $script:runbook -Scan 1, 2, 3
        $LASTEXITCODE | Should -Be 0
        $summary.Completed | Should -Be 3
        Should -Invoke Submit-CcatJob -Times 3 -Exactly
        Should -Invoke Submit-CcatJob -Times 1 -Exactly -ParameterFilter { $ExecutionCommand -eq 'calibrate --scan 2' -and $JobName -eq 'calib-2' }
        Should -Invoke Wait-CcatJob -Times 3 -Exactly   # once per piped job
        Should -Invoke Get-CcatJobLog -Times 0 -Exactly
    }

    It 'exits 1 and reports the failed job with its log' {
        Mock Wait-CcatJob {
            $status = if ($JobId[0] -eq 'id-calib-2') { 'Failed' } else { 'Completed' }
            New-CcatJobInfo -JobId $JobId[0] -Backend Local -Status $status -Reason ($status -eq 'Failed' ? 'NonZeroExit' : 'None') -ExitCode ($status -eq 'Failed' ? 3 : 0) -JobName ($JobId[0] -replace '^id-')
        }
        $warnings = $null
        $summary = & $script:runbook -Scan 1, 2, 3 -WarningVariable warnings -WarningAction SilentlyContinue
        $LASTEXITCODE | Should -Be 1
        $summary.Failed | Should -Be 1
        ($warnings -join "`n") | Should -Match 'calib-2 \(Local id-calib-2\) failed: NonZeroExit, exit code 3'
        ($warnings -join "`n") | Should -Match 'traceback of id-calib-2'
        Should -Invoke Get-CcatJobLog -Times 1 -Exactly -ParameterFilter { $JobId -eq 'id-calib-2' -and $Stream -eq 'Error' }
    }

    It 'exits 2 when a job does not finish in time' {
        Mock Wait-CcatJob {
            if ($JobId[0] -eq 'id-calib-1') { Write-Error -Message 'did not finish within 60 s' -ErrorId WaitTimeout }
            else { New-CcatJobInfo -JobId $JobId[0] -Status Completed }
        }
        $summary = & $script:runbook -Scan 1, 2 -TimeoutSeconds 60 -WarningAction SilentlyContinue
        $LASTEXITCODE | Should -Be 2
        $summary.Unknown | Should -Be 1
    }

    It 'exits 3 when nothing could be submitted' {
        Mock Submit-CcatJob { Write-Error -Message 'sbatch: error: invalid partition' -ErrorId SubmissionRejected }
        Mock Wait-CcatJob { }
        & $script:runbook -Scan 1 -WarningAction SilentlyContinue | Out-Null
        $LASTEXITCODE | Should -Be 3
        Should -Invoke Wait-CcatJob -Times 0 -Exactly
    }
}
