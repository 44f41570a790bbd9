using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SqueueParserTests
{
    [Fact]
    public void Parses_the_recorded_mix()
    {
        var rows = SqueueParser.Parse(RecordedOutput.Read("squeue-mixed.txt")).ToDictionary(r => r.JobId);
        Assert.Equal(7, rows.Count);
        Assert.Equal("COMPLETING", rows["319"].State);
        Assert.Equal("FAILED", rows["318"].State);
        Assert.Equal("NonZeroExitCode", rows["318"].Reason);
        Assert.Equal("PENDING", rows["310"].State);
        Assert.Equal("BeginTime", rows["310"].Reason);
        Assert.Equal(["317_1", "317_2", "317_3"], rows.Keys.Where(k => k.StartsWith("317", StringComparison.Ordinal)).Order());
        var running = rows["316"];
        Assert.Equal("RUNNING", running.State);
        Assert.Equal(1, running.TimeUsed!.Value.TotalSeconds);
        Assert.Equal("my job|x", running.Name);
        Assert.Equal("/tmp/sl", running.WorkDir);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795656298), running.Start);
    }

    [Fact]
    public void Time_used_in_day_form()
    {
        var rows = SqueueParser.Parse("77|RUNNING|None|2-03:04:05|1795656297|1795656298|/w|n\n");
        Assert.Equal(2 * 86400 + 3 * 3600 + 4 * 60 + 5, rows[0].TimeUsed!.Value.TotalSeconds);
    }

    [Fact]
    public void Empty_and_error_text_give_no_rows()
    {
        Assert.Empty(SqueueParser.Parse(""));
        Assert.Empty(SqueueParser.Parse("slurm_load_jobs error: Invalid job id specified\n"));
    }
}
