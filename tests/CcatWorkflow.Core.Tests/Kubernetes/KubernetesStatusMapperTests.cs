using CcatWorkflow.Core.Backends.Kubernetes;
using k8s.Models;
using static CcatWorkflow.Core.Tests.Kubernetes.K8sObjects;

namespace CcatWorkflow.Core.Tests.Kubernetes;

public class KubernetesStatusMapperTests
{
    private static readonly DateTimeOffset Now = new(T0.AddMinutes(10));

    private static KubernetesJobRecord Record(DateTimeOffset? cancelled = null) =>
        new() { JobId = "job-bcdfg", JobName = "My Job", SubmittedAt = new DateTimeOffset(T0), Cpu = 2, CancelRequestedAt = cancelled };

    private static KubernetesStatus Map(V1Job? job, params V1Pod[] pods) => Map(job, Record(), pods);

    private static KubernetesStatus Map(V1Job? job, KubernetesJobRecord? record, params V1Pod[] pods) =>
        KubernetesStatusMapper.Map("job-bcdfg", job, pods, record, Now) ?? throw new Xunit.Sdk.XunitException("not found");

    [Fact]
    public void A_job_without_a_pod_yet_is_pending()
    {
        var s = Map(Job());
        Assert.Equal(HPCJobStatus.Pending, s.Info.Status);
        Assert.Equal("My Job", s.Info.JobName);
        Assert.Equal(new DateTimeOffset(T0), s.Info.SubmittedAt);
        Assert.Null(s.Info.WallTimeSeconds);
        Assert.False(s.NeedsCapture);
    }

    [Fact]
    public void A_container_being_created_is_pending()
    {
        var s = Map(Job(), Pod("Pending", Waiting("ContainerCreating")));
        Assert.Equal(HPCJobStatus.Pending, s.Info.Status);
        Assert.Equal(HPCJobReason.None, s.Info.Reason);
        Assert.Equal("ContainerCreating", s.Info.Message);
    }

    [Fact]
    public void A_running_container_is_running_with_the_time_so_far()
    {
        var s = Map(Job(), Pod("Running", Running(T0.AddMinutes(1))));
        Assert.Equal(HPCJobStatus.Running, s.Info.Status);
        Assert.Equal(new DateTimeOffset(T0.AddMinutes(1)), s.Info.StartedAt);
        Assert.Equal(540, s.Info.WallTimeSeconds);
        Assert.Null(s.Info.FinishedAt);
        Assert.Null(s.Info.ExitCode);
    }

    [Fact]
    public void A_complete_job_is_completed_with_exit_0_and_wall_time_from_the_container_timestamps()
    {
        var s = Map(Job(conditions: [Condition("SuccessCriteriaMet", "CompletionsReached"), Condition("Complete", "CompletionsReached")]),
            Pod("Succeeded", Terminated(0, "Completed", T0.AddSeconds(30), T0.AddSeconds(95))));
        Assert.Equal(HPCJobStatus.Completed, s.Info.Status);
        Assert.Equal(0, s.Info.ExitCode);
        Assert.Equal(65, s.Info.WallTimeSeconds);
        Assert.Equal(new DateTimeOffset(T0.AddSeconds(95)), s.Info.FinishedAt);
        Assert.Equal(65.0 / 3600 * 2, s.Info.AllocatedCpuHours!.Value, 9);
        Assert.Null(s.Info.CpuHours);
        Assert.Null(s.Info.PeakMemoryGb);
        Assert.True(s.NeedsCapture);
        Assert.False(s.DeleteJob);
    }

    [Fact]
    public void A_non_zero_exit_fails_with_its_code()
    {
        var s = Map(Job(conditions: [Condition("FailureTarget", "BackoffLimitExceeded"), Condition("Failed", "BackoffLimitExceeded")]),
            Pod("Failed", Terminated(3, "Error", T0, T0.AddSeconds(2))));
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(3, s.Info.ExitCode);
        Assert.Equal(HPCJobReason.NonZeroExit, s.Info.Reason);
        Assert.Equal(2, s.Info.WallTimeSeconds);
        Assert.Contains("job Failed (BackoffLimitExceeded)", s.Info.NativeState);
        Assert.Contains("exit 3", s.Info.NativeState);
    }

    [Fact]
    public void A_failed_pod_is_the_result_before_the_job_controller_catches_up()
    {
        var s = Map(Job(), Pod("Failed", Terminated(3, "Error", T0, T0.AddSeconds(2))));
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(3, s.Info.ExitCode);
    }

    [Fact]
    public void With_retries_allowed_a_failed_pod_is_not_yet_the_end()
    {
        var s = Map(Job(backoffLimit: 2), Pod("Failed", Terminated(3, "Error", T0, T0.AddSeconds(2))));
        Assert.Equal(HPCJobStatus.Pending, s.Info.Status);
    }

    [Fact]
    public void OOMKilled_is_out_of_memory()
    {
        var s = Map(Job(conditions: Condition("Failed", "BackoffLimitExceeded")), Pod("Failed", Terminated(137, "OOMKilled", T0, T0.AddSeconds(40))));
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(HPCJobReason.OutOfMemory, s.Info.Reason);
        Assert.Equal(137, s.Info.ExitCode);
        Assert.Equal(40, s.Info.WallTimeSeconds);
    }

    [Fact]
    public void DeadlineExceeded_is_a_timeout_even_when_the_pod_is_gone()
    {
        var s = Map(Job(conditions: Condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")));
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(HPCJobReason.Timeout, s.Info.Reason);
        Assert.Null(s.Info.ExitCode);
        Assert.Equal("Job was active longer than specified deadline", s.Info.Message);
        Assert.Equal(new DateTimeOffset(T0.AddMinutes(5)), s.Info.FinishedAt);
    }

    [Fact]
    public void A_pod_deadline_is_a_timeout_too()
    {
        var s = Map(Job(conditions: Condition("Failed", "BackoffLimitExceeded")), Pod("Failed", Terminated(137, "Error", T0, T0.AddSeconds(5)), reason: "DeadlineExceeded"));
        Assert.Equal(HPCJobReason.Timeout, s.Info.Reason);
    }

    [Fact]
    public void An_evicted_pod_is_evicted()
    {
        var s = Map(Job(conditions: Condition("Failed", "BackoffLimitExceeded")),
            Pod("Failed", Terminated(137, "ContainerStatusUnknown", T0, T0.AddSeconds(5)), reason: "Evicted", message: "The node was low on resource: memory."));
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(HPCJobReason.Evicted, s.Info.Reason);
        Assert.Equal("The node was low on resource: memory.", s.Info.Message);
    }

    [Theory]
    [InlineData("ErrImagePull")]
    [InlineData("ImagePullBackOff")]
    [InlineData("InvalidImageName")]
    [InlineData("ErrImageNeverPull")]
    public void Image_pull_failures_fail_fast_and_ask_for_the_job_to_be_deleted(string reason)
    {
        var s = Map(Job(), Pod("Pending", Waiting(reason, "pull access denied")));
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(HPCJobReason.ImagePullFailure, s.Info.Reason);
        Assert.Equal($"{reason}: pull access denied", s.Info.Message);
        Assert.Null(s.Info.ExitCode);
        Assert.True(s.NeedsCapture);
        Assert.True(s.DeleteJob);
    }

    [Fact]
    public void Unschedulable_is_pending_with_that_reason()
    {
        var s = Map(Job(), Pod("Pending", null, conditions:
            [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 Insufficient cpu." }]));
        Assert.Equal(HPCJobStatus.Pending, s.Info.Status);
        Assert.Equal(HPCJobReason.Unschedulable, s.Info.Reason);
        Assert.Equal("0/3 nodes are available: 3 Insufficient cpu.", s.Info.Message);
        Assert.False(s.NeedsCapture);
    }

    [Fact]
    public void A_start_error_is_a_launch_failure()
    {
        var s = Map(Job(conditions: Condition("Failed", "BackoffLimitExceeded")), Pod("Failed", Terminated(128, "StartError", T0, T0, "exec: \"nope\": executable file not found")));
        Assert.Equal(HPCJobReason.LaunchFailure, s.Info.Reason);
        Assert.Equal(128, s.Info.ExitCode);
    }

    [Fact]
    public void The_newest_pod_speaks_for_the_job()
    {
        var older = Pod("Failed", Terminated(1, "Error", T0, T0.AddSeconds(1)), name: "job-bcdfg-aaaaa");
        var newer = Pod("Running", Running(T0.AddSeconds(20)), name: "job-bcdfg-bbbbb");
        newer.Metadata.CreationTimestamp = T0.AddSeconds(15);
        var s = Map(Job(backoffLimit: 3), older, newer);
        Assert.Equal(HPCJobStatus.Running, s.Info.Status);
    }

    [Fact]
    public void A_vanished_job_with_a_record_reads_lost()
    {
        var s = Map(null, Record());
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(HPCJobReason.Lost, s.Info.Reason);
        Assert.Equal("My Job", s.Info.JobName);
        Assert.Null(s.Info.ExitCode);
        Assert.False(s.NeedsCapture);
    }

    [Fact]
    public void A_cancelled_job_reads_cancelled_with_the_time_it_ran()
    {
        var r = Record(new DateTimeOffset(T0.AddMinutes(3))) with { StartedAt = new DateTimeOffset(T0.AddMinutes(1)) };
        var s = Map(null, r);
        Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
        Assert.Equal(HPCJobReason.Cancelled, s.Info.Reason);
        Assert.Equal(120, s.Info.WallTimeSeconds);
        Assert.Equal(new DateTimeOffset(T0.AddMinutes(3)), s.Info.FinishedAt);
    }

    [Fact]
    public void A_job_being_deleted_after_a_cancel_reads_cancelled()
    {
        var job = Job();
        job.Metadata.DeletionTimestamp = T0.AddMinutes(3);
        var s = Map(job, Record(new DateTimeOffset(T0.AddMinutes(3))), Pod("Running", Running(T0)));
        Assert.Equal(HPCJobReason.Cancelled, s.Info.Reason);
    }

    [Fact]
    public void A_cancel_that_did_not_delete_the_job_does_not_hide_that_it_runs()
    {
        var s = Map(Job(), Record(new DateTimeOffset(T0.AddMinutes(3))), Pod("Running", Running(T0)));
        Assert.Equal(HPCJobStatus.Running, s.Info.Status);
    }

    [Fact]
    public void A_captured_record_wins_so_a_job_removed_by_its_ttl_keeps_its_result()
    {
        var r = Record() with
        {
            FinalStatus = HPCJobStatus.Failed, FinalReason = HPCJobReason.OutOfMemory, ExitCode = 137,
            StartedAt = new DateTimeOffset(T0), FinishedAt = new DateTimeOffset(T0.AddSeconds(30)), NativeState = "pod Failed",
        };
        foreach (var job in new[] { null, Job() })
        {
            var s = Map(job, r);
            Assert.Equal(HPCJobStatus.Failed, s.Info.Status);
            Assert.Equal(HPCJobReason.OutOfMemory, s.Info.Reason);
            Assert.Equal(137, s.Info.ExitCode);
            Assert.Equal(30, s.Info.WallTimeSeconds);
            Assert.Equal(30.0 / 3600 * 2, s.Info.AllocatedCpuHours!.Value, 9);
            Assert.False(s.NeedsCapture);
        }
    }

    [Fact]
    public void Neither_job_nor_record_is_not_found() =>
        Assert.Null(KubernetesStatusMapper.Map("job-bcdfg", null, [], null, Now));

    [Fact]
    public void A_job_without_a_record_maps_live_but_cannot_be_captured()
    {
        var s = Map(Job(conditions: Condition("Complete", "CompletionsReached")), (KubernetesJobRecord?)null, Pod("Succeeded", Terminated(0, "Completed", T0, T0.AddSeconds(1))));
        Assert.Equal(HPCJobStatus.Completed, s.Info.Status);
        Assert.False(s.NeedsCapture);
    }

    [Fact]
    public void The_record_round_trips_what_a_capture_writes()
    {
        var info = new HPCJobInfo("job-bcdfg", HPCBackendKind.Kubernetes, HPCJobStatus.Failed, exitCode: 3, reason: HPCJobReason.NonZeroExit,
            startedAt: new DateTimeOffset(T0), finishedAt: new DateTimeOffset(T0.AddSeconds(7)), nativeState: "pod Failed", message: "exit 3");
        var data = KubernetesJobRecord.CaptureData(info, logCaptured: true, Now);
        var cm = new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "job-bcdfg" },
            Data = data.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!),
        };
        cm.Data["jobName"] = "My Job";
        var r = KubernetesJobRecord.FromConfigMap(cm);
        Assert.True(r.IsCaptured);
        Assert.Equal(HPCJobStatus.Failed, r.FinalStatus);
        Assert.Equal(HPCJobReason.NonZeroExit, r.FinalReason);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal(new DateTimeOffset(T0.AddSeconds(7)), r.FinishedAt);
        Assert.True(r.LogCaptured);
    }
}
