using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands.Completion;

/// <summary>
/// Completes Submit-CcatJob -Partition (Slurm partitions) and -Namespace (Kubernetes
/// namespaces): the configured setting first, then what the backend lists read-only within
/// <see cref="CompletionContext.Deadline"/> (sinfo; the namespaces the API server lists). A slow
/// or unreachable backend adds nothing; the answer is kept for a minute, so Tab after Tab asks once.
/// </summary>
public sealed class SchedulerOptionCompleter : IArgumentCompleter
{
    /// <summary>How long a backend's list of values is reused.</summary>
    public static TimeSpan Lifetime { get; } = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var (kind, setting) = parameterName switch
        {
            "Partition" => (HPCBackendKind.Slurm, "SLURM_PARTITION"),
            "Namespace" => (HPCBackendKind.Kubernetes, "K8S_NAMESPACE"),
            _ => ((HPCBackendKind?)null, ""),
        };
        var settings = CompletionContext.Settings();
        if (kind is not { } backendKind || settings is null) return [];

        string configured;
        try
        {
            configured = settings.GetString(setting).Trim();
        }
        catch (CcatException)
        {
            configured = "";
        }

        var key = "scheduler-option\n" + parameterName + "\n" + settings.Fingerprint(SettingsSchema.All.Select(d => d.Name).ToList());
        var listed = CompletionCache.Get(key, () => Peek(backendKind, parameterName, settings), Lifetime);
        var pattern = new WildcardPattern(CompletionContext.Unquote(wordToComplete) + "*", WildcardOptions.IgnoreCase);
        return new[] { configured }.Where(v => v.Length > 0)
            .Concat(listed)
            .Distinct(StringComparer.Ordinal)
            .Where(pattern.IsMatch)
            .Select(v => new CompletionResult(CompletionContext.Quote(v), v, CompletionResultType.ParameterValue,
                v == configured ? $"{v} (the configured {setting})" : v));
    }

    private static IReadOnlyList<string> Peek(HPCBackendKind kind, string optionName, CcatSettings settings)
    {
        try
        {
            var backend = BackendRegistry.Get(kind, settings);
            using var deadline = new CancellationTokenSource(CompletionContext.Deadline);
            var task = Task.Run(() => backend.PeekSchedulerOptionValuesAsync(optionName, deadline.Token));
            return task.Wait(CompletionContext.Deadline) ? task.Result : [];
        }
        catch (Exception e) when (e is CcatException or AggregateException or OperationCanceledException or InvalidOperationException)
        {
            return [];
        }
    }
}
