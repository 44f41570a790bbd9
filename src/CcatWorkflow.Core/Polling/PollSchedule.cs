using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Polling;

/// <summary>
/// The module's one polling policy, shared by Wait-CcatJob and the PowerShell jobs' monitor:
/// the first pause is short (a short job's end is seen at once), each pause is 1.5 times the
/// last, up to the configured interval (POLL_INTERVAL_SECONDS or -PollInterval). While Slurm is
/// asked, no pause is shorter than the administrator's floor (SLURM_MIN_POLL_SECONDS) and the
/// longest pause may grow with the wait (<see cref="SlurmPolling"/>).
/// </summary>
public sealed class PollSchedule
{
    /// <summary>The first pause, in seconds.</summary>
    public const double FirstPauseSeconds = 0.2;

    /// <summary>
    /// The first pause while only Local jobs are waited for, in seconds: a look is a few file
    /// reads on this machine, and a trivial job ends within milliseconds of its submission. The
    /// pauses grow 1.5 times each as before, so a long wait polls no more often than otherwise
    /// after its first second.
    /// </summary>
    public const double LocalFirstPauseSeconds = 0.05;

    private readonly double _maxPause;
    private readonly double _slurmFloor;
    private double _pause;

    /// <summary>Creates a schedule.</summary>
    /// <param name="maxPauseSeconds">The longest pause while no Slurm job is asked about: POLL_INTERVAL_SECONDS or -PollInterval.</param>
    /// <param name="slurmFloorSeconds">SLURM_MIN_POLL_SECONDS: the shortest pause while a Slurm job is asked about.</param>
    /// <param name="firstPauseSeconds">The first pause (<see cref="FirstPauseSeconds"/>, or <see cref="LocalFirstPauseSeconds"/> for Local jobs only).</param>
    public PollSchedule(double maxPauseSeconds, double slurmFloorSeconds, double firstPauseSeconds = FirstPauseSeconds)
    {
        _maxPause = maxPauseSeconds;
        _slurmFloor = slurmFloorSeconds;
        _pause = Math.Min(firstPauseSeconds, maxPauseSeconds);
    }

    /// <summary>The pause before the next poll, in seconds; the one after it is longer.</summary>
    /// <param name="slurm">True while a Slurm job is among those asked about.</param>
    /// <param name="waited">How long the wait has run so far.</param>
    public double NextPause(bool slurm, TimeSpan waited)
    {
        var sleep = slurm ? Math.Max(_pause, _slurmFloor) : _pause;
        _pause = Math.Min(slurm ? SlurmPolling.LongestPause(_maxPause, waited) : _maxPause, _pause * 1.5);
        return sleep;
    }
}
