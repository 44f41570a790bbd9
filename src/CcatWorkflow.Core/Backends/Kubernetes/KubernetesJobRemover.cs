using CcatWorkflow.Core.Errors;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Remove-CcatJob on Kubernetes: the Job if it is still there (its pods go with it), the record
/// ConfigMap and the captured-log ConfigMap. The module's mark is the pair of labels
/// <c>app.kubernetes.io/managed-by=ccat-workflow</c> and <c>ccat-workflow/job-id=&lt;id&gt;</c>:
/// objects are found by those labels and deleted by name, so an object without them — even
/// one named like the job — is never touched.
/// </summary>
public sealed partial class KubernetesBackend
{
    /// <inheritdoc />
    protected override async Task<IReadOnlyList<JobQueryResult>> RemoveFinishedAsync(IReadOnlyList<HPCJobInfo> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        // Jobs of another namespace (namespace/name) are removed by that namespace's backend, under their bare names.
        var byId = jobs.GroupBy(j => j.JobId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        HPCJobInfo JobOf(KubernetesBackend b, string name) =>
            (byId.GetValueOrDefault(ReferenceEquals(b, this) ? name : b._options.Namespace + "/" + name) ?? byId[name]).WithJobId(name);
        if (await AcrossNamespacesAsync(jobs.Select(j => j.JobId).ToList(),
                (b, ids, ct) => b.RemoveFinishedAsync(ids.Select(id => JobOf(b, id)).ToList(), ct),
                cancellationToken).ConfigureAwait(false) is { } across)
        {
            return across;
        }

        var ids = jobs.Select(j => j.JobId).Distinct(StringComparer.Ordinal).ToList();
        var idSelector = $"{KubernetesNames.JobIdLabel} in ({string.Join(',', ids)})";
        var selector = KubernetesNames.ManagedBySelector + (idSelector.Length <= MaxInSelectorLength ? "," + idSelector : "");
        var ns = _options.Namespace;

        // Two list calls for the whole batch, then deletes by name of what carries the marks.
        var jobsTask = CallAsync("listing Jobs to remove", (c, ct) => c.BatchV1.ListNamespacedJobAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        var mapsTask = CallAsync("listing ConfigMaps to remove", (c, ct) => c.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        await Task.WhenAll(jobsTask, mapsTask).ConfigureAwait(false);
        var ownJobs = ById(jobsTask.Result.Items, j => j.Metadata).ToDictionary(g => g.Key, g => g.Select(j => j.Metadata.Name).ToList(), StringComparer.Ordinal);
        var ownMaps = ById(mapsTask.Result.Items, m => m.Metadata).ToDictionary(g => g.Key, g => g.Select(m => m.Metadata.Name).ToList(), StringComparer.Ordinal);

        using var gate = new SemaphoreSlim(4);
        var results = await Task.WhenAll(jobs.Select(async job =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var error = await RemoveOwnedAsync(job.JobId, ownJobs.GetValueOrDefault(job.JobId) ?? [], ownMaps.GetValueOrDefault(job.JobId) ?? [], cancellationToken).ConfigureAwait(false);
                return new JobQueryResult(job.JobId, job, error);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return results;
    }

    private async Task<CcatException?> RemoveOwnedAsync(string id, IReadOnlyList<string> jobNames, IReadOnlyList<string> mapNames, CancellationToken cancellationToken)
    {
        if (jobNames.Count == 0 && mapNames.Count == 0)
        {
            return new CcatException(CcatErrorId.NotOwnedByModule,
                $"Kubernetes job '{id}' has no Job or ConfigMap labelled {KubernetesNames.ManagedBySelector} in namespace {_options.Namespace}: nothing of it is removed.", id);
        }

        try
        {
            // The Job first (background propagation takes its pods), the record last: while the
            // record exists the job still reads with its result, so a failure half-way can be
            // retried with Remove-CcatJob.
            foreach (var name in jobNames)
            {
                await DeleteIgnoringGoneAsync($"deleting Job {name}", (c, ct) => c.BatchV1.DeleteNamespacedJobAsync(name, _options.Namespace,
                    propagationPolicy: "Background", cancellationToken: ct), id, cancellationToken).ConfigureAwait(false);
            }

            foreach (var name in mapNames.OrderBy(n => n == id ? 1 : 0))
            {
                await DeleteIgnoringGoneAsync($"deleting ConfigMap {name}", (c, ct) => c.CoreV1.DeleteNamespacedConfigMapAsync(name, _options.Namespace,
                    cancellationToken: ct), id, cancellationToken).ConfigureAwait(false);
            }

            return null;
        }
        catch (CcatException e) when (!e.IsUnavailable)
        {
            return new CcatException(e.ErrorId == CcatErrorId.KubernetesForbidden ? e.ErrorId : CcatErrorId.RemoveFailed,
                $"Could not remove Kubernetes job '{id}': {e.Message}", id, e);
        }
    }

    private async Task DeleteIgnoringGoneAsync<T>(string operation, Func<IKubernetes, CancellationToken, Task<T>> call, string id, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(operation, call, cancellationToken, id).ConfigureAwait(false);
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            // Gone between the list and the delete (a TTL, another session): nothing left to do.
        }
    }
}
