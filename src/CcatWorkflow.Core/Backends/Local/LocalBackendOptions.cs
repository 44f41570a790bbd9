using System.Globalization;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>Everything the Local backend takes from settings, plus the timings of its rules.</summary>
internal sealed record LocalBackendOptions
{
    /// <summary>The store and LOCAL_JOB_DIR.</summary>
    public required LocalStoreOptions Store { get; init; }

    /// <summary>LOCAL_CANCEL_GRACE_SECONDS: TERM, this long, then KILL.</summary>
    public TimeSpan CancelGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a submission waits for its runner to report the job started.</summary>
    public TimeSpan LaunchTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A job whose runner has not reported for this long after submission is lost. Longer than
    /// <see cref="LaunchTimeout"/>: a submitter that is still waiting rolls the job back itself.
    /// </summary>
    public TimeSpan LaunchGrace { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A runner on another host whose heartbeat is older than this is presumed gone.</summary>
    public TimeSpan HeartbeatStale { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a cancel waits for the runner to end the job beyond the grace period.</summary>
    public TimeSpan CancelSlack { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The runner assembly; null = next to Core (or in its runner/ folder).</summary>
    public string? RunnerAssemblyPath { get; init; }

    /// <summary>The dotnet host; null = found by <see cref="DotnetHost.Find"/>.</summary>
    public string? DotnetPath { get; init; }

    /// <summary>LOCAL_RUNNER: which runner starts jobs (auto = native where one fits, else managed).</summary>
    public LocalRunnerMode RunnerMode { get; init; } = LocalRunnerMode.Auto;

    /// <summary>The native runner; null = <c>native/&lt;rid&gt;/ccat-runner</c> beside Core.</summary>
    public string? NativeRunnerPath { get; init; }

    /// <summary>LOCAL_JOB_DIR.</summary>
    public string JobRoot => Store.JobRoot;

    /// <summary>Reads and validates the Local settings.</summary>
    public static LocalBackendOptions FromSettings(CcatSettings settings)
    {
        // Checked when the settings loaded (LocalBackendDescriptor's rules).
        var grace = settings.GetFloat("LOCAL_CANCEL_GRACE_SECONDS");

        return new LocalBackendOptions
        {
            Store = LocalStoreOptions.FromSettings(settings),
            CancelGrace = TimeSpan.FromSeconds(grace),
            RunnerMode = settings.GetString("LOCAL_RUNNER").Trim().ToLowerInvariant() switch
            {
                "native" => LocalRunnerMode.Native,
                "managed" => LocalRunnerMode.Managed,
                _ => LocalRunnerMode.Auto,
            },
        };
    }
}
