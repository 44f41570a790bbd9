# Help as a user reads it: the about topic, -Online, and the generated cmdlet help (switches,
# defaults, wildcards, inputs and outputs).
BeforeDiscovery {
    $script:cmdlets = 'Submit-CcatJob', 'Get-CcatJobStatus', 'Stop-CcatJob', 'Get-CcatJobLog',
        'Wait-CcatJob', 'Get-CcatJob', 'Get-CcatConfiguration', 'New-CcatJobInfo'
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:savedEnvironment = Save-TestEnvironment  # given back in the top-level AfterAll
    $script:manifest = Get-ModuleManifestPath
    Import-Module $script:manifest -Force
}

Describe 'about_CcatWorkflow' -Tag 'Unit' {
    It 'is found by Get-Help and covers concepts, settings, backends, errors and examples' {
        $text = Get-Help about_CcatWorkflow | Out-String
        foreach ($section in 'LONG DESCRIPTION', 'SETTINGS', 'BACKENDS', 'ERRORS', 'EXAMPLES') {
            $text | Should -Match $section
        }
        $text | Should -Match 'catch \[CcatWorkflow.CcatWorkflowException\]'
    }
}

Describe 'Online help' -Tag 'Unit' {
    It 'the manifest names the project''s documentation' {
        (Test-ModuleManifest $script:manifest).ProjectUri | Should -Not -BeNullOrEmpty
    }

    It '<_> has a HelpUri: the documentation named in the manifest' -ForEach $cmdlets {
        (Get-Command $_).HelpUri | Should -Be (Test-ModuleManifest $script:manifest).ProjectUri.AbsoluteUri
    }

    It 'Get-Help -Online <_> hands the documentation address to the browser, without throwing' -ForEach @('Get-CcatJobLog') {
        # A stand-in browser first on PATH records the address instead of opening it.
        $bin = Join-Path $TestDrive 'bin'
        New-Item -ItemType Directory -Force $bin | Out-Null
        $record = Join-Path $TestDrive "opened-$_.txt"
        Set-Content (Join-Path $bin 'xdg-open') "#!/bin/sh`nprintf '%s\n' `"`$1`" >> '$record'"
        chmod +x (Join-Path $bin 'xdg-open')
        $script = Join-Path $TestDrive 'online.ps1'
        Set-Content $script "`$env:PATH = '$bin' + [IO.Path]::PathSeparator + `$env:PATH; Import-Module '$script:manifest'; Get-Help $_ -Online -ErrorAction Stop"
        $out = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $script 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $until = (Get-Date).AddSeconds(30)
        while (-not (Test-Path $record) -and (Get-Date) -lt $until) { Start-Sleep -Milliseconds 100 }
        Get-Content $record | Should -Be (Get-Command $_).HelpUri
    }
}

Describe 'Generated help of <_>' -ForEach $cmdlets -Tag 'Unit' {
    It 'renders switches as switches in the syntax' {
        $syntax = (Get-Help $_).syntax | Out-String
        $syntax | Should -Not -Match 'SwitchParameter'
        foreach ($switch in (Get-Command $_).Parameters.Values | Where-Object SwitchParameter |
            Where-Object Name -notin ([System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters)) {
            $syntax | Should -Match "\[-$($switch.Name)\]"
        }
    }

    It 'describes every parameter and says whether it takes wildcards' {
        foreach ($p in (Get-Help $_).parameters.parameter) {
            ($p.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$($p.name) needs a description"
            $declared = [bool]((Get-Command $_).Parameters[$p.name].Attributes | Where-Object { $_ -is [SupportsWildcards] })
            $p.globbing | Should -Be $declared.ToString().ToLower() -Because "-$($p.name)"
        }
    }

    It 'lists inputs and outputs' {
        $help = Get-Help $_ -Full
        @($help.inputTypes.inputType).Count | Should -BeGreaterThan 0
        @($help.returnValues.returnValue.type.name) | Should -Not -BeNullOrEmpty
    }
}

Describe 'Generated help details' -Tag 'Unit' {
    It 'gives default values' {
        (Get-Help Get-CcatJobLog -Parameter Stream).defaultValue | Should -Be 'All'
        (Get-Help Submit-CcatJob -Parameter JobName).defaultValue | Should -Be 'ccat-job'
        (Get-Help Get-CcatJobLog -Parameter Follow).defaultValue | Should -Be 'False'
    }

    It 'marks the wildcard parameters' {
        (Get-Help Get-CcatJob -Parameter Name).globbing | Should -Be 'true'
        (Get-Help Get-CcatJob -Parameter First).globbing | Should -Be 'false'
    }

    It 'says strings and job objects come from the pipeline' {
        $inputs = @((Get-Help Get-CcatJobStatus -Full).inputTypes.inputType.type.name)
        $inputs | Should -Contain 'System.String'
        $inputs | Should -Contain 'CcatWorkflow.HPCJobInfo'
    }
}

Describe 'Help of the PowerShell-job parameters' -Tag 'Unit' {
    It '-AsJob of <_> is described and rendered as a switch' -ForEach 'Submit-CcatJob', 'Wait-CcatJob' {
        $p = Get-Help $_ -Parameter AsJob
        ($p.description.Text -join ' ') | Should -Match 'CcatJob'
        ((Get-Help $_).syntax | Out-String) | Should -Match '\[-AsJob\]'
        $p.defaultValue | Should -Be 'False'
    }

    It 'the output types name CcatJob, as -AsJob returns it' {
        (Get-Command Submit-CcatJob).OutputType.Name | Should -Contain 'CcatWorkflow.Commands.Jobs.CcatJob'
        (Get-Command Wait-CcatJob).OutputType.Name | Should -Contain 'CcatWorkflow.Commands.Jobs.CcatJob'
    }
}

Describe 'Update-Help' -Tag 'Unit' {
    It 'says plainly that the help ships with the module: no download is attempted' {
        $err = $null
        Update-Help -Module CcatWorkflow -UICulture en-US -ErrorAction SilentlyContinue -ErrorVariable err
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HelpInfoUriNotFound,*'
        $err[0].Exception.Message | Should -Match 'does not support updatable help'
    }

    It 'the shipped help needs no update: about_CcatWorkflow explains Update-Help and -Online' {
        $text = Get-Help about_CcatWorkflow | Out-String
        $text | Should -Match 'Update-Help'
        $text | Should -Match 'POWERSHELL JOBS'
    }
}

AfterAll { Restore-TestEnvironment $script:savedEnvironment }
