# Set-up and arithmetic the benchmark scripts share (benchmarks/<area>/Measure-*.ps1; run by
# hand, figures in docs/benchmarks.md). Nothing here is used by the module or its tests.

function Initialize-Benchmark {
    <#
    .SYNOPSIS
        Starts the named test services (tests/infra/<name>/start.sh, in order), imports the
        built module and clears every CCAT_WORKFLOW_MANAGER_* and Dynaconf variable. Returns
        the KEY=VALUE lines the services printed, as an ordered table.
    #>
    param([string[]] $Service = @())
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
    $printed = [ordered]@{}
    foreach ($name in $Service) {
        $lines = & bash (Join-Path $repo "tests/infra/$name/start.sh")
        if ($LASTEXITCODE -ne 0) { throw "tests/infra/$name/start.sh failed" }
        foreach ($line in $lines) { if ($line -match '^([A-Z0-9_]+)=(.*)$') { $printed[$Matches[1]] = $Matches[2] } }
    }
    Import-Module (Join-Path $repo 'out/CcatWorkflow/CcatWorkflow.psd1') -Force -Global
    Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
    Remove-Item env:ENV_FOR_DYNACONF, env:SETTINGS_FILE_FOR_DYNACONF, env:SECRETS_FOR_DYNACONF -ErrorAction Ignore
    $printed
}

function Measure-Ms {
    <# How long the script block takes, in milliseconds (its output is dropped). #>
    param([Parameter(Mandatory)] [scriptblock] $Code)
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $null = & $Code
    $sw.Elapsed.TotalMilliseconds
}

function Get-Median {
    <# The median of the values (NaN for none). #>
    param([Parameter(Mandatory)] [AllowEmptyCollection()] [double[]] $Values)
    $s = @($Values | Sort-Object)
    if ($s.Count -eq 0) { return [double]::NaN }
    if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 }
}

Export-ModuleMember -Function Initialize-Benchmark, Measure-Ms, Get-Median
