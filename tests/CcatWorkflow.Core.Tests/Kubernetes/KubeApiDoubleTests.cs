using System.Net;
using System.Security.Authentication;
using System.Text;
using CcatWorkflow.KubeApiDouble;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>The double behaves like an API server where the backend depends on it.</summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public class KubeApiDoubleTests(KubeDoubleFixture fx) : IClassFixture<KubeDoubleFixture>
{
    private const string Manual = KubeDoubleFixture.ManualNamespace;
    private const string Run = KubeDoubleFixture.RunNamespace;

    private static V1Job Job(string name, string command = "true", string restartPolicy = "Never", int? backoffLimit = 0, Dictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
        Spec = new V1JobSpec
        {
            BackoffLimit = backoffLimit,
            Template = new V1PodTemplateSpec
            {
                Spec = new V1PodSpec
                {
                    RestartPolicy = restartPolicy,
                    Containers = [new V1Container { Name = "main", Image = "busybox:1.36", Command = ["/bin/sh", "-c", command], Env = [new V1EnvVar { Name = "GREETING", Value = "hello there" }] }],
                },
            },
        },
    };

    private static string Unique(string stem) => $"{stem}-{Guid.NewGuid().ToString("N")[..6]}";

    private static async Task<string> ReadAll(Stream s)
    {
        using var r = new StreamReader(s, Encoding.UTF8);
        return await r.ReadToEndAsync();
    }

    [Fact]
    public async Task A_created_job_gets_the_defaults_a_real_server_applies()
    {
        using var c = fx.Client();
        var name = Unique("defaults");
        var job = await c.BatchV1.CreateNamespacedJobAsync(Job(name, backoffLimit: null), Manual);
        Assert.Equal(6, job.Spec.BackoffLimit);
        Assert.Equal(1, job.Spec.Completions);
        Assert.Equal(1, job.Spec.Parallelism);
        Assert.Equal("NonIndexed", job.Spec.CompletionMode);
        Assert.False(job.Spec.Suspend);
        Assert.Equal(job.Metadata.Uid, job.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"]);
        Assert.Equal(name, job.Spec.Template.Metadata.Labels["job-name"]);
        Assert.Equal(name, job.Spec.Template.Metadata.Labels["batch.kubernetes.io/job-name"]);
        Assert.Equal(30, job.Spec.Template.Spec.TerminationGracePeriodSeconds);
        Assert.Equal("ClusterFirst", job.Spec.Template.Spec.DnsPolicy);
        Assert.Equal("IfNotPresent", job.Spec.Template.Spec.Containers[0].ImagePullPolicy);
        Assert.Equal("/dev/termination-log", job.Spec.Template.Spec.Containers[0].TerminationMessagePath);
        Assert.NotNull(job.Metadata.CreationTimestamp);
        Assert.Equal(1, job.Metadata.Generation);

        var pod = await fx.Server.WaitForJobPodAsync(Manual, name);
        Assert.StartsWith(name + "-", pod.Metadata.Name);
        Assert.Equal("Pending", pod.Status.Phase);
        Assert.Equal("ContainerCreating", pod.Status.ContainerStatuses[0].State.Waiting.Reason);
        Assert.Equal(job.Metadata.Uid, pod.Metadata.OwnerReferences.Single().Uid);
        Assert.Equal("default", pod.Spec.ServiceAccountName);
    }

    [Fact]
    public async Task Invalid_jobs_are_422_with_the_real_status_body()
    {
        using var c = fx.Client();
        var bad = Job("Bad_Name", restartPolicy: "Always");
        bad.Spec.Template.Spec.Containers[0].Image = "";
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => c.BatchV1.CreateNamespacedJobAsync(bad, Manual));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(e.Response.Content);
        Assert.Equal("Invalid", status.Reason);
        Assert.Equal("Failure", status.Status);
        Assert.Equal(422, status.Code);
        Assert.Equal("Job", status.Details.Kind);
        Assert.StartsWith("Job.batch \"Bad_Name\" is invalid: [metadata.name: Invalid value: \"Bad_Name\"", status.Message);
        Assert.Contains(status.Details.Causes, x => x.Field == "spec.template.spec.restartPolicy" && x.Message.Contains("Unsupported value: \"Always\""));
        Assert.Contains(status.Details.Causes, x => x.Field == "spec.template.spec.containers[0].image" && x.Reason == "FieldValueRequired");

        var noContainers = Job(Unique("empty"));
        noContainers.Spec.Template.Spec.Containers = [];
        e = await Assert.ThrowsAsync<HttpOperationException>(() => c.BatchV1.CreateNamespacedJobAsync(noContainers, Manual));
        Assert.Contains("spec.template.spec.containers: Required value", e.Response.Content);

        var longName = Job(new string('a', 64));
        e = await Assert.ThrowsAsync<HttpOperationException>(() => c.BatchV1.CreateNamespacedJobAsync(longName, Manual));
        Assert.Contains("must be no more than 63 characters", e.Response.Content);
    }

    [Fact]
    public async Task A_taken_name_is_409_and_a_missing_namespace_404_while_listing_it_is_empty()
    {
        using var c = fx.Client();
        var name = Unique("twice");
        await c.BatchV1.CreateNamespacedJobAsync(Job(name), Manual);
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => c.BatchV1.CreateNamespacedJobAsync(Job(name), Manual));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        Assert.Equal($"jobs.batch \"{name}\" already exists", KubernetesJson.Deserialize<V1Status>(e.Response.Content).Message);

        e = await Assert.ThrowsAsync<HttpOperationException>(() => c.BatchV1.CreateNamespacedJobAsync(Job(Unique("x")), "no-such-namespace"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        Assert.Equal("namespaces \"no-such-namespace\" not found", KubernetesJson.Deserialize<V1Status>(e.Response.Content).Message);
        Assert.Empty((await c.BatchV1.ListNamespacedJobAsync("no-such-namespace")).Items);

        e = await Assert.ThrowsAsync<HttpOperationException>(() => c.BatchV1.ReadNamespacedJobAsync("never-was", Manual));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        Assert.Equal("jobs.batch \"never-was\" not found", KubernetesJson.Deserialize<V1Status>(e.Response.Content).Message);
    }

    [Fact]
    public async Task Lists_filter_by_label_and_field_selectors_including_set_based_ones()
    {
        using var c = fx.Client();
        var tag = Unique("sel");
        var names = new[] { Unique("a"), Unique("b"), Unique("c") };
        foreach (var (n, i) in names.Select((n, i) => (n, i)))
        {
            await c.BatchV1.CreateNamespacedJobAsync(Job(n, labels: new() { ["suite"] = tag, ["idx"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }), Manual);
        }

        async Task<string[]> Names(string? labels, string? fields = null) =>
            (await c.BatchV1.ListNamespacedJobAsync(Manual, labelSelector: labels, fieldSelector: fields)).Items.Select(j => j.Metadata.Name).Order().ToArray();

        Assert.Equal(names.Order(), await Names($"suite={tag}"));
        Assert.Equal(new[] { names[0], names[2] }.Order(), await Names($"suite={tag},idx in (0,2)"));
        Assert.Equal([names[1]], await Names($"suite={tag},idx notin (0,2)"));
        Assert.Equal(new[] { names[1], names[2] }.Order(), await Names($"suite=={tag},idx!=0"));
        Assert.Equal([names[2]], await Names($"suite={tag}", $"metadata.name={names[2]}"));
        Assert.Empty(await Names($"suite={tag},!idx"));
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => Names("suite in (a"));
        Assert.Equal(HttpStatusCode.BadRequest, e.Response.StatusCode);
    }

    [Fact]
    public async Task Delete_without_a_propagation_policy_orphans_the_pods_as_the_real_api_does()
    {
        using var c = fx.Client();
        var name = Unique("orphan");
        await c.BatchV1.CreateNamespacedJobAsync(Job(name), Manual);
        var pod = await fx.Server.WaitForJobPodAsync(Manual, name);
        var response = await c.BatchV1.DeleteNamespacedJobWithHttpMessagesAsync(name, Manual);
        Assert.Contains(response.Response.Headers.Warning, w => w.Text.Contains("child pods are preserved by default"));
        var still = await c.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, Manual);
        Assert.Null(still.Metadata.OwnerReferences);

        var other = Unique("background");
        await c.BatchV1.CreateNamespacedJobAsync(Job(other), Manual);
        var otherPod = await fx.Server.WaitForJobPodAsync(Manual, other);
        var status = await c.BatchV1.DeleteNamespacedJobAsync(other, Manual, propagationPolicy: "Background");
        Assert.Equal("Success", status.Status);
        await Eventually.Until(async () => (await c.CoreV1.ListNamespacedPodAsync(Manual, fieldSelector: $"metadata.name={otherPod.Metadata.Name}")).Items.Count, n => n == 0);
    }

    [Fact]
    public async Task A_watch_sees_the_job_go_from_added_to_failed()
    {
        using var c = fx.Client();
        var name = Unique("watched");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<(WatchEventType, int?, string?)>();
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, job) in c.BatchV1.WatchListNamespacedJobAsync(Manual, fieldSelector: $"metadata.name={name}", cancellationToken: cts.Token))
            {
                seen.Add((type, job.Status?.Active, job.Status?.Conditions?.LastOrDefault()?.Type));
                if (job.Status?.Conditions?.Any(x => x.Type == "Failed") == true) return;
            }
        }, cts.Token);
        await Eventually.Until(() => Task.FromResult(fx.Server.Cluster.WatcherCount), n => n > 0);
        await c.BatchV1.CreateNamespacedJobAsync(Job(name), Manual, cancellationToken: cts.Token);
        var pod = await fx.Server.WaitForJobPodAsync(Manual, name);
        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("running"));
        fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("terminated", 2));
        await watching;
        Assert.Equal(WatchEventType.Added, seen[0].Item1);
        Assert.Contains(seen, s => s.Item1 == WatchEventType.Modified && s.Item2 == 1);
        Assert.Equal("Failed", seen[^1].Item3);
    }

    [Fact]
    public async Task Logs_honour_tailLines_follow_and_refuse_a_container_that_has_not_started()
    {
        using var c = fx.Client();
        var name = Unique("logs");
        await c.BatchV1.CreateNamespacedJobAsync(Job(name), Manual);
        var pod = (await fx.Server.WaitForJobPodAsync(Manual, name)).Metadata.Name;
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => c.CoreV1.ReadNamespacedPodLogAsync(pod, Manual));
        Assert.Equal(HttpStatusCode.BadRequest, e.Response.StatusCode);
        Assert.Equal($"container \"main\" in pod \"{pod}\" is waiting to start: ContainerCreating", KubernetesJson.Deserialize<V1Status>(e.Response.Content).Message);

        fx.Server.Cluster.SetPodState(Manual, pod, new PodStateChange("running"));
        fx.Server.Cluster.AppendLog(Manual, pod, "one\ntwo\nthree\n");
        Assert.Equal("two\nthree\n", await ReadAll(await c.CoreV1.ReadNamespacedPodLogAsync(pod, Manual, tailLines: 2)));

        using var stream = await c.CoreV1.ReadNamespacedPodLogAsync(pod, Manual, follow: true, tailLines: 1);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Equal("three", await reader.ReadLineAsync());
        var rest = reader.ReadToEndAsync();
        await Task.Delay(100); // an absence (the stream has not ended) is watched, not waited for
        Assert.False(rest.IsCompleted); // still following
        fx.Server.Cluster.AppendLog(Manual, pod, "four\n");
        fx.Server.Cluster.SetPodState(Manual, pod, new PodStateChange("terminated", 0));
        Assert.Equal("four\n", await rest);
    }

    [Fact]
    public async Task Run_mode_really_runs_the_command_with_its_env_and_reports_exit_code_output_and_whole_second_times()
    {
        using var c = fx.Client();
        var name = Unique("runs");
        await c.BatchV1.CreateNamespacedJobAsync(Job(name, "echo \"$GREETING from $HOSTNAME\"; echo oops >&2; sleep 1; exit 7"), Run);
        var pod = await Eventually.Until(async () => (await c.CoreV1.ListNamespacedPodAsync(Run, labelSelector: $"job-name={name}")).Items.SingleOrDefault(),
            p => p?.Status.Phase == "Failed");
        var t = pod!.Status.ContainerStatuses[0].State.Terminated;
        Assert.Equal(7, t.ExitCode);
        Assert.Equal("Error", t.Reason);
        Assert.Equal(0, t.StartedAt!.Value.Ticks % TimeSpan.TicksPerSecond);
        Assert.True(t.FinishedAt >= t.StartedAt!.Value.AddSeconds(1));
        var log = await ReadAll(await c.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, Run));
        Assert.Contains($"hello there from {pod.Metadata.Name}\n", log);
        Assert.Contains("oops\n", log);
        var job = await c.BatchV1.ReadNamespacedJobAsync(name, Run);
        Assert.Equal(1, job.Status.Failed);
        Assert.Equal(["FailureTarget", "Failed"], job.Status.Conditions.Select(x => x.Type));
        Assert.Equal("BackoffLimitExceeded", job.Status.Conditions[^1].Reason);
    }

    [Fact]
    public async Task The_job_controller_retries_up_to_backoffLimit()
    {
        using var c = fx.Client();
        var name = Unique("retry");
        await c.BatchV1.CreateNamespacedJobAsync(Job(name, "exit 1", backoffLimit: 1), Run);
        var job = await Eventually.Until(() => c.BatchV1.ReadNamespacedJobAsync(name, Run), j => j.Status.Conditions?.Any(x => x.Type == "Failed") == true);
        Assert.Equal(2, job.Status.Failed);
        Assert.Equal(2, (await c.CoreV1.ListNamespacedPodAsync(Run, labelSelector: $"job-name={name}")).Items.Count);
    }

    [Fact]
    public async Task ActiveDeadlineSeconds_fails_the_job_with_DeadlineExceeded_and_removes_its_pods()
    {
        using var c = fx.Client();
        var name = Unique("deadline");
        var job = Job(name, "sleep 60");
        job.Spec.ActiveDeadlineSeconds = 1;
        await c.BatchV1.CreateNamespacedJobAsync(job, Run);
        var done = await Eventually.Until(() => c.BatchV1.ReadNamespacedJobAsync(name, Run), j => j.Status.Conditions?.Any(x => x.Type == "Failed") == true);
        Assert.Equal("DeadlineExceeded", done.Status.Conditions.Single(x => x.Type == "Failed").Reason);
        Assert.Equal("Job was active longer than specified deadline", done.Status.Conditions.Single(x => x.Type == "Failed").Message);
        await Eventually.Until(async () => (await c.CoreV1.ListNamespacedPodAsync(Run, labelSelector: $"job-name={name}")).Items.Count, n => n == 0);
    }

    [Fact]
    public async Task TtlSecondsAfterFinished_deletes_the_job_and_its_pods()
    {
        using var c = fx.Client();
        var name = Unique("ttl");
        var job = Job(name, "true");
        job.Spec.TtlSecondsAfterFinished = 1;
        await c.BatchV1.CreateNamespacedJobAsync(job, Run);
        await Eventually.Until(async () => (await c.BatchV1.ListNamespacedJobAsync(Run, fieldSelector: $"metadata.name={name}")).Items.Count, n => n == 0);
        Assert.Empty((await c.CoreV1.ListNamespacedPodAsync(Run, labelSelector: $"job-name={name}")).Items);
    }

    [Fact]
    public async Task Patches_merge_and_the_pod_template_is_immutable()
    {
        using var c = fx.Client();
        var name = Unique("patch");
        await c.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } }, Manual);
        var cm = await c.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"b":null,"c":"3"}}""", V1Patch.PatchType.MergePatch), name, Manual);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["c"] = "3" }, cm.Data);
        cm = await c.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""[{"op":"replace","path":"/data/a","value":"9"}]""", V1Patch.PatchType.JsonPatch), name, Manual);
        Assert.Equal("9", cm.Data["a"]);

        await c.BatchV1.CreateNamespacedJobAsync(Job(name), Manual);
        var job = await c.BatchV1.PatchNamespacedJobAsync(new V1Patch("""{"metadata":{"annotations":{"x":"y"}}}""", V1Patch.PatchType.MergePatch), name, Manual);
        Assert.Equal("y", job.Metadata.Annotations["x"]);
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => c.BatchV1.PatchNamespacedJobAsync(
            new V1Patch("""{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"other:1"}]}}}}""", V1Patch.PatchType.MergePatch), name, Manual));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        Assert.Contains("field is immutable", e.Response.Content);

        var stale = await c.CoreV1.ReadNamespacedConfigMapAsync(name, Manual);
        await c.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"d":"4"}}""", V1Patch.PatchType.MergePatch), name, Manual);
        e = await Assert.ThrowsAsync<HttpOperationException>(() => c.CoreV1.ReplaceNamespacedConfigMapAsync(stale, name, Manual));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
    }

    [Fact]
    public async Task Authentication_and_tls_fail_the_way_a_real_server_makes_the_client_fail()
    {
        using var wrongToken = fx.Client(fx.WriteKubeconfig("kc-wrong-token", token: "nope"));
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => wrongToken.BatchV1.ListNamespacedJobAsync(Manual));
        Assert.Equal(HttpStatusCode.Unauthorized, e.Response.StatusCode);
        Assert.Equal("Unauthorized", KubernetesJson.Deserialize<V1Status>(e.Response.Content).Reason);

        using var noCa = fx.Client(fx.WriteKubeconfig("kc-no-ca", includeCa: false));
        var tls = await Assert.ThrowsAsync<HttpRequestException>(() => noCa.BatchV1.ListNamespacedJobAsync(Manual));
        Assert.IsType<AuthenticationException>(tls.InnerException);

        using var forbidden = fx.Client();
        e = await Assert.ThrowsAsync<HttpOperationException>(() => forbidden.BatchV1.ListNamespacedJobAsync("ccat-forbidden"));
        Assert.Equal(HttpStatusCode.Forbidden, e.Response.StatusCode);
        Assert.Equal("jobs.batch is forbidden: User \"system:serviceaccount:ccat-workflows:ccat-runner\" cannot list resource \"jobs\" in API group \"batch\" in the namespace \"ccat-forbidden\"",
            KubernetesJson.Deserialize<V1Status>(e.Response.Content).Message);
    }

    [Fact]
    public async Task Injected_failures_fire_once_per_count_and_requests_are_counted()
    {
        using var c = fx.Client();
        fx.Server.FailNext(new FailureRule { Code = 503, Verb = "list", Resource = "pods" });
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => c.CoreV1.ListNamespacedPodAsync(Manual));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.Response.StatusCode);
        var before = fx.Server.Stats.Count("list pods");
        await c.CoreV1.ListNamespacedPodAsync(Manual);
        Assert.Equal(before + 1, fx.Server.Stats.Count("list pods"));
    }

    [Fact]
    public async Task A_suspended_job_gets_its_pod_only_when_resumed()
    {
        using var c = fx.Client();
        var name = Unique("suspended");
        var job = Job(name);
        job.Spec.Suspend = true;
        await c.BatchV1.CreateNamespacedJobAsync(job, Manual);
        await Task.Delay(300); // an absence is watched for a while, not waited for (a slow machine can only hide a pod, not fail the test)
        Assert.Empty((await c.CoreV1.ListNamespacedPodAsync(Manual, labelSelector: $"job-name={name}")).Items);
        await c.BatchV1.PatchNamespacedJobAsync(new V1Patch("""{"spec":{"suspend":false}}""", V1Patch.PatchType.MergePatch), name, Manual);
        var pod = await fx.Server.WaitForJobPodAsync(Manual, name);
        Assert.Single((await c.CoreV1.ListNamespacedPodAsync(Manual, labelSelector: $"job-name={name}")).Items);
        Assert.Equal(name, pod.Metadata.OwnerReferences.Single().Name);
    }
}
