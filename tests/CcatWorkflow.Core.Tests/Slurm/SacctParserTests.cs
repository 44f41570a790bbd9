using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SacctParserTests
{
    private static Dictionary<string, SacctJob> Parse(string file) =>
        SacctParser.Parse(RecordedOutput.Read(file)).ToDictionary(j => j.JobId);

    [Fact]
    public void Folds_steps_into_their_jobs()
    {
        var jobs = SacctParser.Parse(RecordedOutput.Read("sacct-finished.txt"));
        Assert.Equal(["1", "2", "307", "308", "309", "310", "311", "306_1", "306_2", "306_3"], jobs.Select(j => j.JobId));
        Assert.Equal(0, jobs.Single(j => j.JobId == "310").StepCount);
        Assert.Equal(1, jobs.Single(j => j.JobId == "307").StepCount);
    }

    [Fact]
    public void Exit_three_job()
    {
        var j = Parse("sacct-finished.txt")["1"];
        Assert.Equal("FAILED", j.State);
        Assert.Equal(new SlurmExitCode(3, 0), j.ExitCode);
        Assert.Equal(0, j.ElapsedSeconds);
        Assert.Equal(0.001, j.TotalCpu!.Value.TotalSeconds, 6);
        Assert.Null(j.MaxRssBytes); // neither row recorded one
        Assert.Equal("/tmp/sl", j.WorkDir);
        Assert.Equal("wrap", j.JobName);
        Assert.Null(j.Comment);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795655922), j.Submit);
    }

    [Fact]
    public void Cancelled_by_uid_keeps_the_native_text_and_step_memory()
    {
        var j = Parse("sacct-finished.txt")["2"];
        Assert.Equal("CANCELLED by 0", j.State);
        Assert.Equal(new SlurmExitCode(0, 0), j.ExitCode);
        Assert.Equal(3208L * 1024, j.MaxRssBytes); // from the .batch step only
        Assert.Equal("ccat-workflow", j.Comment);
        Assert.Equal(4, j.CpuTimeRawSeconds);
    }

    [Fact]
    public void Memory_and_cpu_jobs()
    {
        var jobs = Parse("sacct-finished.txt");
        Assert.Equal(312084L * 1024, jobs["307"].MaxRssBytes);
        Assert.Equal(3.38, jobs["311"].TotalCpu!.Value.TotalSeconds, 3);
        Assert.Equal(new SlurmExitCode(0, 9), jobs["308"].ExitCode);
        Assert.Equal("TIMEOUT", jobs["309"].State);
        Assert.Equal(72, jobs["309"].ElapsedSeconds);
    }

    [Fact]
    public void Pending_job_has_no_start_and_keeps_its_reason()
    {
        var j = Parse("sacct-finished.txt")["310"];
        Assert.Equal("PENDING", j.State);
        Assert.Null(j.Start);
        Assert.Null(j.End);
        Assert.Equal("BeginTime", j.Reason);
        Assert.Null(j.MaxRssBytes);
    }

    [Fact]
    public void Array_tasks_have_their_own_ids_and_raw_ids()
    {
        var jobs = Parse("sacct-finished.txt");
        Assert.Equal("312", jobs["306_1"].JobIdRaw);
        Assert.Equal("306", jobs["306_3"].JobIdRaw);
        Assert.Equal(new SlurmExitCode(2, 0), jobs["306_2"].ExitCode);
        Assert.Equal(3108L * 1024, jobs["306_2"].MaxRssBytes);
    }

    [Fact]
    public void Multi_day_times_and_max_rss_over_all_steps()
    {
        var jobs = Parse("sacct-multiday.txt");
        var j = jobs["4242"];
        Assert.Equal(3, j.StepCount);
        Assert.Equal(199900, j.ElapsedSeconds);
        Assert.Equal(3 * 86400 + 7 * 3600 + 12 * 60 + 45, j.TotalCpu!.Value.TotalSeconds, 3);
        Assert.Equal(2359296L * 1024, j.MaxRssBytes); // 2.25 GiB on step .0 beats 1.50G on .batch
        Assert.Equal(799600, j.CpuTimeRawSeconds);
        Assert.Equal(4, j.AllocCpus);

        Assert.Equal(12 * 3600 + 34 * 60 + 56, jobs["4243"].TotalCpu!.Value.TotalSeconds, 3);
        Assert.Equal(1L << 40, jobs["4243"].MaxRssBytes);
    }

    [Fact]
    public void Heterogeneous_component_truncated_state_and_pipes_in_names()
    {
        var jobs = Parse("sacct-multiday.txt");
        Assert.Equal(59.25, jobs["4244+0"].TotalCpu!.Value.TotalSeconds, 3);
        Assert.Equal((long)(512.25 * 1024 * 1024), jobs["4244+0"].MaxRssBytes);
        Assert.Equal("CANCELLED+", jobs["4245"].State);
        Assert.Null(jobs["4245"].Start);
        var oom = jobs["4246"];
        Assert.Equal("a|b|c", oom.JobName);
        Assert.Equal("/tmp", oom.WorkDir);
        Assert.Null(oom.Comment);
        Assert.Equal(new SlurmExitCode(0, 125), oom.ExitCode);
        Assert.Equal(1048576, oom.MaxRssBytes);
    }

    [Fact]
    public void Ignores_lines_that_are_not_rows()
    {
        var text = "sacct: warning: something\n\n" + RecordedOutput.Read("sacct-reused-id.txt") + "garbage|x\n";
        var jobs = SacctParser.Parse(text);
        Assert.Single(jobs);
        Assert.Equal(1024L * 1024, jobs[0].MaxRssBytes);
    }
}
