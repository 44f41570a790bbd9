using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;
using k8s;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>Submit-CcatJob -Namespace against the API double: a job outside K8S_NAMESPACE, known by namespace/name.</summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public class KubernetesNamespaceTests(KubeDoubleFixture fx) : IClassFixture<KubeDoubleFixture>
{
    private const string Configured = KubeDoubleFixture.ManualNamespace; // pods there never run by themselves
    private const string Other = KubeDoubleFixture.RunNamespace;
    private static readonly CancellationToken None = CancellationToken.None;

    private static JobSubmission Job(string command, string? ns) => new()
    {
        ExecutionCommand = command,
        JobName = "ns test",
        SchedulerOptions = new JobSchedulerOptions { Namespace = ns },
    };

    [Fact]
    public async Task A_job_in_another_namespace_runs_there_and_is_found_by_its_qualified_id_from_another_session()
    {
        await using var b = fx.Backend(Configured);
        var id = await b.SubmitAsync(Job("echo in-other; exit 4", Other), None);
        Assert.StartsWith(Other + "/ns-test-", id, StringComparison.Ordinal);
        var name = KubernetesBackend.SplitJobId(id).Name;

        using (var c = fx.Client())
        {
            Assert.Single((await c.BatchV1.ListNamespacedJobAsync(Other, fieldSelector: $"metadata.name={name}")).Items);
            Assert.Empty((await c.BatchV1.ListNamespacedJobAsync(Configured, fieldSelector: $"metadata.name={name}")).Items);
        }

        // Another session: a new backend with the same settings knows nothing but the id.
        await using var other = fx.Backend(Configured);
        var info = await Eventually.Finished(other, id);
        Assert.Equal(id, info.JobId);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(4, info.ExitCode);
        Assert.Equal(Other, info.Namespace);
        Assert.Contains("in-other", await other.ReadLogsAsync(id, LogQuery.All, None), StringComparison.Ordinal);

        var removed = Assert.Single(await other.RemoveJobsAsync([id], cancelUnfinished: false, None));
        Assert.Null(removed.Error);
        Assert.Equal(id, removed.JobId);
        var gone = Assert.Single(await other.QueryJobsAsync([id], None));
        Assert.Equal(CcatErrorId.JobNotFound, gone.Error?.ErrorId);
    }

    [Fact]
    public async Task The_configured_namespace_given_explicitly_is_the_plain_id_and_WhatIf_shows_the_namespace()
    {
        await using var b = fx.Backend(Configured);
        Assert.Equal("x-1", b.NormalizeJobId(Configured + "/x-1"));
        Assert.Equal(Other + "/x-1", b.NormalizeJobId(Other + "/x-1"));
        Assert.Null(b.NormalizeJobId("Bad_NS/x-1"));

        Assert.Contains($"namespace: {Other}", b.PreviewSubmission(Job("true", Other)), StringComparison.Ordinal);
        Assert.Contains($"namespace: {Configured}", b.PreviewSubmission(Job("true", null)), StringComparison.Ordinal);
        var ex = Assert.Throws<CcatException>(() => b.PreviewSubmission(Job("true", "Not_A_Namespace")));
        Assert.Equal(CcatErrorId.InvalidSubmission, ex.ErrorId);
    }

    [Fact]
    public async Task Cancelling_a_job_in_another_namespace_reaches_it_there()
    {
        await using var b = fx.Backend(Other);
        var id = await b.SubmitAsync(Job("sleep 300", Configured), None);
        Assert.StartsWith(Configured + "/", id, StringComparison.Ordinal);
        var cancelled = Assert.Single(await b.CancelJobsAsync([id], None));
        Assert.Null(cancelled.Error);
        var info = await b.GetStatusAsync(id, None);
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
    }

    [Fact]
    public async Task Namespaces_are_offered_for_completion_read_only()
    {
        await using var b = fx.Backend(Configured);
        var names = await b.PeekSchedulerOptionValuesAsync("Namespace", None);
        Assert.Contains(Other, names);
        Assert.Contains(Configured, names);
        Assert.Empty(await b.PeekSchedulerOptionValuesAsync("Partition", None));
    }
}
