# Shared set-up for the Pester suites: the built module, and an isolated settings environment
# so no test depends on the machine's own settings.toml or CCAT_WORKFLOW_MANAGER_* variables.

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Get-RepoRoot { $script:RepoRoot }

function Get-ModuleManifestPath { Join-Path $script:RepoRoot 'out/CcatWorkflow/CcatWorkflow.psd1' }

function Reset-CcatEnvironment {
    <#
    .SYNOPSIS
        Removes every CCAT_WORKFLOW_MANAGER_* and Dynaconf variable, points the settings file
        search at an empty folder, and gives Local jobs a private job directory.
    #>
    param([Parameter(Mandatory)] [string] $JobDir)
    Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
    Remove-Item env:ENV_FOR_DYNACONF, env:SETTINGS_FILE_FOR_DYNACONF, env:SECRETS_FOR_DYNACONF -ErrorAction Ignore
    $empty = Join-Path ([IO.Path]::GetTempPath()) "ccat-empty-$PID"
    New-Item -ItemType Directory -Force $empty | Out-Null
    $env:XDG_CONFIG_HOME = $empty
    New-Item -ItemType Directory -Force $JobDir | Out-Null
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR = $JobDir
}

function Get-JobDirEntry {
    <# The job folders (UUID names) in a Local job directory. #>
    param([Parameter(Mandatory)] [string] $JobDir)
    @(Get-ChildItem $JobDir -Directory -ErrorAction Ignore | Where-Object Name -match '^[0-9a-f]{8}-')
}

function Get-WhatIfText {
    <#
    .SYNOPSIS
        What-if text goes to the host, not to a stream: runs the script (after importing the
        built module) in another pwsh process, with this process's environment, and returns
        everything it printed as one string.
    #>
    param([Parameter(Mandatory)] [string] $Script)
    $file = Join-Path ([IO.Path]::GetTempPath()) "ccat-whatif-$([guid]::NewGuid()).ps1"
    Set-Content $file "Import-Module '$(Get-ModuleManifestPath)'; $Script"
    try { (& dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file 2>&1) -join "`n" }
    finally { Remove-Item $file -ErrorAction Ignore }
}

Export-ModuleMember -Function Get-RepoRoot, Get-ModuleManifestPath, Reset-CcatEnvironment, Get-JobDirEntry, Get-WhatIfText

function Use-CcatLocalStore {
    <#
    .SYNOPSIS
        A fresh Local environment under $Root: its own job folder, the given job store ('file' or
        'redis': the shared test Redis with a private key prefix, so suites never see each
        other's jobs) and a 2 s cancel grace. Returns the job folder.
    #>
    param([Parameter(Mandatory)] [string] $Root, [Parameter(Mandatory)] [string] $Store, [Parameter(Mandatory)] [string] $Name)
    $dir = Join-Path $Root "$Name-$Store"
    Reset-CcatEnvironment -JobDir $dir
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = $Store
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '2'
    if ($Store -eq 'redis') {
        $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = '127.0.0.1'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = '16379'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = "ccat-test:$([guid]::NewGuid().ToString('N'))"
    }
    $dir
}

Export-ModuleMember -Function Use-CcatLocalStore
