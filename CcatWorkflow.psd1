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
            # The project's documentation (also each cmdlet's HelpUri: src/CcatWorkflow/Commands/HelpLinks.cs).
            ProjectUri   = 'https://docs.data.ccat.uni-koeln.de/workflow-manager/'
            ReleaseNotes = 'First release: SLURM, Kubernetes and Local backends.'
        }
    }
}
