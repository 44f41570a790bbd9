using System.Collections.Concurrent;
using System.Text.Json;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// The logs of array elements beyond their pods. A single job's log is saved in a ConfigMap
/// when its result is captured; an array's elements end one by one, long before the whole
/// array, and their pods go with the Job (its TTL, or Remove-CcatJob). So any status read that
/// sees an element ended with its log not yet saved saves it: one ConfigMap per element,
/// <c>&lt;arrayId&gt;.&lt;index&gt;.log</c>, bounded like a single job's
/// (<see cref="MaxCapturedLogBytes"/>), labelled with the array's id (so Remove-CcatJob of the
/// array removes it with the rest), and the index joins the record's <c>savedLogs</c>. Two
/// sessions that see the same end both try; the second create is refused (409) and counts as
/// saved. Get-CcatJobLog of an element reads the pod while there is one, then the saved copy.
/// </summary>
public sealed partial class KubernetesBackend
{
    /// <summary>
    /// Saves the log of every element of the arrays in <paramref name="statuses"/> that has
    /// ended since the last look (a few at a time), then records the saved indices in each
    /// array's record (one merge patch per array). Best effort: the status read has succeeded
    /// already, and the next read tries again. A lost race on the patch only costs the next
    /// reader a refused create.
    /// </summary>
    private async Task SaveElementLogsAsync(IEnumerable<KubernetesStatus> statuses, Dictionary<string, KubernetesArrayRecord> arrays,
        Dictionary<string, IReadOnlyList<V1Pod>> pods, CancellationToken cancellationToken)
    {
        var due = new List<(string ArrayId, int Index, string PodName)>();
        foreach (var s in statuses.Where(s => s.ArrayId is not null && s.Elements is not null).DistinctBy(s => s.ArrayId, StringComparer.Ordinal))
        {
            var arrayId = s.ArrayId!;
            if (!arrays.TryGetValue(arrayId, out var array) || pods.GetValueOrDefault(arrayId) is not { Count: > 0 } arrayPods) continue;
            var ended = EndedPodsByPosition(arrayPods);
            for (var p = 0; p < s.Elements!.Count && p < array.Spec.Indices.Count; p++)
            {
                var index = array.Spec.Indices[p];
                if (s.Elements[p].IsFinished && !array.SavedLogIndexes.Contains(index) && ended.TryGetValue(p, out var pod))
                {
                    due.Add((arrayId, index, pod.Metadata.Name));
                }
            }
        }

        if (due.Count == 0) return;
        var saved = new ConcurrentBag<(string ArrayId, int Index)>();
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(due.Select(async d =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (await SaveLogAsync(d.ArrayId, KubernetesNames.ElementLogConfigMapName(d.ArrayId, d.Index), d.PodName,
                        ArrayElementId.Format(d.ArrayId, d.Index), cancellationToken).ConfigureAwait(false))
                {
                    saved.Add((d.ArrayId, d.Index));
                }
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        foreach (var group in saved.GroupBy(x => x.ArrayId, StringComparer.Ordinal))
        {
            var indexes = arrays[group.Key].SavedLogIndexes.Union(group.Select(x => x.Index));
            var patch = JsonSerializer.Serialize(new { data = new Dictionary<string, string> { [KubernetesArrayRecord.SavedLogsKey] = KubernetesIndexIntervals.Format(indexes) } });
            await BestEffortAsync((c, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(
                new V1Patch(patch, V1Patch.PatchType.MergePatch), group.Key, _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }
    }

    // The newest pod of each completion position whose main container has ended.
    private static Dictionary<int, V1Pod> EndedPodsByPosition(IReadOnlyList<V1Pod> pods)
    {
        var ended = new Dictionary<int, V1Pod>();
        foreach (var pod in pods)
        {
            if (pod.Metadata.Labels?.TryGetValue(KubernetesArraySpecBuilder.CompletionIndexLabel, out var label) != true
                || !int.TryParse(label, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var position)
                || pod.Status?.ContainerStatuses?.Any(c => c.Name == KubernetesNames.ContainerName && c.State?.Terminated is not null) != true)
            {
                continue;
            }

            if (!ended.TryGetValue(position, out var other) || ReferenceEquals(NewestPod([pod, other]), pod)) ended[position] = pod;
        }

        return ended;
    }

    /// <summary>
    /// Reads an ended pod's log and keeps it, bounded, in ConfigMap <paramref name="configMapName"/>
    /// labelled as <paramref name="ownerId"/>'s log. True when it is saved, now or by another
    /// session before (409); false when the pod, its log or the write failed.
    /// </summary>
    private async Task<bool> SaveLogAsync(string ownerId, string configMapName, string podName, string jobId, CancellationToken cancellationToken)
    {
        try
        {
            var text = await ReadPodLogAsync(podName, null, cancellationToken).ConfigureAwait(false);
            var cm = new V1ConfigMap
            {
                ApiVersion = "v1",
                Kind = "ConfigMap",
                Metadata = new V1ObjectMeta
                {
                    Name = configMapName,
                    Labels = KubernetesNames.OwnedLabels(ownerId, "log"),
                },
                Data = new Dictionary<string, string> { ["log"] = LimitLog(text) },
            };
            await CallAsync($"saving the log of {jobId}", (c, ct) => c.CoreV1.CreateNamespacedConfigMapAsync(cm, _options.Namespace, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
            return true;
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesConflict)
        {
            return true; // another session saved it first
        }
        catch (CcatException)
        {
            return false; // the pod or its log is already gone, or the write was refused
        }
    }

    // An element's saved log; "" when none was saved (it never ran, or its pod went unseen).
    private async Task<string> SavedElementLogAsync(string jobId, string arrayId, int index, int? tail, CancellationToken cancellationToken)
    {
        try
        {
            var cm = await CallAsync($"reading the saved log of {jobId}", (c, ct) => c.CoreV1.ReadNamespacedConfigMapAsync(
                KubernetesNames.ElementLogConfigMapName(arrayId, index), _options.Namespace, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
            var text = cm.Data is { } d && d.TryGetValue("log", out var l) ? l : "";
            return tail is { } t ? LogText.TailLines(text, t) : text;
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            return "";
        }
    }
}
