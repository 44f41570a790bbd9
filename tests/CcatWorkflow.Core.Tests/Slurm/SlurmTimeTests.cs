using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SlurmTimeTests
{
    [Theory]
    [InlineData("00:00:04", 4)]
    [InlineData("01:02:03", 3723)]
    [InlineData("1-02:03:04", 93784)]
    [InlineData("3-07:12:45", 3 * 86400 + 7 * 3600 + 12 * 60 + 45)]
    [InlineData("12-00:00:00", 12 * 86400)]
    [InlineData("00:03.380", 3.38)]
    [InlineData("00:00.001", 0.001)]
    [InlineData("59:59.999", 3599.999)]
    [InlineData("0:05", 5)]
    [InlineData("2-03", 2 * 86400 + 3 * 3600)]
    [InlineData("2-03:04", 2 * 86400 + 3 * 3600 + 4 * 60)]
    [InlineData("42", 42)]
    [InlineData("1-02:03:04.500", 93784.5)]
    public void Parses_every_duration_form(string text, double seconds)
    {
        var parsed = SlurmTime.ParseDuration(text);
        Assert.NotNull(parsed);
        Assert.Equal(seconds, parsed.Value.TotalSeconds, 3);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("INVALID")]
    [InlineData("UNLIMITED")]
    [InlineData("Partition_Limit")]
    [InlineData("N/A")]
    [InlineData("1:2:3:4")]
    [InlineData("-5")]
    [InlineData("1.5:00")]
    public void Words_and_garbage_are_not_durations(string? text) => Assert.Null(SlurmTime.ParseDuration(text));

    [Theory]
    [InlineData(2, "02:00:00")]
    [InlineData(0.5, "00:30:00")]
    [InlineData(1.0 / 60, "00:01:00")]
    [InlineData(0.001, "00:01:00")]       // 3.6 s rounds up to a whole minute
    [InlineData(1.01, "01:01:00")]        // 60.6 min → 61
    [InlineData(0.1, "00:06:00")]         // 0.1 * 60 is 6.000000000000001 in binary: still 6
    [InlineData(23.5, "23:30:00")]
    [InlineData(23.99, "1-00:00:00")]     // 1439.4 min rounds up to 1440 min = one day
    [InlineData(24, "1-00:00:00")]
    [InlineData(25, "1-01:00:00")]
    [InlineData(36.5, "1-12:30:00")]
    [InlineData(72.25, "3-00:15:00")]
    public void Formats_time_limits(double hours, string expected) => Assert.Equal(expected, SlurmTime.FormatTimeLimit(hours));

    [Fact]
    public void Time_limit_refuses_nonsense()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SlurmTime.FormatTimeLimit(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SlurmTime.FormatTimeLimit(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SlurmTime.FormatTimeLimit(double.NaN));
    }

    [Fact]
    public void Timestamps_are_epoch_seconds_or_local_iso()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795655922), SlurmTime.ParseTimestamp("1795655922"));
        Assert.Null(SlurmTime.ParseTimestamp("Unknown"));
        Assert.Null(SlurmTime.ParseTimestamp("None"));
        Assert.Null(SlurmTime.ParseTimestamp("N/A"));
        Assert.Null(SlurmTime.ParseTimestamp(""));
        Assert.Null(SlurmTime.ParseTimestamp("0"));
        var iso = SlurmTime.ParseTimestamp("2026-11-26T01:19:58");
        Assert.Equal(new DateTimeOffset(new DateTime(2026, 11, 26, 1, 19, 58, DateTimeKind.Local)), iso);
    }

    [Fact]
    public void Query_time_is_local_iso_that_parses_back()
    {
        var t = DateTimeOffset.FromUnixTimeSeconds(1795655922);
        var text = SlurmTime.FormatQueryTime(t);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", text);
        Assert.Equal(t, SlurmTime.ParseTimestamp(text));
    }
}
