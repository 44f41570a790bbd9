using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SlurmStatusResolverTests
{
    private static readonly SlurmJobFolder Folder = new("1", "/tmp/sl", DateTimeOffset.FromUnixTimeSeconds(1795655900));

    private static SacctJob Sacct(string file, string id) => SacctParser.Parse(RecordedOutput.Read(file)).Single(j => j.JobId == id);

    private static SqueueJob Squeue(string id) => SqueueParser.Parse(RecordedOutput.Read("squeue-mixed.txt")).Single(j => j.JobId == id);

    private static HPCJobInfo Info(SlurmJobEvidence e, string? stderr = null)
    {
        var r = SlurmStatusResolver.Resolve(e, _ => stderr);
        Assert.Null(r.Error);
        return r.Info!;
    }

    [Fact]
    public void Exit_three_reads_failed_non_zero_exit_with_metrics_from_sacct()
    {
        var info = Info(new SlurmJobEvidence { JobId = "1", Folder = Folder, Sacct = Sacct("sacct-finished.txt", "1") });
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.NonZeroExit, info.Reason);
        Assert.Equal(3, info.ExitCode);
        Assert.Equal(0, info.WallTimeSeconds);
        Assert.Equal(0.001 / 3600, info.CpuHours!.Value, 9);
        Assert.Equal(0, info.AllocatedCpuHours);
        Assert.Null(info.PeakMemoryGb); // accounting recorded nothing
        Assert.Equal("FAILED", info.NativeState);
        Assert.NotNull(info.FinishedAt);
    }

    [Fact]
    public void Cancelled_by_zero()
    {
        var info = Info(new SlurmJobEvidence { JobId = "2", Sacct = Sacct("sacct-finished.txt", "2") });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Cancelled), (info.Status, info.Reason));
        Assert.Equal("CANCELLED by 0", info.NativeState);
        Assert.Null(info.ExitCode);
        Assert.Equal(3208.0 * 1024 / SlurmMemory.BytesPerGb, info.PeakMemoryGb!.Value, 9);
        Assert.Equal(4, info.WallTimeSeconds);
    }

    [Fact]
    public void Memory_cpu_timeout_and_over_memory_kill()
    {
        var mem = Info(new SlurmJobEvidence { JobId = "307", Sacct = Sacct("sacct-finished.txt", "307") });
        Assert.Equal(HPCJobStatus.Completed, mem.Status);
        Assert.Equal(0, mem.ExitCode);
        Assert.Equal(312084.0 / 1024 / 1024, mem.PeakMemoryGb!.Value, 6);

        var cpu = Info(new SlurmJobEvidence { JobId = "311", Sacct = Sacct("sacct-finished.txt", "311") });
        Assert.Equal(3.38 / 3600, cpu.CpuHours!.Value, 9);
        Assert.Equal(4.0 / 3600, cpu.AllocatedCpuHours!.Value, 9);

        var timeout = Info(new SlurmJobEvidence { JobId = "309", Sacct = Sacct("sacct-finished.txt", "309") });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Timeout), (timeout.Status, timeout.Reason));
        Assert.Equal(72, timeout.WallTimeSeconds);

        var killFolder = Folder with { JobId = "308" };
        var oom = Info(new SlurmJobEvidence { JobId = "308", Folder = killFolder, Sacct = Sacct("sacct-finished.txt", "308") with { WorkDir = killFolder.Path } },
            "slurmstepd-vm: error: StepId=308.batch exceeded memory limit (233525248 > 104857600), being killed\n");
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.OutOfMemory, 137), (oom.Status, oom.Reason, oom.ExitCode));

        var signaled = Info(new SlurmJobEvidence { JobId = "308", Folder = killFolder, Sacct = Sacct("sacct-finished.txt", "308") }, "Killed\n");
        Assert.Equal(HPCJobReason.Signaled, signaled.Reason);
    }

    [Fact]
    public void Job_that_never_started_has_no_metrics()
    {
        var info = Info(new SlurmJobEvidence { JobId = "4245", Sacct = Sacct("sacct-multiday.txt", "4245") });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Cancelled), (info.Status, info.Reason));
        Assert.Null(info.WallTimeSeconds);
        Assert.Null(info.CpuHours);
        Assert.Null(info.AllocatedCpuHours);
        Assert.Null(info.PeakMemoryGb);
        Assert.Null(info.StartedAt);
    }

    [Fact]
    public void Multi_day_job()
    {
        var info = Info(new SlurmJobEvidence { JobId = "4242", Sacct = Sacct("sacct-multiday.txt", "4242") });
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal(199900, info.WallTimeSeconds);
        Assert.Equal((3 * 86400 + 7 * 3600 + 12 * 60 + 45) / 3600.0, info.CpuHours!.Value, 9);
        Assert.Equal(799600 / 3600.0, info.AllocatedCpuHours!.Value, 9);
        Assert.Equal(2.25, info.PeakMemoryGb!.Value, 9);
    }

    [Fact]
    public void Live_squeue_wins_over_an_older_sacct_record()
    {
        // A requeued job: accounting still holds the preempted attempt, the controller says pending.
        var preempted = Sacct("sacct-finished.txt", "1") with { State = "PREEMPTED" };
        var info = Info(new SlurmJobEvidence { JobId = "310", Squeue = Squeue("310"), Sacct = preempted });
        Assert.Equal(HPCJobStatus.Pending, info.Status);
        Assert.Equal("BeginTime", info.Message);
        Assert.Null(info.StartedAt); // %S of a pending job is only the expected start

        var running = Info(new SlurmJobEvidence { JobId = "316", Squeue = Squeue("316") });
        Assert.Equal(HPCJobStatus.Running, running.Status);
        Assert.Equal(1, running.WallTimeSeconds);
        Assert.Equal("my job|x", running.JobName);
    }

    [Fact]
    public void Completing_without_a_final_record_is_still_running()
    {
        var info = Info(new SlurmJobEvidence { JobId = "319", Squeue = Squeue("319") });
        Assert.Equal(HPCJobStatus.Running, info.Status);
        Assert.Equal("COMPLETING", info.NativeState);
    }

    [Fact]
    public void Ended_in_squeue_but_not_in_sacct_yet_waits_for_accounting()
    {
        var running = Sacct("sacct-finished.txt", "1") with { State = "RUNNING", End = null };
        var info = Info(new SlurmJobEvidence { JobId = "318", Squeue = Squeue("318"), Sacct = running });
        Assert.Equal(HPCJobStatus.Running, info.Status);
        Assert.Equal("FAILED", info.NativeState);
        Assert.Contains("waiting for the accounting record", info.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Completing_with_a_final_sacct_record_is_final()
    {
        var info = Info(new SlurmJobEvidence { JobId = "2", Squeue = Squeue("319") with { JobId = "2" }, Sacct = Sacct("sacct-finished.txt", "2") });
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
    }

    [Fact]
    public void Cancel_requested_reads_cancelled_at_once()
    {
        var info = Info(new SlurmJobEvidence { JobId = "316", Squeue = Squeue("316"), CancelRequested = true });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Cancelled), (info.Status, info.Reason));
        Assert.Equal("RUNNING", info.NativeState);
    }

    [Fact]
    public void Cancel_requested_does_not_hide_a_real_end()
    {
        var info = Info(new SlurmJobEvidence { JobId = "307", Sacct = Sacct("sacct-finished.txt", "307"), CancelRequested = true });
        Assert.Equal(HPCJobStatus.Completed, info.Status);
    }

    [Fact]
    public void Forgotten_by_squeue_and_unknown_to_sacct_is_not_failed()
    {
        var info = Info(new SlurmJobEvidence { JobId = "1", Folder = Folder });
        Assert.Equal(HPCJobStatus.Pending, info.Status);
        Assert.Equal(Folder.SubmittedAt, info.SubmittedAt);

        var last = new HPCJobInfo("1", HPCBackendKind.Slurm, HPCJobStatus.Running);
        Assert.Same(last, Info(new SlurmJobEvidence { JobId = "1", Folder = Folder, LastKnown = last }));
    }

    [Fact]
    public void Unknown_everywhere_and_not_ours_is_not_found()
    {
        var r = SlurmStatusResolver.Resolve(new SlurmJobEvidence { JobId = "99999" }, _ => null);
        Assert.Null(r.Info);
        Assert.Equal(CcatErrorId.JobNotFound, r.Error!.ErrorId);
    }

    [Fact]
    public void Accounting_outage_is_an_error_of_its_own_not_a_failure()
    {
        var outage = new CcatException(CcatErrorId.SchedulerUnavailable, "Slurm could not be asked: sacct: error: Problem talking to the database: Connection refused");
        var r = SlurmStatusResolver.Resolve(new SlurmJobEvidence { JobId = "1", Folder = Folder, AccountingError = outage }, _ => null);
        Assert.Null(r.Info);
        Assert.Equal(CcatErrorId.SchedulerUnavailable, r.Error!.ErrorId);
        Assert.Equal("1", r.Error.JobId);

        // a live job is still answered from squeue
        var live = SlurmStatusResolver.Resolve(new SlurmJobEvidence { JobId = "316", Squeue = Squeue("316"), AccountingError = outage }, _ => null);
        Assert.Equal(HPCJobStatus.Running, live.Info!.Status);
    }

    [Fact]
    public void Old_record_with_a_reused_id_is_not_ours()
    {
        var ours = new SlurmJobFolder("1", "/shared/ccat/.ccat-slurm/20261126T010000Z-0123456789", DateTimeOffset.FromUnixTimeSeconds(1795655900));
        var old = SacctParser.Parse(RecordedOutput.Read("sacct-reused-id.txt")).Single();
        Assert.False(SlurmStatusResolver.IsSameJob(ours, old));
        Assert.False(SlurmStatusResolver.IsSameJob(ours, old with { WorkDir = null })); // and by submit time
        Assert.True(SlurmStatusResolver.IsSameJob(ours, old with { WorkDir = ours.Path + "/" }));
        Assert.True(SlurmStatusResolver.IsSameJob(null, old)); // a job we did not submit: take what Slurm says
    }

    [Fact]
    public void Array_parent_aggregates_its_tasks()
    {
        var tasks = new[] { "306_1", "306_2", "306_3" }
            .Select(t => Info(new SlurmJobEvidence { JobId = t, Sacct = Sacct("sacct-finished.txt", t) })).ToList();
        var array = SlurmStatusResolver.AggregateArray("306", tasks);
        Assert.Equal("306", array.JobId);
        Assert.Equal(HPCJobStatus.Failed, array.Status);
        Assert.Equal(1, array.ExitCode);
        Assert.Equal(HPCJobReason.NonZeroExit, array.Reason);
        Assert.Equal(2, array.WallTimeSeconds);
        Assert.Equal(0.009 / 3600, array.CpuHours!.Value, 9);
        Assert.Contains("3 failed", array.Message, StringComparison.Ordinal);
    }
}
