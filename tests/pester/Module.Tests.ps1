# The module as users see it: manifest, exports, parameters, types, formatting, settings.
BeforeDiscovery {
    $script:cmdlets = 'Submit-CcatJob', 'Get-CcatJobStatus', 'Stop-CcatJob', 'Get-CcatJobLog',
        'Wait-CcatJob', 'Get-CcatJob', 'Get-CcatConfiguration', 'New-CcatJobInfo', 'Measure-CcatJob', 'Remove-CcatJob'
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    $script:manifest = Get-ModuleManifestPath
    Import-Module $script:manifest -Force
    Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs')
}

Describe 'The module manifest' -Tag 'Unit' {
    It 'is valid and targets PowerShell 7.4+ Core' {
        $m = Test-ModuleManifest $script:manifest
        $m.PowerShellVersion | Should -Be ([version]'7.4')
        $m.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'exports exactly the module''s cmdlets and nothing else' {
        $m = Get-Module CcatWorkflow
        @($m.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($cmdlets | Sort-Object)
        $m.ExportedFunctions.Count | Should -Be 0
        $m.ExportedAliases.Count | Should -Be 0
        $m.ExportedVariables.Count | Should -Be 0
    }
}

Describe 'The engine stays in its private load context' -Tag 'Unit' {
    It 'loads Core and its packages privately and the model publicly' {
        $null = Get-CcatConfiguration HPC_BACKEND   # forces the engine to load
        $contexts = @{}
        foreach ($a in [AppDomain]::CurrentDomain.GetAssemblies()) {
            $contexts[$a.GetName().Name] = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a).Name
        }
        $contexts['CcatWorkflow.Core'] | Should -Be 'CcatWorkflow.Core'
        $contexts['Tomlyn'] | Should -Be 'CcatWorkflow.Core'
        $contexts['CcatWorkflow.Model'] | Should -Be 'Default'
        @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'CcatWorkflow.Model' }).Count | Should -Be 1
    }
}

Describe 'Output types scripts can name' -Tag 'Unit' {
    It 'resolves [CcatWorkflow.HPCJobInfo] and builds one for a mock' {
        $info = [CcatWorkflow.HPCJobInfo]::new('42', 'Slurm', 'Failed', 'calib', 3, 12.5)
        $info.JobId | Should -Be '42'
        $info.Backend | Should -Be ([CcatWorkflow.HPCBackendKind]::Slurm)
        $info.Status | Should -Be ([CcatWorkflow.HPCJobStatus]::Failed)
        $info.ExitCode | Should -Be 3
        $info.CpuHours | Should -BeNullOrEmpty
        $info.IsFinished | Should -BeTrue
        $info | Should -BeOfType ([CcatWorkflow.HPCJobInfo])
    }

    It 'is immutable' {
        $info = [CcatWorkflow.HPCJobInfo]::new('1', 'Local', 'Running')
        { $info.Status = 'Completed' } | Should -Throw
    }

    It 'refuses an empty job id' {
        { [CcatWorkflow.HPCJobInfo]::new('', 'Local', 'Running') } | Should -Throw
    }

    It 'has a table view with the metrics' {
        $text = [CcatWorkflow.HPCJobInfo]::new('7', 'Local', 'Failed', 'tbl', 3, 1.25, 0.5, 0.125, 'NonZeroExit') | Out-String -Width 120
        $text | Should -Match 'JobId\s+JobName\s+Status\s+Reason\s+Exit\s+Wall\(s\)\s+CpuHours\s+PeakMemGB\s+Backend'
        $text | Should -Match '7\s+tbl\s+Failed\s+NonZeroExit\s+3\s+1\.3\s+0\.5000\s+0\.125\s+Local'
    }
}

Describe '<_>' -ForEach $cmdlets -Tag 'Unit' {
    It 'is a compiled cmdlet from CcatWorkflow.dll' {
        $c = Get-Command $_
        $c.CommandType | Should -Be 'Cmdlet'
        $c.ImplementingType.Assembly.GetName().Name | Should -Be 'CcatWorkflow'
    }

    It 'has help: synopsis, description, examples and every parameter described' {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeLike "*$_*[[]*"   # not the auto-generated syntax line
        $help.Synopsis.Length | Should -BeGreaterThan 20
        ($help.description.Text -join ' ').Length | Should -BeGreaterThan 40
        @($help.examples.example).Count | Should -BeGreaterOrEqual 1
        foreach ($p in $help.parameters.parameter) {
            ($p.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$($p.name) needs a description"
        }
    }
}

Describe 'Parameter surface' -Tag 'Unit' {
    It 'Submit-CcatJob takes the seed parameters in PowerShell casing' {
        $p = (Get-Command Submit-CcatJob).Parameters
        foreach ($name in 'ExecutionCommand', 'ImageRef', 'SifPath', 'InputDir', 'OutputDir', 'WorkspaceDir',
            'ManifestPath', 'Resources', 'Environment', 'JobName', 'Backend', 'ContainerCommand', 'WhatIf', 'Confirm') {
            $p.Keys | Should -Contain $name
        }
        $p['Backend'].ParameterType | Should -Be ([Nullable[CcatWorkflow.HPCBackendKind]])
    }

    It '<Name> addresses jobs by id, by property name and by object' -ForEach @(
        @{ Name = 'Get-CcatJobStatus' }, @{ Name = 'Stop-CcatJob' }, @{ Name = 'Get-CcatJobLog' }, @{ Name = 'Wait-CcatJob' }
    ) {
        $p = (Get-Command $Name).Parameters
        $p['JobId'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipelineByPropertyName | Should -Contain $true
        $p['Backend'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipelineByPropertyName | Should -Contain $true
        $p['InputObject'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipeline | Should -Contain $true
        $p['InputObject'].ParameterType | Should -Be ([CcatWorkflow.HPCJobInfo[]])
    }

    It 'Submit-CcatJob and Stop-CcatJob support -WhatIf and -Confirm' {
        (Get-Command Submit-CcatJob).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Stop-CcatJob).Parameters.Keys | Should -Contain 'Confirm'
    }
}

Describe 'Get-CcatConfiguration' -Tag 'Unit' {
    BeforeEach { Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs') }
    AfterAll { Reset-CcatEnvironment -JobDir (Join-Path $TestDrive 'jobs') }

    It 'defaults to the Local backend with the embedded file store' {
        (Get-CcatConfiguration HPC_BACKEND).Value | Should -Be 'local'
        (Get-CcatConfiguration HPC_BACKEND).Source | Should -Be 'Default'
        (Get-CcatConfiguration LOCAL_JOB_STORE).Value | Should -Be 'file'
    }

    It 'shows every seed setting' {
        $names = (Get-CcatConfiguration).Name
        foreach ($n in 'HPC_BACKEND', 'SLURM_PARTITION', 'K8S_NAMESPACE', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD',
            'PIPELINE_BASE_DIR', 'SIF_CACHE_DIR', 'LOCAL_JOB_STORE') {
            $names | Should -Contain $n
        }
    }

    It 'reads the environment section chosen by ENV_FOR_DYNACONF and says where each value came from' {
        $file = Join-Path $TestDrive 'settings.toml'
        Copy-Item (Join-Path (Get-RepoRoot) 'examples/settings.toml') $file
        $env:SETTINGS_FILE_FOR_DYNACONF = $file
        $env:ENV_FOR_DYNACONF = 'production'
        $backend = Get-CcatConfiguration HPC_BACKEND
        $backend.Value | Should -Be 'slurm'
        $backend.Source | Should -Be 'FileEnvironment'
        $backend.Origin | Should -BeLike "*settings.toml ``[production``]"
        (Get-CcatConfiguration SLURM_PARTITION).Value | Should -Be 'science'
        (Get-CcatConfiguration REDIS_HOST).Source | Should -Be 'FileDefault'
        $env:ENV_FOR_DYNACONF = 'staging'
        (Get-CcatConfiguration K8S_NAMESPACE).Value | Should -Be 'ccat-workflows-staging'
    }

    It 'lets CCAT_WORKFLOW_MANAGER_<SETTING> override the file, read as a TOML literal' {
        $file = Join-Path $TestDrive 'settings.toml'
        Copy-Item (Join-Path (Get-RepoRoot) 'examples/settings.toml') $file
        $env:SETTINGS_FILE_FOR_DYNACONF = $file
        $env:ENV_FOR_DYNACONF = 'production'
        $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'local'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = '6380'
        $b = Get-CcatConfiguration HPC_BACKEND
        $b.Value | Should -Be 'local'
        $b.Source | Should -Be 'EnvironmentVariable'
        $b.Origin | Should -Be 'CCAT_WORKFLOW_MANAGER_HPC_BACKEND'
        (Get-CcatConfiguration REDIS_PORT).Value | Should -Be '6380'
    }

    It 'reads REDIS_PASSWORD from the secrets file beside settings.toml and masks it' {
        $dir = Join-Path $TestDrive 'withsecrets'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content (Join-Path $dir 'settings.toml') "[default]`nREDIS_HOST = 'redis.example'"
        Set-Content (Join-Path $dir '.secrets.toml') "[default]`nREDIS_PASSWORD = 'hunter2'"
        $env:SETTINGS_FILE_FOR_DYNACONF = Join-Path $dir 'settings.toml'
        $p = Get-CcatConfiguration REDIS_PASSWORD
        $p.Value | Should -Be '********'
        $p.Source | Should -Be 'SecretsFile'
        $p.IsSecret | Should -BeTrue
        (Get-CcatConfiguration | Out-String) | Should -Not -Match 'hunter2'
    }

    It 'finds ./settings.toml in the current location' {
        $dir = Join-Path $TestDrive 'cwd'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content (Join-Path $dir 'settings.toml') "[default]`nSLURM_PARTITION = 'here'"
        Push-Location $dir
        try { (Get-CcatConfiguration SLURM_PARTITION).Value | Should -Be 'here' }
        finally { Pop-Location }
    }

    It 'rejects <Case> with an error naming the file, the key and the environment' -ForEach @(
        @{ Case = 'malformed TOML'; Toml = "[default]`nREDIS_PORT = = 1"; Env = $null; Pattern = 'not valid TOML' }
        @{ Case = 'a string where a number belongs'; Toml = "[default]`nREDIS_PORT = 'abc'"; Env = $null; Pattern = "REDIS_PORT.*bad.toml.*\[default\].*environment 'development'" }
        @{ Case = 'an unknown backend'; Toml = "[localdev]`nHPC_BACKEND = 'pbs'"; Env = 'localdev'; Pattern = "HPC_BACKEND is 'pbs'.*bad.toml \[localdev\].*environment 'localdev'" }
        @{ Case = 'a missing environment section'; Toml = "[default]`nHPC_BACKEND = 'local'"; Env = 'prodution'; Pattern = "no \[prodution\] section" }
        @{ Case = 'a port out of range'; Toml = "[default]`nREDIS_PORT = 70000"; Env = $null; Pattern = "REDIS_PORT is '?70000'?.*between 1 and 65535" }
    ) {
        $file = Join-Path $TestDrive 'bad.toml'
        Set-Content $file $Toml
        $env:SETTINGS_FILE_FOR_DYNACONF = $file
        if ($Env) { $env:ENV_FOR_DYNACONF = $Env }
        $err = $null
        try { Get-CcatConfiguration -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidConfiguration,*'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.Exception.Message | Should -Match $Pattern
    }

    It 'rejects a bad variable value naming the variable' {
        $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = 'sqlite'
        { Get-CcatConfiguration -ErrorAction Stop } | Should -Throw -ExpectedMessage '*LOCAL_JOB_STORE*CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE*file, redis*'
    }

    It 'warns about keys it does not know instead of failing (the file may be shared)' {
        $file = Join-Path $TestDrive 'shared.toml'
        Set-Content $file "[default]`nPROCESSING_LOCATION_ID = 1`nHPC_BACKEND = 'local'"
        $env:SETTINGS_FILE_FOR_DYNACONF = $file
        $warnings = @()
        $null = Get-CcatConfiguration -WarningVariable warnings -WarningAction SilentlyContinue
        ($warnings -join "`n") | Should -Match 'PROCESSING_LOCATION_ID'
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
