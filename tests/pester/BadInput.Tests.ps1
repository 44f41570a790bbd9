# A table of bad inputs for each cmdlet: each gives an ErrorRecord with a stable ErrorId, a
# category and the job as target — and nothing is submitted.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    $script:jobDir = Join-Path $TestDrive 'jobs'
    Reset-CcatEnvironment -JobDir $script:jobDir

    # Runs the action with non-terminating errors left non-terminating; splits output and errors.
    function Invoke-Captured([scriptblock] $Action) {
        $ErrorActionPreference = 'Continue'
        $all = @(& $Action 2>&1)
        [pscustomobject]@{
            Output = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
            Errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        }
    }
}

Describe 'Submit-CcatJob refuses bad input before anything is submitted' -Tag 'Unit', 'Local' {
    It '<Case>' -ForEach @(
        @{ Case = 'an unknown resource key'; Params = @{ Resources = @{ cores = 4 } }; Id = 'InvalidResourceRequirement'; Message = "*Unknown resource requirement 'cores'*" }
        @{ Case = 'a non-number'; Params = @{ Resources = @{ cpu = 'four' } }; Id = 'InvalidResourceRequirement'; Message = "*'cpu' must be a number*" }
        @{ Case = 'NaN memory'; Params = @{ Resources = @{ memory_gb = [double]::NaN } }; Id = 'InvalidResourceRequirement'; Message = "*'memory_gb' must be a finite number*" }
        @{ Case = 'zero cpus'; Params = @{ Resources = @{ cpu = 0 } }; Id = 'InvalidResourceRequirement'; Message = "*'cpu' must be greater than zero*" }
        @{ Case = 'negative hours'; Params = @{ Resources = @{ time_hours = -1 } }; Id = 'InvalidResourceRequirement'; Message = "*'time_hours' must be greater than zero*" }
        @{ Case = 'an absurd memory size'; Params = @{ Resources = @{ memory_gb = 1e7 } }; Id = 'InvalidResourceRequirement'; Message = "*'memory_gb' is 10000000, more than*" }
        @{ Case = 'a fractional cpu count'; Params = @{ Resources = @{ cpu = 1.5 } }; Id = 'InvalidResourceRequirement'; Message = "*'cpu' must be a whole number*" }
        @{ Case = 'an environment name with ='; Params = @{ Environment = @{ 'A=B' = '1' } }; Id = 'InvalidEnvironmentVariable'; Message = "*'A=B' contains '='*" }
        @{ Case = 'an environment name with NUL'; Params = @{ Environment = @{ "A`0B" = '1' } }; Id = 'InvalidEnvironmentVariable'; Message = '*NUL*' }
        @{ Case = 'an empty environment name'; Params = @{ Environment = @{ '' = '1' } }; Id = 'InvalidEnvironmentVariable'; Message = '*empty name*' }
        @{ Case = 'a job name with a newline'; Params = @{ JobName = "two`nlines" }; Id = 'InvalidSubmission'; Message = '*control characters*' }
        @{ Case = 'a command with NUL'; Params = @{ ExecutionCommand = "echo`0" }; Id = 'InvalidSubmission'; Message = '*NUL*' }
    ) {
        $p = @{ ExecutionCommand = 'echo never'; JobName = 'bad-input' }
        foreach ($k in $Params.Keys) { $p[$k] = $Params[$k] }
        $r = Invoke-Captured { Submit-CcatJob @p }
        $r.Output.Count | Should -Be 0
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -Be "$Id,CcatWorkflow.Commands.SubmitCcatJobCommand"
        $r.Errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Errors[0].TargetObject | Should -Be $p.JobName
        $r.Errors[0].Exception.Message | Should -BeLike $Message
        Get-JobDirEntry $script:jobDir | Should -BeNullOrEmpty
    }

    It 'refuses <Case> at binding, before the command runs' -ForEach @(
        @{ Case = 'an empty command'; Params = @{ ExecutionCommand = '' }; Id = 'ParameterArgumentValidationError' }
        @{ Case = 'an unknown backend'; Params = @{ ExecutionCommand = 'true'; Backend = 'Pbs' }; Id = 'CannotConvertArgumentNoMessage' }
        @{ Case = 'a container command without a SIF'; Params = @{ ContainerCommand = 'python' }; Id = 'MissingMandatoryParameter' }
        @{ Case = 'both forms at once'; Params = @{ ExecutionCommand = 'true'; ContainerCommand = 'python'; SifPath = '/x.sif' }; Id = 'AmbiguousParameterSet' }
    ) {
        { Submit-CcatJob @Params -ErrorAction Stop } | Should -Throw -ErrorId "$Id,CcatWorkflow.Commands.SubmitCcatJobCommand"
        Get-JobDirEntry $script:jobDir | Should -BeNullOrEmpty
    }

    It 'refuses a container path apptainer --bind cannot carry' {
        $r = Invoke-Captured { Submit-CcatJob -SifPath /tmp/x.sif -ContainerCommand python -InputDir '/data/a:b' -JobName colon }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSubmission,*'
        $r.Errors[0].Exception.Message | Should -BeLike "*':' or ','*"
        Get-JobDirEntry $script:jobDir | Should -BeNullOrEmpty
    }

    It 'keeps going after a bad row of pipeline input and submits nothing for that row' {
        $rows = @(
            [pscustomobject]@{ ExecutionCommand = 'true'; JobName = 'row1'; Resources = @{ cpu = -1 } }
            [pscustomobject]@{ ExecutionCommand = 'true'; JobName = 'row2'; Resources = @{ gpus = 1 } }
        )
        $r = Invoke-Captured { $rows | Submit-CcatJob }
        $r.Errors.Count | Should -Be 2
        $r.Errors.TargetObject | Should -Be @('row1', 'row2')
        Get-JobDirEntry $script:jobDir | Should -BeNullOrEmpty
    }
}

Describe 'Job cmdlets refuse bad ids' -Tag 'Unit', 'Local' {
    It '<Command> with an empty id is refused at binding' -ForEach @(
        @{ Command = 'Get-CcatJobStatus' }, @{ Command = 'Stop-CcatJob' }, @{ Command = 'Get-CcatJobLog' }, @{ Command = 'Wait-CcatJob' }
    ) {
        { & $Command -JobId '' -ErrorAction Stop } | Should -Throw -ErrorId '*ParameterArgumentValidationError*'
    }

    It '<Command> with an unknown backend name is refused at binding' -ForEach @(
        @{ Command = 'Get-CcatJobStatus' }, @{ Command = 'Stop-CcatJob' }, @{ Command = 'Get-CcatJobLog' }, @{ Command = 'Wait-CcatJob' }
    ) {
        { & $Command -JobId 'x' -Backend 'Pbs' -ErrorAction Stop } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,*'
    }

    It 'Get-CcatJobLog refuses a negative -Tail' {
        { Get-CcatJobLog -JobId x -Tail -1 -ErrorAction Stop } | Should -Throw -ErrorId '*ParameterArgumentValidationError*'
    }

    It 'Get-CcatJob refuses <Case> at binding' -ForEach @(
        @{ Case = 'an unknown backend'; Params = @{ Backend = 'Pbs' }; Id = 'CannotConvertArgumentNoMessage' }
        @{ Case = 'an unknown status'; Params = @{ Status = 'Done' }; Id = 'CannotConvertArgumentNoMessage' }
        @{ Case = '-First 0'; Params = @{ First = 0 }; Id = 'ParameterArgumentValidationError' }
        @{ Case = 'an empty name'; Params = @{ Name = '' }; Id = 'ParameterArgumentValidationError' }
    ) {
        { Get-CcatJob @Params -ErrorAction Stop } | Should -Throw -ErrorId "$Id,CcatWorkflow.Commands.GetCcatJobCommand"
    }

    It 'Get-CcatConfiguration refuses an empty name at binding' {
        { Get-CcatConfiguration -Name '' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }

    It 'Wait-CcatJob refuses a timeout below -1' {
        { Wait-CcatJob -JobId x -Timeout -5 -ErrorAction Stop } | Should -Throw -ErrorId '*ParameterArgumentValidationError*'
    }
}

Describe 'Every error a user sees carries one of our ErrorIds' -Tag 'Unit', 'Local' {
    BeforeAll {
        # The ids, read from the one place they are defined (no library exception type may appear).
        $source = Get-Content -Raw (Join-Path (Get-RepoRoot) 'src/CcatWorkflow.Core/Errors/CcatErrorId.cs')
        $script:ourIds = @([regex]::Matches($source, '(?m)^\s+([A-Z]\w+),\s*$') | ForEach-Object { $_.Groups[1].Value })
        $script:ourIds.Count | Should -BeGreaterThan 20
        $script:lone = [string][char]0xD800
    }

    It '<Case>' -ForEach @(
        @{ Case = 'Get-CcatJob -Name with an unclosed ['; Action = { Get-CcatJob -Backend Local -Name '[' }; Id = 'InvalidJobName' }
        @{ Case = 'Get-CcatJob -JobId with an unclosed ['; Action = { Get-CcatJob -Backend Local -JobId 'ab[' }; Id = 'InvalidJobName' }
        @{ Case = 'a lone surrogate in an environment name (Kubernetes -WhatIf)'; Action = { Submit-CcatJob -Backend Kubernetes -ExecutionCommand 'true' -Environment @{ "A$($script:lone)" = 'x' } -WhatIf }; Id = 'InvalidEnvironmentVariable' }
        @{ Case = 'a lone surrogate in a secret value'; Action = { Submit-CcatJob -Backend Local -ExecutionCommand 'true' -SecretEnvironment @{ S = "x$($script:lone)" } }; Id = 'InvalidEnvironmentVariable' }
        @{ Case = 'a lone surrogate in the command'; Action = { Submit-CcatJob -Backend Local -ExecutionCommand "echo $($script:lone)" }; Id = 'InvalidSubmission' }
        @{ Case = 'a name both plain and secret'; Action = { Submit-CcatJob -Backend Local -ExecutionCommand 'true' -Environment @{ A = 1 } -SecretEnvironment @{ A = 2 } }; Id = 'InvalidEnvironmentVariable' }
        @{ Case = 'a malformed Local id'; Action = { Get-CcatJobStatus -Backend Local -JobId '../etc' }; Id = 'InvalidJobId' }
        @{ Case = 'a malformed Slurm id'; Action = { Get-CcatJobStatus -Backend Slurm -JobId 'abc' }; Id = 'InvalidJobId' }
        @{ Case = 'a malformed Kubernetes id to cancel'; Action = { Stop-CcatJob -Backend Kubernetes -JobId 'UPPER_case' -Confirm:$false }; Id = 'InvalidJobId' }
        @{ Case = 'the log of a malformed id'; Action = { Get-CcatJobLog -Backend Local -JobId 'nope' }; Id = 'InvalidJobId' }
        @{ Case = 'waiting for a malformed id'; Action = { Wait-CcatJob -Backend Local -JobId 'nope' -Timeout 1 }; Id = 'InvalidJobId' }
        @{ Case = 'an unknown Local job'; Action = { Get-CcatJobStatus -Backend Local -JobId ([guid]::NewGuid().ToString()) }; Id = 'JobNotFound' }
        @{ Case = 'a bad resource value'; Action = { Submit-CcatJob -ExecutionCommand 'true' -Resources @{ cpu = 'x' } }; Id = 'InvalidResourceRequirement' }
        @{ Case = 'a malformed setting'; Action = { $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = 'often'; try { Wait-CcatJob -Backend Local -JobId ([guid]::NewGuid().ToString()) } finally { Remove-Item env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS } }; Id = 'InvalidConfiguration' }
    ) {
        $errors = @()
        try {
            $r = Invoke-Captured $Action
            $errors = $r.Errors
        }
        catch {
            $errors = @($_)
        }

        $errors.Count | Should -BeGreaterThan 0 -Because 'the bad input is reported'
        foreach ($e in $errors) {
            $first = ($e.FullyQualifiedErrorId -split ',')[0]
            $first | Should -BeIn $script:ourIds -Because "'$($e.FullyQualifiedErrorId)' must start with a CcatErrorId ($($e.Exception.Message))"
        }

        ($errors[0].FullyQualifiedErrorId -split ',')[0] | Should -Be $Id
        Get-JobDirEntry $script:jobDir | Should -BeNullOrEmpty
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
