using System.Globalization;
using System.Text.Json;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Job arrays and dependencies on Kubernetes. An array is one Indexed Job with one record
/// (<see cref="KubernetesArraySpecBuilder"/>, <see cref="KubernetesArrayRecord"/>); its
/// elements are <c>&lt;arrayId&gt;_&lt;index&gt;</c> and are read with the array's Job, pods
/// and record in the same three list calls as any status. A dependency is an init container
/// that waits through the API server (<see cref="KubernetesDependencyWaiter"/>); parents that
/// have already finished are decided here, before anything is created.
/// <para>Cancelling one element: its index joins the record's <c>cancelledIndexes</c> (an
/// element that has not started reads it when its pod starts and ends at once, exit 143) and
/// its running pod is deleted (with <c>backoffLimitPerIndex: 0</c> the index then fails and is
/// not retried); it reads Failed, reason Cancelled. Cancelling the array (its id, or every
/// element) records the finished elements' results and the cancel in the record, then deletes
/// the Job.</para>
/// </summary>
public sealed partial class KubernetesBackend
{
    /// <inheritdoc />
    public override bool SupportsArrays => true;

    /// <inheritdoc />
    public override bool SupportsDependencies => true;

    /// <summary>A Job name, or an element id <c>&lt;Job name&gt;_&lt;index&gt;</c>.</summary>
    internal static bool IsValidId(string? id) =>
        KubernetesNames.IsValidJobId(id) || (ArrayElementId.TryParse(id, out var array, out _) && KubernetesNames.IsValidJobId(array));

    private static string BaseId(string id) => ArrayElementId.ArrayOf(id) ?? id;

    // ------------------------------------------------------------------ submit

    /// <summary>
    /// The parents the waiter must still wait for, in its form (<c>job</c>, <c>array</c> or
    /// <c>array:position</c>), read first in three list calls (one Job and one record per
    /// array, whatever the number of elements, are made after): finished parents that meet the
    /// condition are left out, one that never can refuses the submission with
    /// <see cref="CcatErrorId.DependencyNeverSatisfied"/>; null when none is left.
    /// </summary>
    protected override async Task<JobDependency?> OutstandingParentsAsync(JobDependency dependency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dependency);
        foreach (var id in dependency.ParentIds.Where(i => !IsValidId(i)))
        {
            throw new CcatException(CcatErrorId.InvalidDependency, $"-DependsOn '{id}' is not a Kubernetes job id (a Job name, or <name>_<index> for an array element).", id);
        }

        var arraysOfElements = dependency.ParentIds.Select(ArrayElementId.ArrayOf).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var read = (await GetStatusesAsync([.. dependency.ParentIds.Concat(arraysOfElements).Distinct(StringComparer.Ordinal)], cancellationToken).ConfigureAwait(false))
            .ToDictionary(r => r.JobId, StringComparer.Ordinal);
        JobQueryResult Known(string id) => read[id] is { Error: { } e }
            ? throw (e.IsUnavailable ? e : new CcatException(CcatErrorId.InvalidDependency, $"-DependsOn '{id}': {e.Message}", id, e))
            : read[id];

        var units = new List<(string WaiterId, HPCJobInfo Info)>();
        foreach (var id in dependency.ParentIds.Where(i => ArrayElementId.ArrayOf(i) is null))
        {
            units.Add((id, Known(id).Info!));
        }

        foreach (var arrayId in arraysOfElements.Where(a => !dependency.ParentIds.Contains(a)))
        {
            var elements = Known(arrayId).Elements
                ?? throw new CcatException(CcatErrorId.InvalidDependency, $"-DependsOn names elements of '{arrayId}', which is not a job array.", arrayId);
            var asked = dependency.ParentIds.Where(i => ArrayElementId.ArrayOf(i) == arrayId).ToHashSet(StringComparer.Ordinal);
            if (elements.All(e => asked.Contains(e.JobId)))
            {
                // Every element (as -DependsOn $array passes them): wait for the array as a whole.
                units.Add((arrayId, Known(arrayId).Info!));
                continue;
            }

            for (var position = 0; position < elements.Count; position++)
            {
                if (asked.Remove(elements[position].JobId)) units.Add((string.Create(CultureInfo.InvariantCulture, $"{arrayId}:{position}"), elements[position]));
            }

            foreach (var missing in asked)
            {
                throw new CcatException(CcatErrorId.InvalidDependency, $"-DependsOn '{missing}': array '{arrayId}' has no such element.", missing);
            }
        }

        var outstanding = new List<string>();
        foreach (var (waiterId, parent) in units)
        {
            if (!parent.IsFinished)
            {
                outstanding.Add(waiterId);
            }
            else if (!dependency.IsMetBy(parent))
            {
                throw new CcatException(CcatErrorId.DependencyNeverSatisfied,
                    $"Job '{parent.JobId}' has already ended {parent.Status.ToString().ToLowerInvariant()}" +
                    (parent.Reason == HPCJobReason.None ? "" : $" ({parent.Reason})") +
                    $", so {dependency.Condition} can never be met; nothing was submitted.", parent.JobId);
            }
        }

        return outstanding.Count == 0 ? null : dependency with { ParentIds = outstanding };
    }

    // ------------------------------------------------------------------ status

    // The array part of every record read, and of array Jobs whose record is missing (their annotation).
    private static Dictionary<string, KubernetesArrayRecord> ArraysOf(IEnumerable<V1ConfigMap> records, Dictionary<string, V1Job> jobs)
    {
        var arrays = new Dictionary<string, KubernetesArrayRecord>(StringComparer.Ordinal);
        foreach (var cm in records)
        {
            if (KubernetesArrayRecord.FromConfigMap(cm) is { } a) arrays[cm.Metadata.Name] = a;
        }

        foreach (var (id, job) in jobs)
        {
            if (arrays.ContainsKey(id) || job.Metadata.Annotations is not { } annotations || !annotations.TryGetValue(KubernetesArraySpecBuilder.ArrayIndexAnnotation, out var spec)) continue;
            if (KubernetesArrayRecord.FromConfigMap(new V1ConfigMap { Data = new Dictionary<string, string> { [KubernetesArrayRecord.ArrayIndexKey] = spec } }) is { } a) arrays[id] = a;
        }

        return arrays;
    }

    // Maps one id; an array's elements are mapped once per read (cache), however many of them are asked.
    private static KubernetesStatus? MapAny(string id, Dictionary<string, V1Job> jobs, Dictionary<string, IReadOnlyList<V1Pod>> pods,
        Dictionary<string, KubernetesJobRecord> records, Dictionary<string, KubernetesArrayRecord> arrays, DateTimeOffset now,
        Dictionary<string, IReadOnlyList<HPCJobInfo>> elementCache)
    {
        var baseId = BaseId(id);
        if (!arrays.TryGetValue(baseId, out var array))
        {
            return baseId == id ? KubernetesStatusMapper.Map(id, jobs.GetValueOrDefault(id), pods.GetValueOrDefault(id) ?? [], records.GetValueOrDefault(id), now) : null;
        }

        var job = jobs.GetValueOrDefault(baseId);
        var record = records.GetValueOrDefault(baseId);
        if (!elementCache.TryGetValue(baseId, out var elements))
        {
            elementCache[baseId] = elements = KubernetesArrayStatusMapper.MapElements(baseId, array, job, pods.GetValueOrDefault(baseId) ?? [], record, now);
        }

        var finished = job?.Status?.Conditions?.Any(c => c.Status == "True" && c.Type is "Complete" or "Failed") == true;
        var needsCapture = finished && record is not null && !array.IsCaptured && record.CancelRequestedAt is null;
        if (baseId == id)
        {
            var summary = ArrayStatus.Aggregate(baseId, HPCBackendKind.Kubernetes, elements)
                .WithSubmission(record?.Cpu, record?.MemoryGb, record?.TimeHours, record?.Gpu, record?.Command, logPath: null);
            return new KubernetesStatus(summary, needsCapture, false, job is not null, elements, baseId);
        }

        var position = ArrayElementId.TryParse(id, out _, out var index) ? KubernetesArraySpecBuilder.PositionOf(array.Spec, index) : -1;
        return position < 0 ? null : new KubernetesStatus(elements[position], needsCapture, false, job is not null, elements, baseId);
    }

    // An array's result, recorded once when its Job has finished: one record patch, whatever the number of elements.
    private async Task CaptureArrayAsync(KubernetesStatus status, CancellationToken cancellationToken)
    {
        var elements = status.Elements ?? [];
        var summary = ArrayStatus.Aggregate(status.ArrayId!, HPCBackendKind.Kubernetes, elements);
        var data = new Dictionary<string, string?>
        {
            [KubernetesArrayRecord.ElementsKey] = KubernetesArrayRecord.FormatElements(elements),
            [KubernetesArrayRecord.CompletedIndexesKey] = KubernetesIndexIntervals.Format(Positions(elements, HPCJobStatus.Completed)),
            [KubernetesArrayRecord.FailedIndexesKey] = KubernetesIndexIntervals.Format(Positions(elements, HPCJobStatus.Failed)),
            [KubernetesJobRecord.StatusKey] = summary.Status.ToString(),
            [KubernetesJobRecord.CapturedAtKey] = KubernetesJobRecord.FormatTime(_time.GetUtcNow()),
        };
        var patch = JsonSerializer.Serialize(new { data });
        await BestEffortAsync((c, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch(patch, V1Patch.PatchType.MergePatch), status.ArrayId!, _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
    }

    private static IEnumerable<int> Positions(IReadOnlyList<HPCJobInfo> elements, HPCJobStatus status) =>
        Enumerable.Range(0, elements.Count).Where(p => elements[p].Status == status);

    // ------------------------------------------------------------------ cancel

    // Cancels every target that is an array or an element, per array; returns their results and the other targets.
    private async Task<(List<JobQueryResult> Done, List<JobQueryResult> Others)> CancelArrayTargetsAsync(IReadOnlyList<JobQueryResult> statuses, CancellationToken cancellationToken)
    {
        static string? ArrayOf(JobQueryResult s) => s.Error is not null ? null : s.Elements is not null ? s.JobId : s.Info?.ArrayJobId;
        var done = new List<JobQueryResult>();
        foreach (var group in statuses.Where(s => ArrayOf(s) is not null).GroupBy(s => ArrayOf(s)!, StringComparer.Ordinal))
        {
            var whole = group.FirstOrDefault(s => s.Elements is not null);
            try
            {
                if (whole is not null) await CancelWholeArrayAsync(group.Key, whole.Elements!, cancellationToken).ConfigureAwait(false);
                else await CancelElementsAsync(group.Key, group.Select(s => s.Info!).ToList(), cancellationToken).ConfigureAwait(false);
                done.AddRange(group.Select(s => new JobQueryResult(s.JobId, null, null)));
            }
            catch (CcatException e) when (!e.IsUnavailable)
            {
                done.AddRange(group.Select(s => new JobQueryResult(s.JobId, null, new CcatException(e.ErrorId, e.Message, s.JobId, e))));
            }
        }

        return (done, statuses.Where(s => ArrayOf(s) is null).ToList());
    }

    private async Task CancelWholeArrayAsync(string arrayId, IReadOnlyList<HPCJobInfo> elements, CancellationToken cancellationToken)
    {
        if (elements.All(e => e.IsFinished)) return; // nothing to cancel; the results stay readable
        // The finished elements' results and the cancel first: once the Job is gone only the record tells them.
        var data = new Dictionary<string, string?>
        {
            [KubernetesJobRecord.CancelRequestedAtKey] = KubernetesJobRecord.FormatTime(_time.GetUtcNow()),
            [KubernetesArrayRecord.ElementsKey] = KubernetesArrayRecord.FormatElements(elements.Where(e => e.IsFinished)),
        };
        await CallAsync($"recording the cancel of array {arrayId}", (c, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch(JsonSerializer.Serialize(new { data }), V1Patch.PatchType.MergePatch), arrayId, _options.Namespace, cancellationToken: ct), cancellationToken, arrayId).ConfigureAwait(false);
        try
        {
            await CallAsync($"deleting Job {arrayId}", (c, ct) => c.BatchV1.DeleteNamespacedJobAsync(arrayId, _options.Namespace,
                propagationPolicy: "Background", cancellationToken: ct), cancellationToken, arrayId).ConfigureAwait(false);
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            // Already gone between the read and the delete.
        }
    }

    private async Task CancelElementsAsync(string arrayId, IReadOnlyList<HPCJobInfo> targets, CancellationToken cancellationToken)
    {
        var unfinished = targets.Where(i => !i.IsFinished).ToList();
        if (unfinished.Count == 0) return;
        KubernetesArrayRecord? array = null;
        for (var attempt = 0; ; attempt++)
        {
            // Read, add, write with the read's resourceVersion: two cancels at once must not lose one.
            var cm = await CallAsync($"reading the record of array {arrayId}", (c, ct) => c.CoreV1.ReadNamespacedConfigMapAsync(arrayId, _options.Namespace, cancellationToken: ct), cancellationToken, arrayId).ConfigureAwait(false);
            array = KubernetesArrayRecord.FromConfigMap(cm) ?? throw new CcatException(CcatErrorId.CancelFailed, $"The record of '{arrayId}' is not an array's.", arrayId);
            if (attempt == 0 && targets.Select(t => t.ArrayIndex).Distinct().Count() == array.Spec.Indices.Count)
            {
                // Every element (as a piped listing passes them): cancel the array as a whole.
                await CancelWholeArrayAsync(arrayId, targets, cancellationToken).ConfigureAwait(false);
                return;
            }

            var cancelled = array.CancelledIndexes.Union(unfinished.Select(e => e.ArrayIndex!.Value)).Order();
            var patch = JsonSerializer.Serialize(new
            {
                metadata = new { resourceVersion = cm.Metadata.ResourceVersion },
                data = new Dictionary<string, string> { [KubernetesArrayRecord.CancelledIndexesKey] = string.Join(',', cancelled) },
            });
            try
            {
                await CallAsync($"recording the cancel of elements of {arrayId}", (c, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(
                    new V1Patch(patch, V1Patch.PatchType.MergePatch), arrayId, _options.Namespace, cancellationToken: ct), cancellationToken, arrayId).ConfigureAwait(false);
                break;
            }
            catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesConflict && attempt < 4)
            {
                // Changed since the read: read again.
            }
        }

        // The running (or pending) pods of those elements: deleted, so their indexes fail and are not retried.
        var positions = unfinished.Select(e => KubernetesArraySpecBuilder.PositionOf(array.Spec, e.ArrayIndex!.Value).ToString(CultureInfo.InvariantCulture)).ToHashSet(StringComparer.Ordinal);
        foreach (var pod in await ListPodsAsync(arrayId, cancellationToken).ConfigureAwait(false))
        {
            if (pod.Metadata.Labels is not { } labels || !labels.TryGetValue(KubernetesArraySpecBuilder.CompletionIndexLabel, out var p) || !positions.Contains(p)) continue;
            if (pod.Status?.Phase is "Succeeded" or "Failed") continue;
            await BestEffortAsync((c, ct) => c.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ logs

    private async Task<string> ElementLogAsync(string jobId, string arrayId, int index, int? tail, CancellationToken cancellationToken)
    {
        KubernetesArrayRecord? array;
        try
        {
            var cm = await CallAsync($"reading the record of array {arrayId}", (c, ct) => c.CoreV1.ReadNamespacedConfigMapAsync(arrayId, _options.Namespace, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
            array = KubernetesArrayRecord.FromConfigMap(cm);
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            array = null;
        }

        var position = array is null ? -1 : KubernetesArraySpecBuilder.PositionOf(array.Spec, index);
        if (position < 0) throw NotFound(jobId);
        var pods = (await CallAsync($"listing the pods of {jobId}", (c, ct) => c.CoreV1.ListNamespacedPodAsync(_options.Namespace,
            labelSelector: $"{KubernetesNames.JobIdLabel}={arrayId},{KubernetesArraySpecBuilder.CompletionIndexLabel}={position.ToString(CultureInfo.InvariantCulture)}",
            cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false)).Items;
        // No pod: not started yet, or gone with the Job (its TTL): the copy saved when it ended, if any.
        if (NewestPod(pods) is not { } pod) return await SavedElementLogAsync(jobId, arrayId, index, tail, cancellationToken).ConfigureAwait(false);

        try
        {
            return await ReadPodLogAsync(pod.Metadata.Name, tail, cancellationToken).ConfigureAwait(false);
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesInvalid)
        {
            return ""; // the container has not started
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            return await SavedElementLogAsync(jobId, arrayId, index, tail, cancellationToken).ConfigureAwait(false); // the pod just went
        }
    }

    // An array's own id names no single log.
    private static void RefuseWholeArray(string jobId, IReadOnlyList<V1Pod> pods)
    {
        if (pods.Any(p => p.Metadata.Labels?.ContainsKey(KubernetesArraySpecBuilder.CompletionIndexLabel) == true))
        {
            throw new CcatException(CcatErrorId.InvalidJobId,
                $"'{jobId}' is a job array; logs are per element: ask for one, '{jobId}_<index>'.", jobId);
        }
    }
}
