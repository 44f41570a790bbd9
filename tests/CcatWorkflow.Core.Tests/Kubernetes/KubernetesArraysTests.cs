using System.Diagnostics;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Submission;
using k8s.Models;
using static CcatWorkflow.Core.Tests.Kubernetes.K8sObjects;

namespace CcatWorkflow.Core.Tests.Kubernetes;

public class KubernetesArraysTests
{
    private static readonly KubernetesOptions Options = new() { Namespace = "ccat-workflows", RunnerImage = "registry.example/runner:1.3", DependencyPollSeconds = 7 };
    private static readonly DateTimeOffset Now = new(T0.AddMinutes(10));

    private static JobSubmission Submission(string? array = "0-9", int? throttle = null, JobDependency? dependency = null) => new()
    {
        ExecutionCommand = "echo \"$CCAT_ARRAY_INDEX\" 'a b'",
        JobName = "Scan",
        ArrayIndex = array is null ? null : ArrayIndexSpec.Parse(array),
        ThrottleLimit = throttle,
        Dependency = dependency,
    };

    [Fact]
    public void An_array_is_one_indexed_job_with_per_index_backoff_0_and_the_throttle_as_parallelism()
    {
        var job = KubernetesJobSpecBuilder.BuildJob(Submission("1,3,5-9", throttle: 3), Options, "scan-bcdfg");
        Assert.Equal("Indexed", job.Spec.CompletionMode);
        Assert.Equal(7, job.Spec.Completions);
        Assert.Equal(3, job.Spec.Parallelism);
        Assert.Equal(0, job.Spec.BackoffLimitPerIndex);
        Assert.Null(job.Spec.BackoffLimit); // a Job-wide 0 would fail every element at the first failure
        Assert.Equal("1,3,5-9", job.Metadata.Annotations[KubernetesArraySpecBuilder.ArrayIndexAnnotation]);
        var c = job.Spec.Template.Spec.Containers[0];
        Assert.Equal(5, c.Command.Count);
        Assert.Equal(Submission().ExecutionCommand, c.Command[4]); // passed as an argument, never pasted into the script
        var cancelled = Assert.Single(c.Env, e => e.Name == KubernetesArraySpecBuilder.CancelledIndexesVariable);
        Assert.Equal("scan-bcdfg", cancelled.ValueFrom.ConfigMapKeyRef.Name);
        Assert.True(cancelled.ValueFrom.ConfigMapKeyRef.Optional);
    }

    [Fact]
    public void Without_a_throttle_every_element_may_run_at_once_and_a_plain_job_is_unchanged()
    {
        Assert.Equal(10, KubernetesJobSpecBuilder.BuildJob(Submission("0-9"), Options, "scan-bcdfg").Spec.Parallelism);
        var plain = KubernetesJobSpecBuilder.BuildJob(Submission(array: null), Options, "scan-bcdfg");
        Assert.Null(plain.Spec.CompletionMode);
        Assert.Equal(0, plain.Spec.BackoffLimit);
        Assert.Null(plain.Spec.Template.Spec.InitContainers);
    }

    [Fact]
    public void The_record_holds_the_spec_and_throttle_once_for_the_whole_array()
    {
        var record = KubernetesJobSpecBuilder.BuildRecord(Submission("0-99:2", throttle: 5), Options, "scan-bcdfg", Now);
        Assert.Equal("0-99:2", record.Data["arrayIndex"]);
        Assert.Equal("5", record.Data["throttle"]);
        var array = KubernetesArrayRecord.FromConfigMap(record)!;
        Assert.Equal(50, array.Spec.Indices.Count);
        Assert.Equal(5, array.Throttle);
    }

    [Theory]
    [InlineData("0-9")]
    [InlineData("0-99:2")]
    [InlineData("1,3,5-9")]
    [InlineData("7")]
    [InlineData("2,5,9-11:2,40,41,100-104")]
    public void The_lookup_gives_every_completion_position_its_real_index(string spec)
    {
        var array = ArrayIndexSpec.Parse(spec);
        var script = KubernetesArraySpecBuilder.ElementScript(array);
        for (var p = 0; p < array.Indices.Count; p++)
        {
            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "-c", script, "ccat-array-element", "echo \"$CCAT_ARRAY_INDEX\"" }) psi.ArgumentList.Add(a);
            psi.Environment["JOB_COMPLETION_INDEX"] = p.ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var proc = Process.Start(psi)!;
            var output = proc.StandardOutput.ReadToEnd().Trim();
            proc.WaitForExit();
            Assert.Equal(array.Indices[p].ToString(System.Globalization.CultureInfo.InvariantCulture), output);
            Assert.Equal(p, KubernetesArraySpecBuilder.PositionOf(array, array.Indices[p]));
        }
    }

    [Fact]
    public void An_element_cancelled_before_it_started_ends_at_once_with_143_without_running_the_command()
    {
        var script = KubernetesArraySpecBuilder.ElementScript(ArrayIndexSpec.Parse("3-5"));
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", script, "ccat-array-element", "echo ran" }) psi.ArgumentList.Add(a);
        psi.Environment["JOB_COMPLETION_INDEX"] = "1";
        psi.Environment[KubernetesArraySpecBuilder.CancelledIndexesVariable] = "3,4";
        using var proc = Process.Start(psi)!;
        var output = proc.StandardOutput.ReadToEnd();
        var error = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        Assert.Equal(143, proc.ExitCode);
        Assert.DoesNotContain("ran", output, StringComparison.Ordinal);
        Assert.Contains("element 4 was cancelled before it started", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Even_ten_thousand_indices_in_one_range_are_one_line_of_lookup()
    {
        Assert.Single(KubernetesArraySpecBuilder.Runs(ArrayIndexSpec.Parse("0-9999").Indices));
        Assert.Equal([(1, 2, 3), (6, 1, 4)], KubernetesArraySpecBuilder.Runs(ArrayIndexSpec.Parse("1,3,5-9").Indices));
    }

    [Theory]
    [InlineData("", new int[0])]
    [InlineData("1", new[] { 1 })]
    [InlineData("1,2", new[] { 1, 2 })]
    [InlineData("0,2-4,9", new[] { 0, 2, 3, 4, 9 })]
    public void Index_intervals_read_and_write_the_job_controllers_form(string text, int[] indexes)
    {
        Assert.Equal(indexes, KubernetesIndexIntervals.Parse(text).Order());
        Assert.Equal(text, KubernetesIndexIntervals.Format(indexes));
    }

    [Fact]
    public void A_dependency_is_an_init_container_waiting_through_the_api_with_the_parents_in_its_environment()
    {
        var job = KubernetesJobSpecBuilder.BuildJob(Submission(array: null, dependency: new JobDependency(["prep-bcdfg", "scan-ghjkl:3"], DependencyCondition.AfterNotOk)), Options, "combine-bcdfg");
        var init = Assert.Single(job.Spec.Template.Spec.InitContainers);
        Assert.Equal(KubernetesDependencyWaiter.ContainerName, init.Name);
        Assert.Equal("curlimages/curl:8.11.1", init.Image);
        Assert.Equal("FallbackToLogsOnError", init.TerminationMessagePolicy);
        Assert.Equal("prep-bcdfg scan-ghjkl:3", init.Env.Single(e => e.Name == "CCAT_DEPENDS_ON").Value);
        Assert.Equal("AfterNotOk", init.Env.Single(e => e.Name == "CCAT_DEPENDENCY_CONDITION").Value);
        Assert.Equal("7", init.Env.Single(e => e.Name == "CCAT_POLL_SECONDS").Value);
        Assert.DoesNotContain("prep-bcdfg", init.Command[2], StringComparison.Ordinal); // values reach the script through its environment
    }

    // ------------------------------------------------------------------ status mapping

    private static V1Job ArrayJob(string? completed = null, string? failed = null, params V1JobCondition[] conditions)
    {
        var job = Job("scan-bcdfg", conditions: conditions);
        job.Spec.CompletionMode = "Indexed";
        job.Status.CompletedIndexes = completed;
        job.Status.FailedIndexes = failed;
        return job;
    }

    private static V1Pod ElementPod(int position, string phase, V1ContainerState state)
    {
        var pod = Pod(phase, state, name: $"scan-bcdfg-{position}-xyz12");
        pod.Metadata.Labels[KubernetesArraySpecBuilder.CompletionIndexLabel] = position.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return pod;
    }

    private static KubernetesArrayRecord Array(string spec, int? throttle = null, string cancelled = "") =>
        KubernetesArrayRecord.FromConfigMap(new V1ConfigMap
        {
            Data = new Dictionary<string, string> { ["arrayIndex"] = spec, ["throttle"] = throttle?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", ["cancelledIndexes"] = cancelled },
        })!;

    private static readonly KubernetesJobRecord Record = new() { JobId = "scan-bcdfg", JobName = "Scan", SubmittedAt = new DateTimeOffset(T0), Cpu = 2 };

    [Fact]
    public void Each_element_reads_its_own_state_from_the_indexes_and_its_pod()
    {
        var pods = new[]
        {
            ElementPod(0, "Succeeded", Terminated(0, "Completed", T0.AddSeconds(5), T0.AddSeconds(9))),
            ElementPod(1, "Failed", Terminated(1, "Error", T0.AddSeconds(5), T0.AddSeconds(8))),
            ElementPod(2, "Running", Running(T0.AddSeconds(6))),
        };
        var e = KubernetesArrayStatusMapper.MapElements("scan-bcdfg", Array("10-13", throttle: 3), ArrayJob("0", "1"), pods, Record, Now);
        Assert.Equal(["scan-bcdfg_10", "scan-bcdfg_11", "scan-bcdfg_12", "scan-bcdfg_13"], e.Select(i => i.JobId));
        Assert.All(e, i => Assert.Equal("scan-bcdfg", i.ArrayJobId));
        Assert.Equal([10, 11, 12, 13], e.Select(i => i.ArrayIndex!.Value));
        Assert.Equal((HPCJobStatus.Completed, 0), (e[0].Status, e[0].ExitCode));
        Assert.Equal((HPCJobStatus.Failed, 1, HPCJobReason.NonZeroExit), (e[1].Status, e[1].ExitCode, e[1].Reason));
        Assert.Equal(HPCJobStatus.Running, e[2].Status);
        Assert.Equal(HPCJobStatus.Pending, e[3].Status);
        Assert.Contains("at most 3", e[3].Message, StringComparison.Ordinal);
        Assert.Equal(2, e[0].RequestedCpu);

        var summary = ArrayStatus.Aggregate("scan-bcdfg", HPCBackendKind.Kubernetes, e);
        Assert.Equal(HPCJobStatus.Running, summary.Status);
        Assert.Equal(HPCBackendKind.Kubernetes, summary.Backend);
    }

    [Fact]
    public void A_cancelled_element_reads_cancelled_and_a_vanished_array_reads_cancelled_or_lost()
    {
        var e = KubernetesArrayStatusMapper.MapElements("scan-bcdfg", Array("0-1", cancelled: "1"), ArrayJob(), [], Record, Now);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Cancelled), (e[1].Status, e[1].Reason));
        Assert.Equal(HPCJobStatus.Pending, e[0].Status);

        var lost = KubernetesArrayStatusMapper.MapElements("scan-bcdfg", Array("0-1"), null, [], Record, Now);
        Assert.All(lost, i => Assert.Equal(HPCJobReason.Lost, i.Reason));
        var cancelled = KubernetesArrayStatusMapper.MapElements("scan-bcdfg", Array("0-1"), null, [], Record with { CancelRequestedAt = Now }, Now);
        Assert.All(cancelled, i => Assert.Equal(HPCJobReason.Cancelled, i.Reason));
    }

    [Fact]
    public void Captured_results_survive_the_job_and_an_element_past_a_failed_job_deadline_is_a_timeout()
    {
        var cm = new V1ConfigMap
        {
            Data = new Dictionary<string, string>
            {
                ["arrayIndex"] = "0-1",
                ["elements"] = "0|Completed|None|0|2026-03-01T10:00:05.000Z|2026-03-01T10:00:09.000Z\n1|Failed|OutOfMemory|137||\n",
                ["capturedAt"] = "2026-03-01T10:05:00.000Z",
            },
        };
        var e = KubernetesArrayStatusMapper.MapElements("scan-bcdfg", KubernetesArrayRecord.FromConfigMap(cm)!, null, [], Record, Now);
        Assert.Equal((HPCJobStatus.Completed, 0, 4.0), (e[0].Status, e[0].ExitCode, e[0].WallTimeSeconds!.Value));
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.OutOfMemory, 137), (e[1].Status, e[1].Reason, e[1].ExitCode!.Value));

        var timedOut = KubernetesArrayStatusMapper.MapElements("scan-bcdfg", Array("0-1"), ArrayJob("0", "", Condition("Failed", "DeadlineExceeded")),
            [ElementPod(0, "Succeeded", Terminated(0, "Completed", T0, T0.AddSeconds(1)))], Record, Now);
        Assert.Equal(HPCJobStatus.Completed, timedOut[0].Status);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Timeout), (timedOut[1].Status, timedOut[1].Reason));
    }

    [Fact]
    public void A_pod_waiting_in_its_dependency_init_container_is_pending_waiting_for_dependency()
    {
        var job = Job();
        job.Spec.Template.Spec.InitContainers = [new V1Container { Name = KubernetesDependencyWaiter.ContainerName, Image = "curl" }];
        job.Metadata.Annotations[KubernetesDependencyWaiter.DependsOnAnnotation] = "prep-bcdfg";
        Assert.Equal(HPCJobReason.WaitingForDependency, KubernetesStatusMapper.Map("job-bcdfg", job, [], null, Now)!.Info.Reason);

        var pod = Pod("Pending", Waiting("PodInitializing"));
        pod.Status.InitContainerStatuses = [new V1ContainerStatus { Name = KubernetesDependencyWaiter.ContainerName, State = Running(T0) }];
        var s = KubernetesStatusMapper.Map("job-bcdfg", job, [pod], null, Now)!.Info;
        Assert.Equal((HPCJobStatus.Pending, HPCJobReason.WaitingForDependency), (s.Status, s.Reason));
        Assert.Contains("prep-bcdfg", s.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, HPCJobReason.DependencyNeverSatisfied)]
    [InlineData(4, HPCJobReason.LaunchFailure)]
    public void A_waiter_that_ended_non_zero_fails_the_job_with_its_reason_and_last_line(int exit, HPCJobReason reason)
    {
        var job = Job(conditions: [Condition("Failed", "BackoffLimitExceeded")]);
        var pod = Pod("Failed", Waiting("PodInitializing"));
        pod.Status.InitContainerStatuses =
        [
            new V1ContainerStatus { Name = KubernetesDependencyWaiter.ContainerName, State = Terminated(exit, "Error", T0, T0.AddSeconds(3), "waiting\nccat-workflow: the reason") },
        ];
        var s = KubernetesStatusMapper.Map("job-bcdfg", job, [pod], null, Now)!.Info;
        Assert.Equal((HPCJobStatus.Failed, reason), (s.Status, s.Reason));
        Assert.Equal("ccat-workflow: the reason", s.Message);
        Assert.Null(s.ExitCode);
    }

    [Fact]
    public async Task An_element_of_an_array_in_another_namespace_is_known_as_namespace_slash_element()
    {
        Assert.True(KubernetesBackend.IsQualifiedJobId("team-a/scan-bcdfg_7"));
        Assert.True(KubernetesBackend.IsQualifiedJobId("team-a/scan-bcdfg"));
        Assert.False(KubernetesBackend.IsQualifiedJobId("team-a/Scan_7"));
        Assert.False(KubernetesBackend.IsQualifiedJobId("team_a/scan-bcdfg_7"));
        await using var b = new KubernetesBackend(Options);
        Assert.Equal("scan-bcdfg_7", b.NormalizeJobId("ccat-workflows/scan-bcdfg_7")); // K8S_NAMESPACE's own: the plain id
        Assert.Equal("team-a/scan-bcdfg_7", b.NormalizeJobId("team-a/scan-bcdfg_7"));
    }

    [Fact]
    public void An_elements_saved_log_has_a_valid_name_of_its_own_and_the_record_lists_the_saved_indices()
    {
        var name = KubernetesNames.ElementLogConfigMapName("scan-bcdfg", 7);
        Assert.Equal("scan-bcdfg.7.log", name);
        Assert.True(KubernetesNames.IsDnsSubdomain(name));
        Assert.NotEqual(KubernetesNames.LogConfigMapName("scan-bcdfg"), name);

        var record = KubernetesJobSpecBuilder.BuildRecord(Submission("0-9"), Options, "scan-bcdfg", Now);
        Assert.Empty(KubernetesArrayRecord.FromConfigMap(record)!.SavedLogIndexes);
        record.Data["savedLogs"] = "0,2-4";
        Assert.Equal([0, 2, 3, 4], KubernetesArrayRecord.FromConfigMap(record)!.SavedLogIndexes.Order());
    }

    [Fact]
    public void A_re_run_of_failed_elements_records_the_original_array()
    {
        var rerun = KubernetesJobSpecBuilder.BuildRecord(Submission("1,3") with { RetryOf = "scan-bcdfg" }, Options, "scan-hjklm", Now);
        Assert.Equal("scan-bcdfg", rerun.Data["retryOf"]);
        Assert.False(KubernetesJobSpecBuilder.BuildRecord(Submission("1,3"), Options, "scan-hjklm", Now).Data.ContainsKey("retryOf"));
    }
}
