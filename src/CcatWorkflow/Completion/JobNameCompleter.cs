using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace CcatWorkflow.Commands.Completion;

/// <summary>Completes job names (Get-CcatJob -Name) from the newest jobs of the backend, each name once.</summary>
public sealed class JobNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern(CompletionContext.Unquote(wordToComplete) + "*", WildcardOptions.IgnoreCase);
        return CompletionContext.Jobs(fakeBoundParameters)
            .Where(j => !string.IsNullOrEmpty(j.JobName) && pattern.IsMatch(j.JobName))
            .GroupBy(j => j.JobName!, StringComparer.Ordinal)
            .Select(g => new CompletionResult(CompletionContext.Quote(g.Key), $"{g.Key} ({g.Count()})",
                CompletionResultType.ParameterValue, $"{g.Count()} job(s); newest {g.First().Status}"));
    }
}
