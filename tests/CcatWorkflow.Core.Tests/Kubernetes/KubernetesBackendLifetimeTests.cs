using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>One client for the backend's lifetime, re-made only when it must be; records expire.</summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public class KubernetesBackendLifetimeTests(KubeDoubleFixture fx) : IClassFixture<KubeDoubleFixture>
{
    private const string Manual = KubeDoubleFixture.ManualNamespace;
    private static readonly CancellationToken None = CancellationToken.None;

    private sealed class MovableClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }

    [Fact]
    public async Task One_client_serves_every_call_until_the_kubeconfig_it_came_from_changes()
    {
        var kubeconfig = fx.Kubeconfig;
        await using var b = new KubernetesBackend(new KubernetesOptions { Namespace = Manual }, name => name == "KUBECONFIG" ? kubeconfig : null);
        var id = await b.SubmitAsync(new JobSubmission { ExecutionCommand = "true" }, None);
        for (var i = 0; i < 5; i++) await b.GetStatusAsync(id, None);
        await b.ListJobsAsync(None);
        Assert.Equal(1, b.ClientsCreated);

        kubeconfig = fx.WriteKubeconfig("kc-copy");
        await b.GetStatusAsync(id, None);
        Assert.Equal(2, b.ClientsCreated);
    }

    [Fact]
    public async Task A_401_rereads_the_kubeconfig_once_so_a_rotated_token_is_picked_up()
    {
        var file = fx.WriteKubeconfig("kc-rotating", token: "expired-token");
        await using var b = fx.Backend(Manual, kubeconfig: file);
        var e = await Assert.ThrowsAsync<CcatException>(() => b.GetStatusesAsync(["abc-bcdfg"], None));
        Assert.Equal(CcatErrorId.KubernetesUnauthorized, e.ErrorId);

        fx.WriteKubeconfig("kc-rotating"); // the token is renewed in the same file
        var r = await b.GetStatusesAsync(["abc-bcdfg"], None);
        Assert.Equal(CcatErrorId.JobNotFound, r.Single().Error!.ErrorId);
    }

    [Fact]
    public async Task Without_a_retention_setting_a_listing_removes_nothing()
    {
        var clock = new MovableClock();
        await using var b = new KubernetesBackend(new KubernetesOptions { Namespace = Manual, Kubeconfig = fx.Kubeconfig }, _ => null, clock);
        var gone = await b.SubmitAsync(new JobSubmission { ExecutionCommand = "true", JobName = "old and gone, kept" }, None);
        using var c = fx.Client();
        await c.BatchV1.DeleteNamespacedJobAsync(gone, Manual, propagationPolicy: "Background");
        Assert.Equal(HPCJobReason.Lost, (await b.GetStatusAsync(gone, None)).Reason);

        clock.Offset = TimeSpan.FromDays(400);
        Assert.Contains(await b.ListJobsAsync(None), i => i.JobId == gone);
        Assert.NotNull(await c.CoreV1.ReadNamespacedConfigMapAsync(gone, Manual));
    }

    [Fact]
    public async Task With_JOB_RETENTION_DAYS_Get_CcatJob_removes_records_of_jobs_gone_longer()
    {
        var clock = new MovableClock();
        var retention = TimeSpan.FromDays(30);
        await using var b = new KubernetesBackend(new KubernetesOptions { Namespace = Manual, Kubeconfig = fx.Kubeconfig, RecordRetention = retention }, _ => null, clock);
        var gone = await b.SubmitAsync(new JobSubmission { ExecutionCommand = "true", JobName = "old and gone" }, None);
        var kept = await b.SubmitAsync(new JobSubmission { ExecutionCommand = "true", JobName = "old but there" }, None);
        using var c = fx.Client();
        await c.BatchV1.DeleteNamespacedJobAsync(gone, Manual, propagationPolicy: "Background");
        Assert.Equal(HPCJobReason.Lost, (await b.GetStatusAsync(gone, None)).Reason);

        clock.Offset = retention + TimeSpan.FromDays(1);
        var listed = await b.ListJobsAsync(None);
        Assert.DoesNotContain(listed, i => i.JobId == gone);
        Assert.Contains(listed, i => i.JobId == kept);
        Assert.Empty((await c.CoreV1.ListNamespacedConfigMapAsync(Manual, fieldSelector: $"metadata.name={gone}")).Items);
        Assert.Equal(CcatErrorId.JobNotFound, (await b.GetStatusesAsync([gone], None)).Single().Error!.ErrorId);
        Assert.NotNull(await c.CoreV1.ReadNamespacedConfigMapAsync(kept, Manual));
    }

    [Fact]
    public async Task A_log_follow_outlives_the_clients_request_timeout()
    {
        // The backend relies on this: KubernetesClient applies HttpClientTimeout only until the
        // response headers, so a follow may stream for longer than the timeout.
        var config = k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Kubeconfig);
        config.HttpClientTimeout = TimeSpan.FromSeconds(1);
        using var c = new k8s.Kubernetes(config);
        var name = "follow-" + Guid.NewGuid().ToString("N")[..6];
        await c.BatchV1.CreateNamespacedJobAsync(new V1Job
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Template = new V1PodTemplateSpec { Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [new V1Container { Name = "main", Image = "x:1", Command = ["sh", "-c", "echo start; sleep 2.5; echo end"] }] } },
            },
        }, KubeDoubleFixture.RunNamespace);
        var pod = await fx.Server.WaitForJobPodAsync(KubeDoubleFixture.RunNamespace, name);
        await Eventually.Until(() => c.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, KubeDoubleFixture.RunNamespace), p => p.Status.Phase != "Pending");
        using var stream = await c.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, KubeDoubleFixture.RunNamespace, follow: true);
        using var reader = new StreamReader(stream);
        Assert.Equal("start\nend\n", await reader.ReadToEndAsync());
    }
}
