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

function Set-LocalStore {
    <#
    .SYNOPSIS
        Reset-CcatEnvironment, then Local jobs in -JobDir on the given store: file, or the test
        Redis (127.0.0.1:16379) under a private key prefix, so suites never see each other's jobs.
    #>
    param([Parameter(Mandatory)] [string] $JobDir, [Parameter(Mandatory)] [string] $Store, [string] $KeyPrefix = 'ccat-test')
    Reset-CcatEnvironment -JobDir $JobDir
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = $Store
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '2'
    if ($Store -eq 'redis') {
        $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = '127.0.0.1'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = '16379'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = "${KeyPrefix}:$([guid]::NewGuid().ToString('N'))"
    }
}

function Invoke-InOtherProcess {
    <#
    .SYNOPSIS
        Runs the script in a separate pwsh process with the built module and this process's
        environment; returns its output objects (through CLIXML). A failing script throws.
    #>
    param([Parameter(Mandatory)] [string] $Script)
    $file = Join-Path ([IO.Path]::GetTempPath()) "ccat-other-$([guid]::NewGuid()).ps1"
    Set-Content $file "Import-Module '$(Get-ModuleManifestPath)'; `$ErrorActionPreference = 'Stop'; $Script"
    try {
        $out = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -OutputFormat xml -File $file
        if ($LASTEXITCODE -ne 0) { throw "The other process exited with $LASTEXITCODE running: $Script" }
        $out
    }
    finally { Remove-Item $file -ErrorAction Ignore }
}

function Save-TestEnvironment {
    <#
    .SYNOPSIS
        Every environment variable and the current location, for Restore-TestEnvironment: a test
        file takes this first (top-level BeforeAll) and gives it back last (top-level AfterAll),
        so nothing it sets (Reset-CcatEnvironment, PATH shims, settings) outlives the file.
    #>
    $vars = @{}
    foreach ($e in Get-ChildItem env:) { $vars[$e.Name] = $e.Value }
    @{ Variables = $vars; Location = (Get-Location).Path }
}

function Restore-TestEnvironment {
    <# Puts back what Save-TestEnvironment took: variables added since are removed, changed ones reset. #>
    param([Parameter(Mandatory)] [hashtable] $Saved)
    foreach ($e in @(Get-ChildItem env:)) {
        if (-not $Saved.Variables.ContainsKey($e.Name)) { Remove-Item "env:$($e.Name)" }
    }
    foreach ($name in $Saved.Variables.Keys) {
        if ([Environment]::GetEnvironmentVariable($name) -cne $Saved.Variables[$name]) { Set-Item "env:$name" $Saved.Variables[$name] }
    }
    Set-Location $Saved.Location
}

function Wait-Until {
    <#
    .SYNOPSIS
        Polls the condition until it holds; throws after -Seconds (a generous bound: a loaded
        machine is slow, a test must wait on the condition, never on a fixed sleep).
    #>
    param([Parameter(Mandatory)] [scriptblock] $Condition, [string] $What = "$Condition", [int] $Seconds = 120)
    $until = (Get-Date).AddSeconds($Seconds)
    while (-not (& $Condition)) {
        if ((Get-Date) -gt $until) { throw "Still not true after $Seconds s: $What" }
        Start-Sleep -Milliseconds 100
    }
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

function Use-CcatLocalStore {
    <#
    .SYNOPSIS
        A fresh Local environment under $Root: its own job folder, the given job store ('file' or
        'redis': the shared test Redis with a private key prefix, so suites never see each
        other's jobs) and a 2 s cancel grace (Set-LocalStore). Returns the job folder.
    #>
    param([Parameter(Mandatory)] [string] $Root, [Parameter(Mandatory)] [string] $Store, [Parameter(Mandatory)] [string] $Name)
    $dir = Join-Path $Root "$Name-$Store"
    Set-LocalStore -JobDir $dir -Store $Store
    $dir
}

Export-ModuleMember -Function Get-RepoRoot, Get-ModuleManifestPath, Reset-CcatEnvironment, Get-JobDirEntry, Get-WhatIfText,
    Save-TestEnvironment, Restore-TestEnvironment, Wait-Until, Set-LocalStore, Invoke-InOtherProcess, Use-CcatLocalStore
