using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SlurmStateMapTests
{
    [Theory]
    [InlineData("PENDING", SlurmStatePhase.Pending)]
    [InlineData("PD", SlurmStatePhase.Pending)]
    [InlineData("REQUEUED", SlurmStatePhase.Pending)]
    [InlineData("REQUEUE_HOLD", SlurmStatePhase.Pending)]
    [InlineData("REQUEUE_FED", SlurmStatePhase.Pending)]
    [InlineData("RESV_DEL_HOLD", SlurmStatePhase.Pending)]
    [InlineData("SPECIAL_EXIT", SlurmStatePhase.Pending)]
    [InlineData("RUNNING", SlurmStatePhase.Running)]
    [InlineData("R", SlurmStatePhase.Running)]
    [InlineData("CONFIGURING", SlurmStatePhase.Running)]
    [InlineData("SUSPENDED", SlurmStatePhase.Running)]
    [InlineData("STOPPED", SlurmStatePhase.Running)]
    [InlineData("SIGNALING", SlurmStatePhase.Running)]
    [InlineData("RESIZING", SlurmStatePhase.Running)]
    [InlineData("COMPLETING", SlurmStatePhase.Ending)]
    [InlineData("CG", SlurmStatePhase.Ending)]
    [InlineData("STAGE_OUT", SlurmStatePhase.Ending)]
    [InlineData("COMPLETED", SlurmStatePhase.Terminal)]
    [InlineData("CANCELLED by 0", SlurmStatePhase.Terminal)]
    [InlineData("CANCELLED+", SlurmStatePhase.Terminal)]
    [InlineData("CA", SlurmStatePhase.Terminal)]
    [InlineData("FAILED", SlurmStatePhase.Terminal)]
    [InlineData("TIMEOUT", SlurmStatePhase.Terminal)]
    [InlineData("NODE_FAIL", SlurmStatePhase.Terminal)]
    [InlineData("PREEMPTED", SlurmStatePhase.Terminal)]
    [InlineData("OUT_OF_MEMORY", SlurmStatePhase.Terminal)]
    [InlineData("OOM", SlurmStatePhase.Terminal)]
    [InlineData("BOOT_FAIL", SlurmStatePhase.Terminal)]
    [InlineData("DEADLINE", SlurmStatePhase.Terminal)]
    [InlineData("REVOKED", SlurmStatePhase.Terminal)]
    [InlineData("SOMETHING_NEW", SlurmStatePhase.Unknown)]
    [InlineData("", SlurmStatePhase.Unknown)]
    public void Phases(string state, SlurmStatePhase phase) => Assert.Equal(phase, SlurmStateMap.PhaseOf(state));

    [Theory]
    [InlineData("COMPLETED", 0, 0, HPCJobStatus.Completed, HPCJobReason.None, 0)]
    [InlineData("FAILED", 3, 0, HPCJobStatus.Failed, HPCJobReason.NonZeroExit, 3)]
    [InlineData("FAILED", 0, 9, HPCJobStatus.Failed, HPCJobReason.Signaled, 137)]
    [InlineData("FAILED", 0, 0, HPCJobStatus.Failed, HPCJobReason.LaunchFailure, null)]
    [InlineData("CANCELLED by 0", 0, 0, HPCJobStatus.Failed, HPCJobReason.Cancelled, null)]
    [InlineData("CANCELLED", 0, 15, HPCJobStatus.Failed, HPCJobReason.Cancelled, 143)]
    [InlineData("TIMEOUT", 0, 0, HPCJobStatus.Failed, HPCJobReason.Timeout, null)]
    [InlineData("OUT_OF_MEMORY", 0, 125, HPCJobStatus.Failed, HPCJobReason.OutOfMemory, null)]
    [InlineData("NODE_FAIL", 0, 0, HPCJobStatus.Failed, HPCJobReason.NodeFailure, null)]
    [InlineData("PREEMPTED", 0, 0, HPCJobStatus.Failed, HPCJobReason.Preempted, null)]
    [InlineData("BOOT_FAIL", 0, 0, HPCJobStatus.Failed, HPCJobReason.BootFailure, null)]
    [InlineData("DEADLINE", 0, 0, HPCJobStatus.Failed, HPCJobReason.Deadline, null)]
    [InlineData("REVOKED", 0, 0, HPCJobStatus.Failed, HPCJobReason.Unknown, null)]
    [InlineData("COMPLETED", 2, 0, HPCJobStatus.Failed, HPCJobReason.NonZeroExit, 2)]
    public void Finished_states(string state, int code, int signal, HPCJobStatus status, HPCJobReason reason, int? exit)
    {
        var (s, r, e) = SlurmStateMap.MapFinished(state, new SlurmExitCode(code, signal), memoryKillInLog: false);
        Assert.Equal(status, s);
        Assert.Equal(reason, r);
        Assert.Equal(exit, e);
    }

    [Fact]
    public void Over_memory_kill_without_cgroups_reads_out_of_memory()
    {
        var tail = "slurmstepd-vm: error: StepId=308.batch exceeded memory limit (233525248 > 104857600), being killed\n";
        Assert.True(SlurmStateMap.IsMemoryKillMessage(tail));
        var (s, r, e) = SlurmStateMap.MapFinished("FAILED", new SlurmExitCode(0, 9), SlurmStateMap.IsMemoryKillMessage(tail));
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.OutOfMemory, 137), (s, r, e));
        Assert.False(SlurmStateMap.IsMemoryKillMessage("Killed\n"));
    }

    [Theory]
    [InlineData("3:0", 3, 0)]
    [InlineData("0:9", 0, 9)]
    [InlineData("0:125", 0, 125)]
    [InlineData("255:0", 255, 0)]
    [InlineData("7", 7, 0)]
    public void Exit_codes(string text, int code, int signal) => Assert.Equal(new SlurmExitCode(code, signal), SlurmExitCode.Parse(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("x:y")]
    [InlineData("1:2:3")]
    public void Bad_exit_codes(string? text) => Assert.Null(SlurmExitCode.Parse(text));

    [Theory]
    [InlineData("Priority", HPCJobReason.None)]
    [InlineData("Resources", HPCJobReason.None)]
    [InlineData("BeginTime", HPCJobReason.None)]
    [InlineData("None", HPCJobReason.None)]
    [InlineData("PartitionTimeLimit", HPCJobReason.Unschedulable)]
    [InlineData("BadConstraints", HPCJobReason.Unschedulable)]
    [InlineData("QOSMaxWallDurationPerJobLimit", HPCJobReason.Unschedulable)]
    [InlineData("DependencyNeverSatisfied", HPCJobReason.DependencyNeverSatisfied)]
    [InlineData("Dependency", HPCJobReason.WaitingForDependency)]
    public void Pending_reasons(string reason, HPCJobReason expected) => Assert.Equal(expected, SlurmStateMap.PendingReason(reason));
}
