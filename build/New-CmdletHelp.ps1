#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Writes MAML help (CcatWorkflow.dll-Help.xml) for the module's cmdlets from the compiled XML
    documentation comments, so Get-Help answers without platyPS (not available here).
.DESCRIPTION
    Synopsis and description come from the <para type="synopsis"/"description"> elements of each
    cmdlet class's summary; parameter descriptions from each property's summary; examples from
    <example><code>…</code><para>…</para></example> elements; syntax, types, positions and
    pipeline input from the cmdlet metadata itself. Runs in its own pwsh process: it imports the
    built module, which cannot be unloaded afterwards.
#>
param([Parameter(Mandatory)] [string] $ModuleDir)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module (Join-Path $ModuleDir 'CcatWorkflow.psd1') -PassThru
$docs = [xml](Get-Content (Join-Path $ModuleDir 'CcatWorkflow.xml') -Raw)
$members = @{}
foreach ($m in $docs.doc.members.member) { $members[$m.name] = $m }

function Clean([string] $text) { (($text -replace '\s+', ' ').Trim()) }
function Escape([string] $text) { [Security.SecurityElement]::Escape($text) }

function Get-MemberText($node) {
    if ($null -eq $node) { return '' }
    # <see cref="T:X.Y"/> and <c>code</c> become plain text
    $clone = $node.CloneNode($true)
    foreach ($see in @($clone.SelectNodes('.//see'))) {
        $name = ($see.GetAttribute('cref') -replace '^[A-Z]:', '') -replace '.*\.', ''
        $see.ParentNode.ReplaceChild($clone.OwnerDocument.CreateTextNode($name), $see) | Out-Null
    }
    Clean $clone.InnerText
}

$outputNotes = @{
    HPCJobInfo  = 'One record per job: JobId, Backend, JobName, Status, Reason, ExitCode and the metrics (null when not measured).'
    CcatLogLine = 'For several jobs: one object per line with JobId, Backend, JobName, Stream and Text; displayed as the text.'
    String      = 'For one job (or with -Raw): the lines of its log (one string per job with -Raw).'
    CcatSetting = 'One record per setting: Name, Value (secrets masked), Source and Origin.'
}
$sb = [Text.StringBuilder]::new()
[void]$sb.AppendLine('<?xml version="1.0" encoding="utf-8"?>')
[void]$sb.AppendLine('<helpItems schema="maml" xmlns="http://msh">')

foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $type = $command.ImplementingType
    $classDoc = $members["T:$($type.FullName)"]
    $instance = [Activator]::CreateInstance($type)
    if ($null -eq $classDoc) { throw "No documentation comment on $($type.FullName)." }
    $synopsis = Get-MemberText $classDoc.SelectSingleNode('summary/para[@type="synopsis"]')
    $description = Get-MemberText $classDoc.SelectSingleNode('summary/para[@type="description"]')
    if (-not $synopsis -or -not $description) { throw "$($command.Name) needs a synopsis and a description para." }

    [void]$sb.AppendLine('<command:command xmlns:maml="http://schemas.microsoft.com/maml/2004/10" xmlns:command="http://schemas.microsoft.com/maml/dev/command/2004/10" xmlns:dev="http://schemas.microsoft.com/maml/dev/2004/10">')
    [void]$sb.AppendLine("<command:details><command:name>$($command.Name)</command:name><command:verb>$($command.Verb)</command:verb><command:noun>$($command.Noun)</command:noun>")
    [void]$sb.AppendLine("<maml:description><maml:para>$(Escape $synopsis)</maml:para></maml:description></command:details>")
    [void]$sb.AppendLine("<maml:description><maml:para>$(Escape $description)</maml:para></maml:description>")

    function ParamInfo($p, $set) {
        $attr = $p.Attributes | Where-Object { $_ -is [Parameter] -and ($_.ParameterSetName -eq $set.Name -or $_.ParameterSetName -eq '__AllParameterSets') } | Select-Object -First 1
        $pipeline = @()
        if ($attr.ValueFromPipeline) { $pipeline += 'ByValue' }
        if ($attr.ValueFromPipelineByPropertyName) { $pipeline += 'ByPropertyName' }
        [pscustomobject]@{
            Required = [bool]$attr.Mandatory
            Position = if ($attr.Position -ge 0) { "$($attr.Position)" } else { 'named' }
            Pipeline = if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }
        }
    }
    function Globbing($p) { ([bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })).ToString().ToLower() }
    # The default a parameter has when not given: read from a fresh instance of the cmdlet.
    function DefaultValue($p) {
        if ($p.SwitchParameter) { return 'False' }
        $v = $type.GetProperty($p.Name).GetValue($instance)
        if ($null -eq $v -or ($v -is [Array] -and $v.Count -eq 0) -or "$v" -eq '') { return 'None' }
        if ($v -is [int] -and $v -eq [int]::MaxValue) { return 'no limit' }
        if ($v -is [int] -and $v -eq -1 -and $p.Name -in 'Tail', 'Timeout') { return 'none (-1)' }
        "$v"
    }
    function TypeName([type] $t) {
        $u = [Nullable]::GetUnderlyingType($t)
        if ($u) { $t = $u }
        if ($t -eq [System.Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
        $t.Name
    }

    [void]$sb.AppendLine('<command:syntax>')
    foreach ($set in $command.ParameterSets) {
        [void]$sb.AppendLine("<command:syntaxItem><maml:name>$($command.Name)</maml:name>")
        foreach ($sp in $set.Parameters | Where-Object { $_.Name -notin [System.Management.Automation.PSCmdlet]::CommonParameters }) {
            $p = $command.Parameters[$sp.Name]
            $i = ParamInfo $p $set
            # A switch takes no value: no parameterValue, or Get-Help shows [-Follow <SwitchParameter>].
            $value = if ($p.SwitchParameter) { '' } else { "<command:parameterValue required=`"true`">$(TypeName $p.ParameterType)</command:parameterValue>" }
            [void]$sb.AppendLine("<command:parameter required=`"$($i.Required.ToString().ToLower())`" globbing=`"$(Globbing $p)`" position=`"$($i.Position)`" pipelineInput=`"$($i.Pipeline)`"><maml:name>$($p.Name)</maml:name>$value</command:parameter>")
        }
        [void]$sb.AppendLine('</command:syntaxItem>')
    }
    [void]$sb.AppendLine('</command:syntax>')

    [void]$sb.AppendLine('<command:parameters>')
    $standard = @{
        WhatIf  = 'Shows what would happen (for Submit-CcatJob: the exact script, manifest or command line) without asking the backend to do anything.'
        Confirm = 'Asks for confirmation before each job.'
    }
    foreach ($p in $command.Parameters.Values | Where-Object { $_.Name -notin [System.Management.Automation.PSCmdlet]::CommonParameters } | Sort-Object Name) {
        if ($standard.ContainsKey($p.Name)) {
            $text = $standard[$p.Name]
        }
        else {
            $declaring = $type.GetProperty($p.Name).DeclaringType.FullName
            $pdoc = $members["P:$declaring.$($p.Name)"]
            $text = if ($pdoc) { Get-MemberText $pdoc.SelectSingleNode('summary') } else { '' }
            if (-not $text) { throw "No documentation comment on $declaring.$($p.Name)." }
        }
        $set = $command.ParameterSets | Where-Object { $_.Parameters.Name -contains $p.Name } | Select-Object -First 1
        $i = ParamInfo $p $set
        $enum = [Nullable]::GetUnderlyingType($p.ParameterType) ?? $p.ParameterType
        if ($enum.IsArray) { $enum = $enum.GetElementType() }
        $values = if ($enum.IsEnum) { " Valid values: $([Enum]::GetNames($enum) -join ', ')." } else { '' }
        [void]$sb.AppendLine("<command:parameter required=`"$($i.Required.ToString().ToLower())`" globbing=`"$(Globbing $p)`" pipelineInput=`"$($i.Pipeline)`" position=`"$($i.Position)`">")
        [void]$sb.AppendLine("<maml:name>$($p.Name)</maml:name><maml:description><maml:para>$(Escape ($text + $values))</maml:para></maml:description>")
        $valueRequired = (-not $p.SwitchParameter).ToString().ToLower()
        [void]$sb.AppendLine("<command:parameterValue required=`"$valueRequired`">$(TypeName $p.ParameterType)</command:parameterValue><dev:type><maml:name>$(Escape $p.ParameterType.FullName)</maml:name></dev:type><dev:defaultValue>$(Escape (DefaultValue $p))</dev:defaultValue></command:parameter>")
    }
    [void]$sb.AppendLine('</command:parameters>')

    # INPUTS: what the pipeline binds, by value (the type) and by property name (the names).
    [void]$sb.AppendLine('<command:inputTypes>')
    $byValue = $command.Parameters.Values | Where-Object { $_.Attributes | Where-Object { $_ -is [Parameter] -and $_.ValueFromPipeline } }
    foreach ($p in $byValue) {
        $t = [Nullable]::GetUnderlyingType($p.ParameterType) ?? $p.ParameterType
        if ($t.IsArray) { $t = $t.GetElementType() }
        [void]$sb.AppendLine("<command:inputType><dev:type><maml:name>$(Escape $t.FullName)</maml:name></dev:type><maml:description><maml:para>$(Escape "Bound to -$($p.Name).")</maml:para></maml:description></command:inputType>")
    }
    $byName = @($command.Parameters.Values | Where-Object { $_.Attributes | Where-Object { $_ -is [Parameter] -and $_.ValueFromPipelineByPropertyName } } | ForEach-Object Name)
    if ($byName) {
        [void]$sb.AppendLine("<command:inputType><dev:type><maml:name>System.Management.Automation.PSObject</maml:name></dev:type><maml:description><maml:para>$(Escape "Any object whose properties are named $($byName -join ', ') (for example rows of Import-Csv, or the module's own output): each binds to the parameter of its name.")</maml:para></maml:description></command:inputType>")
    }
    if (-not $byValue -and -not $byName) {
        [void]$sb.AppendLine('<command:inputType><dev:type><maml:name>None</maml:name></dev:type><maml:description><maml:para>This cmdlet takes no pipeline input.</maml:para></maml:description></command:inputType>')
    }
    [void]$sb.AppendLine('</command:inputTypes>')

    [void]$sb.AppendLine('<command:returnValues>')
    foreach ($t in $command.OutputType) {
        [void]$sb.AppendLine("<command:returnValue><dev:type><maml:name>$(Escape $t.Type.FullName)</maml:name></dev:type><maml:description><maml:para>$(Escape ($outputNotes[$t.Type.Name] ?? ''))</maml:para></maml:description></command:returnValue>")
    }
    [void]$sb.AppendLine('</command:returnValues>')

    $examples = @($classDoc.SelectNodes('example'))
    if ($examples.Count -eq 0) { throw "$($command.Name) has no <example>." }
    [void]$sb.AppendLine('<command:examples>')
    $n = 0
    foreach ($ex in $examples) {
        $n++
        $code = ($ex.SelectSingleNode('code').InnerText -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) -join "`n"
        $remarks = Get-MemberText $ex.SelectSingleNode('para')
        [void]$sb.AppendLine("<command:example><maml:title>-------------------------- Example $n --------------------------</maml:title>")
        [void]$sb.AppendLine("<dev:code>$(Escape $code)</dev:code><dev:remarks><maml:para>$(Escape $remarks)</maml:para></dev:remarks></command:example>")
    }
    [void]$sb.AppendLine('</command:examples>')
    [void]$sb.AppendLine('<command:relatedLinks><maml:navigationLink><maml:linkText>Online version:</maml:linkText><maml:uri>' + (Escape $command.HelpUri) + '</maml:uri></maml:navigationLink><maml:navigationLink><maml:linkText>about_CcatWorkflow</maml:linkText><maml:uri></maml:uri></maml:navigationLink></command:relatedLinks>')
    [void]$sb.AppendLine('</command:command>')
}
[void]$sb.AppendLine('</helpItems>')

$target = Join-Path $ModuleDir 'en-US'
New-Item -ItemType Directory -Force $target | Out-Null
$path = Join-Path $target 'CcatWorkflow.dll-Help.xml'
[IO.File]::WriteAllText($path, $sb.ToString())
[xml](Get-Content $path -Raw) | Out-Null   # well-formed, or fail the build
Write-Host "wrote $path"
