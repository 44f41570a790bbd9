# A fourth backend, registered from test code only, works through every cmdlet: the registry,
# -Backend, HPC_BACKEND, the settings schema and the error messages all come from its
# descriptor (tests/CcatWorkflow.Core.Tests/Contract/InMemoryBackend.cs, compiled here as is).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    Import-Module (Get-ModuleManifestPath) -Force
    Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs')
    # Loads the engine (private load context) before the fake is compiled against it.
    $null = Get-CcatConfiguration HPC_BACKEND
    $moduleDir = Split-Path (Get-ModuleManifestPath)
    $source = Get-Content -Raw (Join-Path (Get-RepoRoot) 'tests/CcatWorkflow.Core.Tests/Contract/InMemoryBackend.cs')
    if (-not ('CcatWorkflow.Core.Tests.Contract.InMemoryBackendDescriptor' -as [type])) {
        # The engine is built for net8.0 and pwsh may run a newer runtime: the version
        # mismatch warnings (CS1701) are expected and silenced.
        Add-Type -TypeDefinition $source -IgnoreWarnings -WarningAction Ignore -ReferencedAssemblies @(
            (Join-Path $moduleDir 'deps/CcatWorkflow.Core.dll'), (Join-Path $moduleDir 'CcatWorkflow.Model.dll'),
            'System.Collections', 'System.Collections.Concurrent', 'System.Linq', 'System.Runtime',
            'System.Text.RegularExpressions', 'System.Threading')
        $descriptor = [CcatWorkflow.Core.Tests.Contract.InMemoryBackendDescriptor]::new()
        # The engine's types live in the module's private load context: reach the registry through the descriptor's base type.
        $registry = $descriptor.GetType().BaseType.Assembly.GetType('CcatWorkflow.Core.BackendRegistry', $true)
        $registry::Register($descriptor)
    }
    $env:CCAT_WORKFLOW_MANAGER_INMEMORY_SECONDS_PER_SLEEP = '0.2'
}

AfterAll {
    Restore-TestEnvironment $script:savedEnvironment
}

Describe 'A backend registered from a test assembly' -Tag 'Unit' {
    It 'submits, reports, waits for, reads and lists its jobs through the cmdlets' {
        $job = Submit-CcatJob -ExecutionCommand 'echo fourth-backend; exit 0' -JobName 'fourth' -Backend InMemory
        $job.Backend.Name | Should -Be 'InMemory'
        $job.JobId | Should -Match '^mem-\d+$'
        $done = $job | Wait-CcatJob -Timeout 60
        $done.Status | Should -Be 'Completed'
        $done.ExitCode | Should -Be 0
        ($job | Get-CcatJobLog) | Should -Contain 'fourth-backend'
        (Get-CcatJobStatus -JobId $job.JobId -Backend memory).Status | Should -Be 'Completed'
        (Get-CcatJob -Backend InMemory).JobId | Should -Contain $job.JobId
    }

    It 'cancels a running job, and a finished one without error' {
        $job = Submit-CcatJob -ExecutionCommand 'sleep 3000' -Backend InMemory
        $job | Stop-CcatJob -Confirm:$false
        $after = $job | Get-CcatJobStatus
        $after.Status | Should -Be 'Failed'
        $after.Reason | Should -Be 'Cancelled'
        { $after | Stop-CcatJob -Confirm:$false -ErrorAction Stop } | Should -Not -Throw
    }

    It 'is the default backend when HPC_BACKEND names it, and owns its settings' {
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'inmemory'
        try {
            (Submit-CcatJob -ExecutionCommand 'exit 0').Backend.Name | Should -Be 'InMemory'
            $setting = Get-CcatConfiguration INMEMORY_SECONDS_PER_SLEEP
            $setting.Value | Should -Be '0.2'
            $setting.Source | Should -Be 'EnvironmentVariable'
        }
        finally {
            Remove-Item env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND -ErrorAction Ignore
        }
    }

    It 'checks its setting''s rule when the settings load' {
        $env:CCAT_WORKFLOW_MANAGER_INMEMORY_SECONDS_PER_SLEEP = '61'
        try {
            { Get-CcatConfiguration -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidConfiguration*'
        }
        finally {
            $env:CCAT_WORKFLOW_MANAGER_INMEMORY_SECONDS_PER_SLEEP = '0.2'
        }
    }

    It 'is listed when a backend name is wrong, and a list of names is refused' {
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'Nope'
        try {
            { Get-CcatConfiguration -ErrorAction Stop } | Should -Throw -ExpectedMessage '*InMemory*'
        }
        finally {
            Remove-Item env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND -ErrorAction Ignore
        }
        { Get-CcatJobStatus -JobId 'mem-1' -Backend 'InMemory,Local' -ErrorAction Stop } | Should -Throw
    }

    It 'refuses a piped object whose Backend names no backend instead of using the default' {
        $err = $null
        [pscustomobject]@{ JobId = 'mem-1'; Backend = 'Nope' } | Get-CcatJobStatus -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        "$($err[0])" | Should -Match 'Nope'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UnknownBackend,*'
    }
}
