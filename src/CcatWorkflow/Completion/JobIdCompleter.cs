using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace CcatWorkflow.Commands.Completion;

/// <summary>
/// Completes <c>-JobId</c> with the newest jobs of the backend the command line names (or the
/// configured one): the id is inserted, the list shows its name and status. Matches the typed
/// text against the start of the id or anywhere in the name. Read-only and time-boxed.
/// </summary>
public sealed class JobIdCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = CompletionContext.Unquote(wordToComplete);
        var idPattern = new WildcardPattern(word + "*", WildcardOptions.IgnoreCase);
        var namePattern = new WildcardPattern("*" + word + "*", WildcardOptions.IgnoreCase);
        foreach (var job in CompletionContext.Jobs(fakeBoundParameters))
        {
            if (!idPattern.IsMatch(job.JobId) && !namePattern.IsMatch(job.JobName ?? "")) continue;
            var status = job.Reason == HPCJobReason.None ? job.Status.ToString() : $"{job.Status}, {job.Reason}";
            var submitted = job.SubmittedAt is { } at ? $"; submitted {at.ToLocalTime():yyyy-MM-dd HH:mm}" : "";
            yield return new CompletionResult(CompletionContext.Quote(job.JobId), $"{job.JobId}  {job.JobName} ({status})",
                CompletionResultType.ParameterValue, $"{job.JobName} on {job.Backend}: {status}{submitted}");
        }
    }
}
