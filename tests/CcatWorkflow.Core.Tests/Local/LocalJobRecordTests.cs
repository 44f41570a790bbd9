using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.Core.Tests.Local;

public class LocalJobRecordTests
{
    [Theory]
    [InlineData("2026-11-26T01:02:03", 1)]
    [InlineData("2026-11-26T01:02:03Z", 1)]
    [InlineData("2026-11-26T02:02:03+01:00", 1)]
    public void A_time_without_an_offset_is_UTC_and_one_with_an_offset_keeps_it(string text, int utcHour)
    {
        var t = new LocalJobRecord(new Dictionary<string, string> { ["started_at"] = text }).Time("started_at");
        Assert.NotNull(t);
        Assert.Equal(utcHour, t!.Value.UtcDateTime.Hour);
    }

    [Fact]
    public void A_missing_or_unreadable_time_is_null_not_a_made_up_value()
    {
        var r = new LocalJobRecord(new Dictionary<string, string> { ["started_at"] = "soon", ["finished_at"] = "" });
        Assert.Null(r.Time("started_at"));
        Assert.Null(r.Time("finished_at"));
        Assert.Null(r.Time("submitted_at"));
    }
}
