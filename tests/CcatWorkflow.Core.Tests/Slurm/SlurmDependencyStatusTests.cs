using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SlurmDependencyStatusTests
{
    private static SacctJob Sacct(string id) =>
        SacctParser.Parse(RecordedOutput.Read("sacct-array-pending.txt")).Single(j => j.JobId == id);

    private static HPCJobInfo Info(SlurmJobEvidence e)
    {
        var r = SlurmStatusResolver.Resolve(e, _ => null);
        Assert.Null(r.Error);
        return r.Info!;
    }

    private static SqueueJob Row(string id, string state, string reason) => new(id, state, reason, null, null, null, "/w", "j");

    [Fact]
    public void Pending_on_a_dependency_reads_waiting_for_dependency()
    {
        var info = Info(new SlurmJobEvidence { JobId = "133", Squeue = Row("133", "PENDING", "Dependency") });
        Assert.Equal((HPCJobStatus.Pending, HPCJobReason.WaitingForDependency), (info.Status, info.Reason));
    }

    [Fact]
    public void A_dependent_slurm_killed_reads_failed_never_satisfied_from_squeue()
    {
        var info = Info(new SlurmJobEvidence { JobId = "127", Squeue = Row("127", "CANCELLED", "DependencyNeverSatisfied") });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.DependencyNeverSatisfied), (info.Status, info.Reason));
        Assert.True(info.IsFinished);
    }

    [Fact]
    public void A_job_left_pending_on_a_dependency_that_can_never_be_met_is_not_pending_for_ever()
    {
        var info = Info(new SlurmJobEvidence { JobId = "9", Squeue = Row("9", "PENDING", "DependencyNeverSatisfied") });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.DependencyNeverSatisfied), (info.Status, info.Reason));
    }

    [Theory]
    [InlineData("115")] // killed while it waited: Reason=Dependency, never started
    [InlineData("127")] // killed as it was submitted: Reason=None, Start=End
    public void A_dependent_slurm_killed_reads_failed_never_satisfied_from_sacct_alone(string id)
    {
        var info = Info(new SlurmJobEvidence { JobId = id, Sacct = Sacct(id), HasDependency = true });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.DependencyNeverSatisfied), (info.Status, info.Reason));
        Assert.Equal("CANCELLED", info.NativeState);
    }

    [Fact]
    public void Without_a_recorded_dependency_a_plain_cancel_stays_cancelled()
    {
        var info = Info(new SlurmJobEvidence { JobId = "127", Sacct = Sacct("127") });
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
    }

    [Fact]
    public void Elements_carry_their_array_id_and_index()
    {
        var info = Info(new SlurmJobEvidence { JobId = "160_7", Sacct = Sacct("160_7") });
        Assert.Equal(("160", 7), (info.ArrayJobId, info.ArrayIndex));
        Assert.Equal(HPCJobStatus.Pending, info.Status);
        var single = Info(new SlurmJobEvidence { JobId = "127", Sacct = Sacct("127") });
        Assert.Null(single.ArrayJobId);
        Assert.Null(single.ArrayIndex);
    }

    [Fact]
    public void An_element_no_source_lists_while_its_siblings_are_accounted_was_cancelled_before_it_started()
    {
        var folder = new SlurmJobFolder("160_2", "/w", DateTimeOffset.FromUnixTimeSeconds(1796659514), 2);
        var gone = Info(new SlurmJobEvidence { JobId = "160_2", Folder = folder, ArrayHasOtherRecords = true });
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Cancelled), (gone.Status, gone.Reason));
        Assert.Equal(2, gone.ArrayIndex);

        // Too new for accounting to list any element: pending, not cancelled.
        var fresh = Info(new SlurmJobEvidence { JobId = "160_2", Folder = folder });
        Assert.Equal(HPCJobStatus.Pending, fresh.Status);
    }
}
