using CcatWorkflow.Core.Submission;
using CcatWorkflow.KubeApiDouble;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>Status of many jobs costs a constant number of API calls, counted by the double.</summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public class KubernetesBatchStatusTests(KubeDoubleFixture fx) : IClassFixture<KubeDoubleFixture>
{
    private const string Manual = KubeDoubleFixture.ManualNamespace;
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Status_of_200_jobs_costs_three_list_calls_the_same_as_one_job()
    {
        await using var b = fx.Backend(Manual);
        var ids = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            ids.Add(await b.SubmitAsync(new JobSubmission { ExecutionCommand = "true", JobName = $"batch {i}" }, None));
        }

        fx.Server.Stats.Reset();
        var one = await b.GetStatusesAsync([ids[0]], None);
        Assert.Equal(3, fx.Server.Stats.Total);

        fx.Server.Stats.Reset();
        var all = await b.GetStatusesAsync(ids, None);
        Assert.Equal(200, all.Count);
        Assert.All(all, r => Assert.Equal(HPCJobStatus.Pending, r.Info!.Status));
        Assert.Equal(new Dictionary<string, int> { ["list configmaps"] = 1, ["list jobs"] = 1, ["list pods"] = 1 }, fx.Server.Stats.Snapshot());

        // Half of them run, half end with exit 3: the first read that sees an end records it once
        // (log, log ConfigMap, record patch); reading again costs the three lists only.
        for (var i = 0; i < 200; i++)
        {
            var pod = await fx.Server.WaitForJobPodAsync(Manual, ids[i]);
            fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("running"));
            if (i % 2 == 1) fx.Server.Cluster.SetPodState(Manual, pod.Metadata.Name, new PodStateChange("terminated", 3));
        }

        fx.Server.Stats.Reset();
        all = await b.GetStatusesAsync(ids, None);
        Assert.Equal(100, all.Count(r => r.Info!.Status == HPCJobStatus.Running));
        Assert.Equal(100, all.Count(r => r.Info!.Status == HPCJobStatus.Failed && r.Info.ExitCode == 3));
        Assert.Equal(3, fx.Server.Stats.Count("list configmaps") + fx.Server.Stats.Count("list jobs") + fx.Server.Stats.Count("list pods"));
        Assert.Equal(100, fx.Server.Stats.Count("get pods/log"));
        Assert.Equal(100, fx.Server.Stats.Count("create configmaps"));
        Assert.Equal(100, fx.Server.Stats.Count("patch configmaps"));

        fx.Server.Stats.Reset();
        all = await b.GetStatusesAsync(ids, None);
        Assert.Equal(100, all.Count(r => r.Info!.ExitCode == 3));
        Assert.Equal(3, fx.Server.Stats.Total);
        Assert.Single(one);
    }

    [Fact]
    public async Task Cancelling_many_jobs_reads_them_once_then_deletes_each_with_background_propagation()
    {
        await using var b = fx.Backend(Manual);
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await b.SubmitAsync(new JobSubmission { ExecutionCommand = "sleep 100", JobName = $"cancel many {i}" }, None));
        }

        foreach (var id in ids) await fx.Server.WaitForJobPodAsync(Manual, id);
        fx.Server.Stats.Reset();
        var results = await b.CancelManyAsync([.. ids, "never-was-bcdfg"], None);
        Assert.Equal(21, results.Count);
        Assert.All(results.Take(20), r => Assert.Null(r.Error));
        Assert.Equal(Core.Errors.CcatErrorId.JobNotFound, results[20].Error!.ErrorId);
        Assert.Equal(1, fx.Server.Stats.Count("list jobs"));
        Assert.Equal(20, fx.Server.Stats.Count("patch configmaps"));
        Assert.Equal(20, fx.Server.Stats.Count("delete jobs"));
        Assert.Equal(43, fx.Server.Stats.Total);

        var after = await b.GetStatusesAsync(ids, None);
        Assert.All(after, r => Assert.Equal(HPCJobReason.Cancelled, r.Info!.Reason));
        await Eventually.Until(() => Task.FromResult(fx.Server.Cluster.All<k8s.Models.V1Pod>(ResourceKind.Pods, Manual)
            .Count(p => ids.Contains(p.Metadata.Labels?["ccat-workflow/job-id"] ?? ""))), n => n == 0);
    }
}
