using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Polling;

namespace CcatWorkflow.Core.Tests.Shared;

public sealed class PollScheduleTests
{
    [Fact]
    public void Pauses_start_short_and_grow_by_half_to_the_configured_interval()
    {
        var schedule = new PollSchedule(maxPauseSeconds: 1, slurmFloorSeconds: 0);
        var pauses = Enumerable.Range(0, 7).Select(_ => schedule.NextPause(slurm: false, TimeSpan.Zero)).ToList();
        Assert.Equal([0.2, 0.3, 0.45, 0.675, 1, 1, 1], pauses.Select(p => Math.Round(p, 4)));
    }

    [Fact]
    public void A_configured_interval_shorter_than_the_first_pause_is_the_first_pause()
    {
        var schedule = new PollSchedule(maxPauseSeconds: 0.05, slurmFloorSeconds: 0);
        Assert.Equal(0.05, schedule.NextPause(slurm: false, TimeSpan.Zero));
        Assert.Equal(0.05, schedule.NextPause(slurm: false, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void While_Slurm_is_asked_no_pause_undercuts_the_floor()
    {
        var schedule = new PollSchedule(maxPauseSeconds: 0.5, slurmFloorSeconds: 5);
        Assert.Equal(5, schedule.NextPause(slurm: true, TimeSpan.Zero));
        Assert.Equal(5, schedule.NextPause(slurm: true, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void While_Slurm_is_asked_the_pause_grows_with_the_wait_beyond_the_interval()
    {
        var schedule = new PollSchedule(maxPauseSeconds: 2, slurmFloorSeconds: 0);
        var last = 0.0;
        for (var i = 0; i < 40; i++) last = schedule.NextPause(slurm: true, TimeSpan.FromMinutes(10));
        Assert.Equal(SlurmPolling.LongestPause(2, TimeSpan.FromMinutes(10)), last, 3);
        Assert.True(last > 2);
    }

    [Fact]
    public void Local_waits_look_again_sooner_at_first_and_reach_the_same_interval()
    {
        var schedule = new PollSchedule(maxPauseSeconds: 1, slurmFloorSeconds: 0, PollSchedule.LocalFirstPauseSeconds);
        var pauses = Enumerable.Range(0, 12).Select(_ => schedule.NextPause(slurm: false, TimeSpan.Zero)).ToList();
        Assert.Equal(0.05, pauses[0]);
        Assert.Equal(0.075, Math.Round(pauses[1], 4));
        Assert.Equal(1, pauses[^1]); // a long wait polls no more often than any other
        Assert.True(pauses.Take(8).Sum() < 2.5, "the first eight looks fall within the first 2.5 s");
    }
}
