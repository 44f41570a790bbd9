using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Commands.Completion;

/// <summary>Completes setting names (Get-CcatConfiguration -Name) from the module's settings schema.</summary>
public sealed class SettingNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern(CompletionContext.Unquote(wordToComplete) + "*", WildcardOptions.IgnoreCase);
        return SettingsSchema.All
            .Where(d => pattern.IsMatch(d.Name))
            .Select(d => new CompletionResult(d.Name, d.Name, CompletionResultType.ParameterValue, d.Description));
    }
}
