#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, packages and demonstrates the CcatWorkflow module.
.DESCRIPTION
    Tasks (comma-separated, run in the order given):
      Build    compile the solution and assemble the module in out/CcatWorkflow
      Test     Build, start the test services (tests/infra/*/start.sh), run xunit and Pester;
               prints one closing line 'N passed, N failed'
      Unit     the fast lane: build the tests and run every xunit test that needs no service,
               no apt, no network listener and no long real job (with -XunitFilter: exactly
               what it selects)
      Pester   Build, then Pester only
      Package  zip out/CcatWorkflow into out/CcatWorkflow.<version>.zip
      Demo     Build, then submit a real job on the Local backend with no settings, wait for
               it, read its log and show its metrics
      Clean    remove out/ and every bin/ and obj/
    From a fresh clone:  dotnet tool restore && dotnet pwsh -NoProfile ./build.ps1 -Task Test
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Test -PesterPath tests/pester/Local.Tests.ps1
#>
[CmdletBinding()]
param(
    # 'dotnet pwsh ./build.ps1 -Task Build,Test' arrives as one string: it is split below.
    [string[]] $Task = @('Build'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    # Run only these Pester files or folders (default: tests/pester).
    [string[]] $PesterPath,
    # Passed to 'dotnet test --filter' (default: every xunit test).
    [string] $XunitFilter,
    # Run only the Pester tests with one of these tags (tiers Unit, Process, Service; areas
    # Local, Slurm, Kubernetes, Redis; Root for what needs root), e.g. -PesterTag Unit.
    [string[]] $PesterTag,
    # Leave out the Pester tests with one of these tags, e.g. -PesterExcludeTag Root.
    [string[]] $PesterExcludeTag,
    # Run only the Pester blocks and tests whose full name matches one of these wildcards, e.g.
    # -PesterPath tests/pester/Slurm.Tests.ps1 -PesterFullName 'Slurm over SSH*' (one block alone).
    [string[]] $PesterFullName
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$PSNativeCommandUseErrorActionPreference = $true
if ($env:CI -or $env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:POWERSHELL_TELEMETRY_OPTOUT = '1'

$Task = @($Task -split ',' | ForEach-Object Trim | Where-Object { $_ })
$PesterPath = @($PesterPath -split ',' | ForEach-Object Trim | Where-Object { $_ })
$PesterTag = @($PesterTag -split ',' | ForEach-Object Trim | Where-Object { $_ })
$PesterExcludeTag = @($PesterExcludeTag -split ',' | ForEach-Object Trim | Where-Object { $_ })
$PesterFullName = @($PesterFullName -split ',' | ForEach-Object Trim | Where-Object { $_ })
$known = 'Build', 'Test', 'Unit', 'Pester', 'Package', 'Demo', 'Clean'
foreach ($t in $Task) { if ($t -notin $known) { throw "Unknown task '$t'. Tasks: $($known -join ', ')." } }

$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleDir = Join-Path $out 'CcatWorkflow'
$results = Join-Path $out 'TestResults'
$pesterVersion = '6.2.0'
$clock = [Diagnostics.Stopwatch]::StartNew()
$script:built = $false
$script:counts = [ordered]@{ Passed = 0; Failed = 0; Skipped = 0 }
$script:ranTests = $false

function Step([string] $message) { Write-Host ('[{0,6:n1}s] {1}' -f $clock.Elapsed.TotalSeconds, $message) }

function Invoke-Clean {
    Step 'clean'
    Remove-Item -Recurse -Force $out -ErrorAction Ignore
    Get-ChildItem $root -Recurse -Directory -Include bin, obj | Remove-Item -Recurse -Force -ErrorAction Ignore
}

function Invoke-Build {
    if ($script:built) { return }
    Step "dotnet build ($Configuration)"
    Invoke-DotnetBuild (Join-Path $root 'CcatWorkflow.slnx')
    Step 'assemble out/CcatWorkflow'
    Remove-Item -Recurse -Force $moduleDir -ErrorAction Ignore
    $deps = Join-Path $moduleDir 'deps'
    # The engine and its packages: private load context (deps/).
    dotnet publish (Join-Path $root 'src/CcatWorkflow.Core') -c $Configuration --no-build -o $deps --nologo -v quiet
    $runner = Join-Path $root 'src/CcatWorkflow.LocalRunner'
    if (Test-Path (Join-Path $runner 'CcatWorkflow.LocalRunner.csproj')) {
        dotnet publish $runner -c $Configuration --no-build -o $deps --nologo -v quiet
        Publish-NativeRunner $runner $deps
    }
    # deps/ keeps a copy of the model assembly for the Local runner (its own process). Inside
    # PowerShell the private context never loads it: it defers to the default context's copy,
    # the one scripts name (src/CcatWorkflow/Loading/CoreLoadContext.cs).
    $bin = Join-Path $root "src/CcatWorkflow/bin/$Configuration/net8.0"
    $files = @(
        (Join-Path $bin 'CcatWorkflow.dll'), (Join-Path $bin 'CcatWorkflow.xml'),
        (Join-Path $root "src/CcatWorkflow.Model/bin/$Configuration/net8.0/CcatWorkflow.Model.dll"),
        (Join-Path $root "src/CcatWorkflow.Model/bin/$Configuration/net8.0/CcatWorkflow.Model.xml"),
        (Join-Path $root 'CcatWorkflow.psd1'), (Join-Path $root 'CcatWorkflow.psm1'),
        (Join-Path $root 'CcatWorkflow.format.ps1xml'), (Join-Path $root 'README.md'),
        (Join-Path $root 'CcatWorkflow.types.ps1xml')
    )
    foreach ($f in $files) {
        if (-not (Test-Path $f)) { throw "Build output missing: $f" }
        Copy-Item $f $moduleDir
    }
    Copy-Item (Join-Path $root 'examples/settings.toml') (Join-Path $moduleDir 'settings.example.toml')
    # MAML help from the XML documentation comments (a fresh pwsh: it imports the module).
    dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File (Join-Path $root 'build/New-CmdletHelp.ps1') -ModuleDir $moduleDir
    # The conceptual help topic (Get-Help about_CcatWorkflow).
    Copy-Item (Join-Path $root 'src/CcatWorkflow/en-US/about_CcatWorkflow.help.txt') (Join-Path $moduleDir 'en-US')
    $manifest = Test-ModuleManifest (Join-Path $moduleDir 'CcatWorkflow.psd1')
    $propsVersion = ([xml](Get-Content (Join-Path $root 'Directory.Build.props'))).Project.PropertyGroup.ModuleVersion
    if ("$($manifest.Version)" -ne "$propsVersion") {
        throw "CcatWorkflow.psd1 says version $($manifest.Version), Directory.Build.props says $propsVersion."
    }
    $script:built = $true
}

function Invoke-DotnetBuild([string] $Project) {
    # Analyzer findings are warnings, not errors (Directory.Build.targets): count them so they
    # are seen. Only projects compiled in this run report theirs (an up-to-date one is silent).
    $found = [Collections.Generic.HashSet[string]]::new()
    dotnet build $Project -c $Configuration --nologo -v minimal -clp:NoSummary | ForEach-Object {
        Write-Host $_
        if ($_ -match '^\s*(\S.*?): warning (CA\d+):') { [void]$found.Add("$($Matches[1]) $($Matches[2])") }
    }
    if ($found.Count -gt 0) { Write-Warning "$($found.Count) analyzer warning(s) (CA rules, AnalysisMode Recommended): fix them or suppress with a reason (.editorconfig)." }
    else { Step 'analyzers: no warnings in the projects compiled' }
}

function Publish-NativeRunner([string] $runner, [string] $deps) {
    # The Local runner as a Native AOT executable: deps/native/<rid>/ccat-runner. The managed
    # runner (deps/CcatWorkflow.LocalRunner.dll) stays the fallback where none fits the machine
    # (docs/local-backend.md). Native AOT links with the C toolchain: without one, say so and
    # ship the managed runner only. Trimming/AOT warnings fail this step (the project's settings).
    $rid = [Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    if (-not (Get-Command clang, gcc -CommandType Application -ErrorAction Ignore)) {
        Write-Warning "No C toolchain (clang or gcc): the native Local runner for $rid is not built; jobs use the managed runner."
        return
    }
    Step "native Local runner ($rid, Native AOT)"
    $native = Join-Path $runner "bin/$Configuration/native/$rid"
    dotnet publish $runner -c $Configuration -r $rid -p:CcatNative=true -o $native --nologo -v quiet -clp:NoSummary
    $dest = Join-Path $deps "native/$rid"
    New-Item -ItemType Directory -Force $dest | Out-Null
    Copy-Item (Join-Path $native 'CcatWorkflow.LocalRunner') (Join-Path $dest 'ccat-runner')
}

function Start-TestService {
    # One entry point per service; each start.sh installs what it needs and is idempotent.
    foreach ($script in Get-ChildItem (Join-Path $root 'tests/infra') -Filter start.sh -Recurse | Sort-Object FullName) {
        Step "start $($script.Directory.Name)"
        bash $script.FullName
    }
}

function Invoke-Unit {
    # The fast lane: no module assembly, no service. Without -XunitFilter it runs every xunit
    # test not marked [Trait("Tier", "Service")] (those need Redis, Slurm, the Kubernetes
    # double or another listener) or [Trait("Tier", "Process")] (real Local jobs that run for
    # seconds each); with -XunitFilter it runs exactly what the filter selects.
    Step 'dotnet build (tests)'
    Invoke-DotnetBuild (Join-Path $root 'tests/CcatWorkflow.Core.Tests')
    Invoke-Xunit -Filter $(if ($XunitFilter) { $XunitFilter } else { 'Tier!=Service&Tier!=Process' })
}

function Invoke-Xunit([string] $Filter) {
    Step "xunit$(if ($Filter) { " ($Filter)" })"
    $trx = Join-Path $results 'xunit.trx'
    Remove-Item $trx -ErrorAction Ignore
    $testArgs = @((Join-Path $root 'tests/CcatWorkflow.Core.Tests'), '-c', $Configuration, '--no-build', '--nologo',
        '--logger', 'trx;LogFileName=xunit.trx', '--logger', 'console;verbosity=normal', '--results-directory', $results)
    if ($Filter) { $testArgs += @('--filter', $Filter) }
    $PSNativeCommandUseErrorActionPreference = $false
    dotnet test @testArgs
    $exit = $LASTEXITCODE
    $PSNativeCommandUseErrorActionPreference = $true
    if (-not (Test-Path $trx)) { throw "xunit wrote no results (exit code $exit)." }
    $script:ranTests = $true
    $summary = ([xml](Get-Content $trx)).TestRun.ResultSummary.Counters
    $script:counts.Passed += [int]$summary.passed
    $script:counts.Failed += [int]$summary.failed + [int]$summary.error + [int]$summary.timeout + [int]$summary.aborted
    $script:counts.Skipped += [int]$summary.notExecuted
    Step "xunit: $($summary.passed) passed, $($summary.failed) failed"
    if ($exit -ne 0 -and [int]$summary.failed -eq 0) { $script:counts.Failed += 1; Write-Warning "dotnet test exited $exit with no failed test." }
}

function Install-Pester {
    # Pester comes from NuGet (PackageDownload), not from the PowerShell Gallery.
    $modules = Join-Path $root '.tools/Modules'
    $dest = Join-Path $modules "Pester/$pesterVersion"
    if (-not (Test-Path (Join-Path $dest 'Pester.psd1'))) {
        Step "fetch Pester $pesterVersion through NuGet"
        dotnet restore (Join-Path $root 'build/tools.proj') --nologo -v quiet
        $packages = ((dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
        New-Item -ItemType Directory -Force $dest | Out-Null
        Copy-Item -Recurse (Join-Path $packages "pester/$pesterVersion/tools/*") $dest
    }
    return $modules
}

function Invoke-PesterRun {
    Invoke-Build
    $modules = Install-Pester
    # The module's suites, and the example runbooks' own tests (they mock the cmdlets).
    $paths = if ($PesterPath) { $PesterPath | ForEach-Object { (Resolve-Path $_).Path } } else { (Join-Path $root 'tests/pester'), (Join-Path $root 'examples/runbooks') }
    $xml = Join-Path $results 'pester.junit.xml'
    New-Item -ItemType Directory -Force $results | Out-Null
    Step "Pester $pesterVersion (fresh pwsh: a binary module cannot be unloaded)"
    # A fresh process: the tests import out/CcatWorkflow themselves, with a clean environment.
    $runner = Join-Path $root 'tests/Invoke-PesterRun.ps1'
    $PSNativeCommandUseErrorActionPreference = $false
    dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $runner `
        -ModulesPath $modules -PesterVersion $pesterVersion -Path ($paths -join ',') -ResultPath $xml `
        -Tag ($PesterTag -join ',') -ExcludeTag ($PesterExcludeTag -join ',') -FullName ($PesterFullName -join ',')
    $PSNativeCommandUseErrorActionPreference = $true
    if (-not (Test-Path $xml)) { throw 'Pester wrote no results.' }
    $script:ranTests = $true
    $suites = ([xml](Get-Content $xml)).testsuites
    $failed = [int]$suites.GetAttribute('failures') + [int]('0' + $suites.GetAttribute('errors'))
    $skipped = [int]$suites.GetAttribute('disabled') + [int]('0' + $suites.GetAttribute('skipped'))
    $passed = [int]$suites.GetAttribute('tests') - $failed - $skipped
    if ($PesterTag -or $PesterExcludeTag -or $PesterFullName) {
        # Tests left out by a tag are not skipped tests: the selection did not ask for them.
        Step "Pester: $skipped not selected by tag or name"
        $skipped = 0
    }
    $script:counts.Passed += $passed
    $script:counts.Failed += $failed
    $script:counts.Skipped += $skipped
    Step "Pester: $passed passed, $failed failed"
}

function Invoke-Test {
    Invoke-Build
    New-Item -ItemType Directory -Force $results | Out-Null
    Start-TestService
    # The whole suite: every tier.
    Invoke-Xunit -Filter $XunitFilter
    Invoke-PesterRun
}

function Invoke-Package {
    Invoke-Build
    $version = (Import-PowerShellDataFile (Join-Path $moduleDir 'CcatWorkflow.psd1')).ModuleVersion
    $zip = Join-Path $out "CcatWorkflow.$version.zip"
    Step "package $zip"
    Compress-Archive -Path (Join-Path $moduleDir '*') -DestinationPath $zip -Force
}

function Invoke-Demo {
    Invoke-Build
    Step 'demo: a real job on the Local backend, embedded job store, no settings'
    $demo = Join-Path $root 'tests/Invoke-Demo.ps1'
    dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $demo -ModulePath (Join-Path $moduleDir 'CcatWorkflow.psd1')
}

try {
    foreach ($t in $Task) {
        switch ($t) {
            'Clean' { Invoke-Clean }
            'Build' { Invoke-Build }
            'Test' { Invoke-Test }
            'Unit' { Invoke-Unit }
            'Pester' { Invoke-PesterRun }
            'Package' { Invoke-Package }
            'Demo' { Invoke-Demo }
        }
    }
}
finally {
    if ($script:ranTests) {
        # The closing line CI reads: xunit and Pester together.
        Write-Host ('{0} passed, {1} failed, {2} skipped' -f $script:counts.Passed, $script:counts.Failed, $script:counts.Skipped)
    }
}
Step "done: $($Task -join ',')"
if ($script:counts.Failed -gt 0) { exit 1 }
