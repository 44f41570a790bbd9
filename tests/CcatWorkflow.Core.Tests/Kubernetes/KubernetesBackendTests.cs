using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;
using CcatWorkflow.KubeApiDouble;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>The backend end to end against the double, over HTTPS with a bearer token.</summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public class KubernetesBackendTests(KubeDoubleFixture fx) : IClassFixture<KubeDoubleFixture>
{
    private const string Manual = KubeDoubleFixture.ManualNamespace;
    private const string Run = KubeDoubleFixture.RunNamespace;
    private static readonly CancellationToken None = CancellationToken.None;

    private static JobSubmission Job(string command, string name = "k8s test", ResourceRequirements? resources = null,
        IReadOnlyList<KeyValuePair<string, string>>? env = null) => new()
    {
        ExecutionCommand = command,
        JobName = name,
        Resources = resources ?? ResourceRequirements.None,
        Environment = env ?? [],
    };

    private async Task<List<V1Pod>> PodsOf(string ns, string id)
    {
        using var c = fx.Client();
        return (await c.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"ccat-workflow/job-id={id}")).Items.ToList();
    }

    [Fact]
    public async Task A_job_that_exits_3_reads_failed_with_exit_code_3_and_wall_time_from_the_pod_timestamps()
    {
        await using var b = fx.Backend();
        var id = await b.SubmitAsync(Job("echo to-stdout; echo to-stderr >&2; sleep 1; exit 3", "Exit Three"), None);
        Assert.Matches("^exit-three-[a-z0-9]{5}$", id);

        var info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(3, info.ExitCode);
        Assert.Equal(HPCJobReason.NonZeroExit, info.Reason);
        Assert.Equal("Exit Three", info.JobName);
        Assert.Equal(HPCBackendKind.Kubernetes, info.Backend);

        var pod = Assert.Single(await PodsOf(Run, id));
        var t = pod.Status.ContainerStatuses[0].State.Terminated;
        Assert.Equal(new DateTimeOffset(t.StartedAt!.Value), info.StartedAt);
        Assert.Equal(new DateTimeOffset(t.FinishedAt!.Value), info.FinishedAt);
        Assert.Equal((t.FinishedAt!.Value - t.StartedAt!.Value).TotalSeconds, info.WallTimeSeconds);
        Assert.True(info.WallTimeSeconds >= 1);
        Assert.Null(info.CpuHours);
        Assert.Null(info.PeakMemoryGb);

        var log = await b.GetLogsAsync(id, LogQuery.All, None);
        Assert.Contains("to-stdout\n", log);
        Assert.Contains("to-stderr\n", log);
    }

    [Fact]
    public async Task A_job_that_exits_0_completes_and_sees_its_environment_and_resources()
    {
        await using var b = fx.Backend();
        var id = await b.SubmitAsync(Job("echo \"value=[$MY_VAR]\"", resources: new ResourceRequirements(2, 1.5, 1, null),
            env: [new("MY_VAR", "it's $HOME; `x`")]), None);
        var info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal(0, info.ExitCode);
        Assert.Equal(HPCJobReason.None, info.Reason);
        Assert.NotNull(info.AllocatedCpuHours);
        Assert.Equal("value=[it's $HOME; `x`]\n", await b.GetLogsAsync(id, LogQuery.All, None));

        using var c = fx.Client();
        var job = await c.BatchV1.ReadNamespacedJobAsync(id, Run);
        Assert.Equal(3600, job.Spec.ActiveDeadlineSeconds);
        Assert.Equal("1536Mi", job.Spec.Template.Spec.Containers[0].Resources.Limits["memory"].ToString());
    }

    [Fact]
    public async Task A_cancelled_job_leaves_no_pod_behind_and_reads_cancelled()
    {
        await using var b = fx.Backend();
        var id = await b.SubmitAsync(Job("sleep 120"), None);
        await Eventually.Until(() => b.GetStatusAsync(id, None), i => i.Status == HPCJobStatus.Running);
        var pod = Assert.Single(await PodsOf(Run, id));
        var process = fx.Server.Cluster.Runtime(Run, pod.Metadata.Name)!.Process!;

        await b.CancelAsync(id, None);
        await Eventually.Until(() => PodsOf(Run, id), pods => pods.Count == 0);
        Assert.True(process.HasExited);

        var info = await b.GetStatusAsync(id, None);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
        Assert.NotNull(info.StartedAt);
        Assert.NotNull(info.WallTimeSeconds);

        // Cancelling again, or cancelling a finished job, is not an error and changes nothing.
        await b.CancelAsync(id, None);
        Assert.Equal(HPCJobReason.Cancelled, (await b.GetStatusAsync(id, None)).Reason);
    }

    [Fact]
    public async Task Cancel_deletes_with_Background_propagation()
    {
        await using var b = fx.Backend(Manual);
        var id = await b.SubmitAsync(Job("sleep 120"), None);
        await fx.Server.WaitForJobPodAsync(Manual, id);
        await b.CancelAsync(id, None);
        await Eventually.Until(() => PodsOf(Manual, id), pods => pods.Count == 0);
        Assert.Equal(HPCJobReason.Cancelled, (await b.GetStatusAsync(id, None)).Reason);
    }

    [Fact]
    public async Task Cancelling_a_finished_job_leaves_it_and_its_result_alone()
    {
        await using var b = fx.Backend();
        var id = await b.SubmitAsync(Job("exit 0"), None);
        await Eventually.Finished(b, id);
        await b.CancelAsync(id, None);
        var info = await b.GetStatusAsync(id, None);
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Single(await PodsOf(Run, id));
    }

    [Fact]
    public async Task An_OOMKilled_pod_reads_out_of_memory()
    {
        await using var b = fx.Backend(Manual);
        var id = await b.SubmitAsync(Job("python3 eat-memory.py", resources: new ResourceRequirements(1, 0.25, null, null)), None);
        var pod = await fx.Server.WaitForJobPodAsync(Manual, id);
        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("running"));
        Assert.Equal(HPCJobStatus.Running, (await b.GetStatusAsync(id, None)).Status);
        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("terminated", 137, "OOMKilled"));

        var info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.OutOfMemory, info.Reason);
        Assert.Equal(137, info.ExitCode);
        Assert.NotNull(info.WallTimeSeconds);
    }

    [Fact]
    public async Task An_image_that_cannot_be_pulled_fails_fast_and_the_job_is_removed()
    {
        await using var b = fx.Backend(tweak: o => o with { RunnerImage = "registry.invalid/ccat/runner:1.0" });
        var id = await b.SubmitAsync(Job("true"), None);
        var info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.ImagePullFailure, info.Reason);
        Assert.StartsWith("ErrImagePull", info.Message);

        // Kubernetes would retry the pull forever: the backend deleted the Job after recording why.
        using var c = fx.Client();
        await Eventually.Until(async () => (await c.BatchV1.ListNamespacedJobAsync(Run, fieldSelector: $"metadata.name={id}")).Items.Count, n => n == 0);
        await Eventually.Until(() => PodsOf(Run, id), pods => pods.Count == 0);
        var after = await b.GetStatusAsync(id, None);
        Assert.Equal(HPCJobReason.ImagePullFailure, after.Reason);
    }

    [Fact]
    public async Task An_invalid_image_name_fails_fast_too()
    {
        await using var b = fx.Backend(tweak: o => o with { RunnerImage = "Not/A:Valid:Ref" });
        var id = await b.SubmitAsync(Job("true"), None);
        var info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobReason.ImagePullFailure, info.Reason);
        Assert.StartsWith("InvalidImageName", info.Message);
    }

    [Fact]
    public async Task A_job_past_its_time_limit_reads_timeout()
    {
        await using var b = fx.Backend();
        var id = await b.SubmitAsync(Job("sleep 60", resources: new ResourceRequirements(null, null, 0.0003, null)), None);
        var info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Timeout, info.Reason);
        await Eventually.Until(() => PodsOf(Run, id), pods => pods.Count == 0);
    }

    [Fact]
    public async Task An_unschedulable_pod_is_pending_with_that_reason_and_an_evicted_one_fails_as_evicted()
    {
        await using var b = fx.Backend(Manual);
        var id = await b.SubmitAsync(Job("true", resources: new ResourceRequirements(512, null, null, null)), None);
        var pod = await fx.Server.WaitForJobPodAsync(Manual, id);
        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("unschedulable", Message: "0/1 nodes are available: 1 Insufficient cpu."));
        var info = await b.GetStatusAsync(id, None);
        Assert.Equal(HPCJobStatus.Pending, info.Status);
        Assert.Equal(HPCJobReason.Unschedulable, info.Reason);
        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu.", info.Message);
        Assert.Equal("", await b.GetLogsAsync(id, LogQuery.All, None));

        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("scheduled"));
        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("running"));
        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("evicted"));
        info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobReason.Evicted, info.Reason);
        Assert.Contains("low on resource", info.Message);
    }

    [Fact]
    public async Task A_job_deleted_behind_our_back_reads_lost_and_an_unknown_one_not_found()
    {
        await using var b = fx.Backend(Manual);
        var id = await b.SubmitAsync(Job("sleep 120"), None);
        using var c = fx.Client();
        await c.BatchV1.DeleteNamespacedJobAsync(id, Manual, propagationPolicy: "Background");
        var info = await b.GetStatusAsync(id, None);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Lost, info.Reason);

        var results = await b.GetStatusesAsync([id, "never-submitted-bcdfg", "Not_An_Id", id], None);
        Assert.Equal(3, results.Count);
        Assert.Equal(HPCJobReason.Lost, results[0].Info!.Reason);
        Assert.Equal(CcatErrorId.JobNotFound, results[1].Error!.ErrorId);
        Assert.Equal(CcatErrorId.InvalidJobId, results[2].Error!.ErrorId);
        Assert.Equal(CcatErrorId.JobNotFound, (await Assert.ThrowsAsync<CcatException>(() => b.CancelAsync("never-submitted-bcdfg", None))).ErrorId);
        Assert.Equal(CcatErrorId.JobNotFound, (await Assert.ThrowsAsync<CcatException>(() => b.GetLogsAsync("never-submitted-bcdfg", LogQuery.All, None))).ErrorId);
    }

    [Fact]
    public async Task Exit_code_reason_times_and_log_are_captured_before_the_ttl_deletes_the_pod()
    {
        await using var b = fx.Backend(tweak: o => o with { TtlSecondsAfterFinished = 2 });
        var id = await b.SubmitAsync(Job("echo first; echo last; exit 3"), None);
        var seen = await Eventually.Finished(b, id); // the first status read that sees the end records it
        using var c = fx.Client();
        await Eventually.Until(async () => (await c.BatchV1.ListNamespacedJobAsync(Run, fieldSelector: $"metadata.name={id}")).Items.Count, n => n == 0);
        Assert.Empty(await PodsOf(Run, id));

        var later = await b.GetStatusAsync(id, None);
        Assert.Equal(HPCJobStatus.Failed, later.Status);
        Assert.Equal(3, later.ExitCode);
        Assert.Equal(HPCJobReason.NonZeroExit, later.Reason);
        Assert.Equal(seen.StartedAt, later.StartedAt);
        Assert.Equal(seen.FinishedAt, later.FinishedAt);
        Assert.Equal(seen.WallTimeSeconds, later.WallTimeSeconds);
        Assert.Equal("first\nlast\n", await b.GetLogsAsync(id, LogQuery.All, None));
        Assert.Equal("last\n", await b.GetLogsAsync(id, new LogQuery(Tail: 1), None));
    }

    [Fact]
    public async Task Logs_tail_and_follow_until_the_container_ends()
    {
        await using var b = fx.Backend();
        var id = await b.SubmitAsync(Job("for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done"), None);
        var chunks = new List<string>();
        await foreach (var chunk in b.FollowLogsAsync(id, new LogQuery(Tail: 2), None))
        {
            chunks.Add(chunk);
        }

        var followed = string.Concat(chunks);
        Assert.EndsWith("line 4\nline 5\n", followed);
        Assert.True((await b.GetStatusAsync(id, None)).IsFinished);
        Assert.Equal("line 4\nline 5\n", await b.GetLogsAsync(id, new LogQuery(Tail: 2), None));
        Assert.Equal("line 1\nline 2\nline 3\nline 4\nline 5\n", await b.GetLogsAsync(id, LogQuery.All, None));
        foreach (var stream in new[] { LogStream.Error, LogStream.Output })
        {
            var e = await Assert.ThrowsAsync<CcatException>(() => b.GetLogsAsync(id, new LogQuery(stream), None));
            Assert.Equal(CcatErrorId.LogUnavailable, e.ErrorId);
        }
    }

    [Fact]
    public async Task Following_a_job_streams_every_line_once_from_the_start()
    {
        await using var b = fx.Backend(Manual);
        var id = await b.SubmitAsync(Job("driven by the test"), None);
        var pod = (await fx.Server.WaitForJobPodAsync(Manual, id)).Metadata.Name;
        var collected = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var follow = Task.Run(async () =>
        {
            await foreach (var chunk in b.FollowLogsAsync(id, LogQuery.All, None)) collected.Enqueue(chunk);
        });
        fx.Server.Cluster.SetPodState(Manual, pod, new PodStateChange("running"));
        fx.Server.Cluster.AppendLog(Manual, pod, "a\n");
        // "b" is written only once "a" has been streamed: the follow is live, not one read at the end.
        await Local.LocalTestKit.EventuallyAsync(() => string.Concat(collected).Contains("a\n", StringComparison.Ordinal), "the follow streamed the first line");
        fx.Server.Cluster.AppendLog(Manual, pod, "b\n");
        fx.Server.Cluster.SetPodState(Manual, pod, new PodStateChange("terminated", 0));
        await follow.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("a\nb\n", string.Concat(collected));
    }

    [Fact]
    public async Task Jobs_are_listed_newest_first_and_what_if_shows_the_manifest_without_calling_the_api()
    {
        await using var b = fx.Backend(Manual);
        var first = await b.SubmitAsync(Job("true", "list one"), None);
        // newest first is by submission time: the second submission must come later on the clock
        var firstAt = (await b.GetStatusAsync(first, None)).SubmittedAt!.Value;
        await Local.LocalTestKit.EventuallyAsync(() => DateTimeOffset.UtcNow > firstAt.AddMilliseconds(1), "the clock passed the first submission");
        var second = await b.SubmitAsync(Job("true", "list two"), None);
        var all = await b.ListJobsAsync(None);
        var ours = all.Where(i => i.JobId == first || i.JobId == second).Select(i => i.JobId).ToList();
        Assert.Equal([second, first], ours);

        var before = fx.Server.Stats.Total;
        var yaml = b.DescribeSubmission(Job("echo hi", "what if", new ResourceRequirements(4, 16, 2, null)));
        Assert.Equal(before, fx.Server.Stats.Total);
        Assert.Contains("restartPolicy: Never", yaml);
        Assert.Contains("backoffLimit: 0", yaml);
        Assert.Contains("activeDeadlineSeconds: 7200", yaml);
        Assert.Contains("- /bin/sh", yaml);
        Assert.Contains("memory: \"16Gi\"", yaml);
        Assert.Contains("namespace: ccat-manual", yaml);
    }

    [Fact]
    public async Task The_backend_is_built_from_settings_and_environment_variables()
    {
        var env = new Dictionary<string, string>
        {
            ["CCAT_WORKFLOW_MANAGER_HPC_BACKEND"] = "kubernetes",
            ["CCAT_WORKFLOW_MANAGER_K8S_KUBECONFIG"] = fx.Kubeconfig,
            ["CCAT_WORKFLOW_MANAGER_K8S_NAMESPACE"] = Manual,
            ["CCAT_WORKFLOW_MANAGER_K8S_TTL_SECONDS_AFTER_FINISHED"] = "300",
        };
        var settings = SettingsLoader.Load(env, fx.Directory);
        await using var b = KubernetesBackend.Create(settings);
        Assert.Equal(Manual, b.Options.Namespace);
        var id = await b.SubmitAsync(Job("true"), None);
        using var c = fx.Client();
        Assert.Equal(300, (await c.BatchV1.ReadNamespacedJobAsync(id, Manual)).Spec.TtlSecondsAfterFinished);
    }
}
