using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace CcatWorkflow.Commands.Completion;

/// <summary>
/// Completes <c>-Resources</c> with hashtables that name the keys the module knows (cpu,
/// memory_gb, time_hours, gpu). PowerShell does not ask an argument completer for the keys
/// inside an <c>@{ }</c> of a dictionary parameter, so the keys come as ready-made tables.
/// </summary>
public sealed class ResourcesCompleter : IArgumentCompleter
{
    private static readonly (string Text, string Tip)[] Templates =
    [
        ("@{ cpu = 1; memory_gb = 4; time_hours = 1 }", "CPUs, memory in GiB and the time limit in hours"),
        ("@{ cpu = 4; memory_gb = 16; time_hours = 2; gpu = 1 }", "with one GPU"),
        ("@{ cpu = 1 }", "cpu: CPUs (cores) for the job"),
        ("@{ memory_gb = 4 }", "memory_gb: memory in GiB (fractions allowed)"),
        ("@{ time_hours = 1 }", "time_hours: the time limit in hours (fractions allowed)"),
        ("@{ gpu = 1 }", "gpu: GPUs for the job"),
    ];

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? "").Trim();
        return Templates
            .Where(t => word.Length == 0 || t.Text.StartsWith(word, StringComparison.OrdinalIgnoreCase) || t.Text.Contains(word, StringComparison.OrdinalIgnoreCase))
            .Select(t => new CompletionResult(t.Text, t.Text, CompletionResultType.ParameterValue, t.Tip));
    }
}
