using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands.Completion;

/// <summary>
/// What completers share: the settings of the current location, the backend the command line
/// names (or the configured one), and a read-only, time-boxed peek at its jobs. A completer
/// never fails and never writes: on any error or when the backend is slow, it offers nothing.
/// </summary>
internal static class CompletionContext
{
    /// <summary>How long a completion may wait for a backend before offering nothing.</summary>
    public static TimeSpan Deadline { get; } = TimeSpan.FromSeconds(2);

    /// <summary>How many jobs are offered at most.</summary>
    public const int MaxJobs = 50;

    /// <summary>The settings for PowerShell's current location, or null when they cannot be read.</summary>
    public static CcatSettings? Settings()
    {
        try
        {
            return SettingsLoader.Load(Location() ?? Directory.GetCurrentDirectory());
        }
        catch (Exception e) when (e is CcatException or IOException or InvalidOperationException or RuntimeException)
        {
            return null;
        }
    }

    // PowerShell's current file-system location (settings.toml is looked for there), asked
    // through the runspace the completion runs in: its session state is busy completing.
    private static string? Location()
    {
        if (Runspace.DefaultRunspace is null) return null;
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        var result = ps.AddCommand("Get-Location").AddParameter("PSProvider", "FileSystem").Invoke();
        return result.Count > 0 && result[0].BaseObject is PathInfo path ? path.ProviderPath : null;
    }

    /// <summary>The backend named by -Backend on the command line, else the configured one.</summary>
    public static HPCBackendKind? BackendOf(IDictionary fakeBoundParameters, CcatSettings settings)
    {
        var given = fakeBoundParameters["Backend"] is { } b ? (b is PSObject p ? p.BaseObject : b) : null;
        if (given is HPCBackendKind kind) return kind;
        if (given is string s && HPCBackendKind.TryParse(s, out var parsed)) return parsed;
        try
        {
            return settings.Backend;
        }
        catch (CcatException)
        {
            return null;
        }
    }

    /// <summary>
    /// The newest jobs of the backend the command line names, read-only and within
    /// <see cref="Deadline"/>; cached for a few seconds; empty when they cannot be read in time.
    /// </summary>
    public static IReadOnlyList<HPCJobInfo> Jobs(IDictionary fakeBoundParameters)
    {
        var settings = Settings();
        if (settings is null || BackendOf(fakeBoundParameters, settings) is not { } kind) return [];
        var key = "jobs\n" + kind + "\n" + settings.Fingerprint(SettingsSchema.All.Select(d => d.Name).ToList());
        return CompletionCache.Get(key, () => PeekJobs(kind, settings));
    }

    private static IReadOnlyList<HPCJobInfo> PeekJobs(HPCBackendKind kind, CcatSettings settings)
    {
        try
        {
            var backend = BackendRegistry.Get(kind, settings);
            using var deadline = new CancellationTokenSource(Deadline);
            var task = Task.Run(() => backend.PeekJobsAsync(MaxJobs, deadline.Token));
            return task.Wait(Deadline) ? task.Result : [];
        }
        catch (Exception e) when (e is CcatException or AggregateException or OperationCanceledException)
        {
            return [];
        }
    }

    /// <summary>The word being completed, without the quotes the user may have typed.</summary>
    public static string Unquote(string? word) => (word ?? "").Trim('\'', '"');

    /// <summary>A value as a completion: quoted when it needs to be.</summary>
    public static string Quote(string value) =>
        value.Any(c => char.IsWhiteSpace(c) || "'\"`$;,(){}[]@#|&<>".Contains(c)) ? "'" + value.Replace("'", "''") + "'" : value;
}
