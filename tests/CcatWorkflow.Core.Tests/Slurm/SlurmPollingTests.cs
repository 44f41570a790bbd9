using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Tests.Slurm;

public sealed class SlurmPollingTests
{
    [Theory]
    [InlineData(0, 2)]      // the first seconds: the configured interval
    [InlineData(12, 2)]
    [InlineData(60, 10)]    // after a minute: at most 6 calls a minute
    [InlineData(180, 30)]
    [InlineData(3600, 60)]  // never longer than a minute
    public void The_pause_grows_with_the_wait_to_a_minute(double waitedSeconds, double expected)
    {
        Assert.Equal(expected, SlurmPolling.LongestPause(2, TimeSpan.FromSeconds(waitedSeconds)), 3);
    }

    [Fact]
    public void A_configured_interval_longer_than_the_growth_is_kept()
    {
        Assert.Equal(120, SlurmPolling.LongestPause(120, TimeSpan.FromSeconds(30)));
    }
}
