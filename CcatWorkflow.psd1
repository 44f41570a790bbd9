@{
    RootModule           = 'CcatWorkflow.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5c1f3d0e-8a4b-4f7e-9d2a-3b6c1e0f7a42'
    Author               = 'CCAT Data Center'
    CompanyName          = 'CCAT Data Center'
    Copyright            = '(c) CCAT Data Center. All rights reserved.'
    Description          = 'Submits containerised (Apptainer) science-reduction jobs to SLURM, Kubernetes or the local machine and tracks them to the end.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    # The public types scripts name ([CcatWorkflow.HPCJobInfo], the enums) load into the
    # default context; the engine and its packages load privately from deps/.
    RequiredAssemblies   = @('CcatWorkflow.Model.dll')
    NestedModules        = @('CcatWorkflow.psm1')
    FormatsToProcess     = @('CcatWorkflow.format.ps1xml')
    TypesToProcess       = @('CcatWorkflow.types.ps1xml')
    CmdletsToExport      = @(
        'Submit-CcatJob'
        'Get-CcatJobStatus'
        'Stop-CcatJob'
        'Get-CcatJobLog'
        'Wait-CcatJob'
        'Get-CcatJob'
        'Get-CcatConfiguration'
        'New-CcatJobInfo'
        'Measure-CcatJob'
        'Remove-CcatJob'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('HPC', 'Slurm', 'Kubernetes', 'Apptainer', 'CCAT', 'Linux')
            # The module has no public site of its own yet: ProjectUri (and each cmdlet's HelpUri, so
            # Get-Help -Online works: src/CcatWorkflow/Commands/HelpLinks.cs) is the CCAT Data Center's
            # documentation of the workflow manager whose backends this module implements. A relative
            # repository URL cannot be used: PowerShell drops a ProjectUri or LicenseUri that is not
            # absolute. The module's own documentation ships in its folder (README.md, about_CcatWorkflow).
            # No LicenseUri: no licence has been chosen (see Copyright). No HelpInfoUri: the help ships
            # with the module, so Update-Help -Module CcatWorkflow reports "does not support updatable help".
            ProjectUri   = 'https://docs.data.ccat.uni-koeln.de/workflow-manager/'
            ReleaseNotes = 'First release: SLURM, Kubernetes and Local backends.'
        }
    }
}
