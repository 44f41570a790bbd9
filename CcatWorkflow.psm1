# Script-level niceties only; every cmdlet is compiled (CcatWorkflow.dll).

# Tab completion of -JobId from the jobs the chosen backend knows (newest first).
$jobIdCompleter = {
    param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
    $listArgs = @{ First = 50; ErrorAction = 'SilentlyContinue' }
    if ($fakeBoundParameters.ContainsKey('Backend')) { $listArgs.Backend = $fakeBoundParameters.Backend }
    Get-CcatJob @listArgs |
        Where-Object JobId -like "$wordToComplete*" |
        ForEach-Object {
            [System.Management.Automation.CompletionResult]::new(
                $_.JobId, $_.JobId, 'ParameterValue', "$($_.JobName) ($($_.Status))")
        }
}
foreach ($command in 'Get-CcatJobStatus', 'Stop-CcatJob', 'Get-CcatJobLog', 'Wait-CcatJob') {
    Register-ArgumentCompleter -CommandName $command -ParameterName JobId -ScriptBlock $jobIdCompleter
}
