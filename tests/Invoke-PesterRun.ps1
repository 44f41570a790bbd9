#!/usr/bin/env pwsh
# Runs Pester in this (fresh) process and writes JUnit XML; build.ps1 reads the counts from it.
param(
    [Parameter(Mandatory)] [string] $ModulesPath,
    [Parameter(Mandatory)] [string] $PesterVersion,
    [Parameter(Mandatory)] [string] $Path,
    [Parameter(Mandatory)] [string] $ResultPath,
    # Comma-separated Pester tags to run / to leave out (build.ps1 -PesterTag/-PesterExcludeTag).
    [string] $Tag = '',
    [string] $ExcludeTag = '',
    # Comma-separated wildcards of full names to run (build.ps1 -PesterFullName).
    [string] $FullName = ''
)
$ErrorActionPreference = 'Stop'
if ($env:CI -or $env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }
$env:PSModulePath = $ModulesPath + [IO.Path]::PathSeparator + $env:PSModulePath
Import-Module Pester -RequiredVersion $PesterVersion
$config = New-PesterConfiguration
$config.Run.Path = @($Path -split ',')
$config.Run.PassThru = $true
if ($Tag) { $config.Filter.Tag = @($Tag -split ',') }
if ($ExcludeTag) { $config.Filter.ExcludeTag = @($ExcludeTag -split ',') }
if ($FullName) { $config.Filter.FullName = @($FullName -split ',') }
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'JUnitXml'
$config.TestResult.OutputPath = $ResultPath
$result = Invoke-Pester -Configuration $config
exit $result.FailedCount
