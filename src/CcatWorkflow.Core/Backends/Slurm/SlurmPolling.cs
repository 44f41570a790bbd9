namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// How often Slurm is asked while waiting. Sites ask users for a few scheduler calls a minute,
/// but a short job's end should still be seen within seconds: the pause starts short and may
/// grow with the wait — a sixth of the time waited so far (10 s after one minute, 30 s after
/// three), at most <see cref="MaxPause"/> — and never below the configured poll interval.
/// </summary>
public static class SlurmPolling
{
    /// <summary>The longest pause the wait ever grows to.</summary>
    public static TimeSpan MaxPause { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest pause between two status calls after waiting <paramref name="waited"/>, in seconds.</summary>
    /// <param name="configuredSeconds">POLL_INTERVAL_SECONDS or -PollInterval: the pause of the first seconds.</param>
    /// <param name="waited">How long the wait has run.</param>
    public static double LongestPause(double configuredSeconds, TimeSpan waited) =>
        Math.Max(configuredSeconds, Math.Min(MaxPause.TotalSeconds, waited.TotalSeconds / 6));
}
