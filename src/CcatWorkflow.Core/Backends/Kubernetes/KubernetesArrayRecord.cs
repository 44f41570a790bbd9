using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Arrays;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// The part of a job record (<see cref="KubernetesJobRecord"/>) that only arrays have: one
/// record per array, never one per element. Keys: <c>arrayIndex</c> (the index spec, so the
/// array id expands to its elements even after the Job is gone), <c>throttle</c>,
/// <c>cancelledIndexes</c> (real indices cancelled one by one; the elements' pods read it at
/// start through a configMapKeyRef, so an element cancelled before it started ends at once),
/// and, once captured, <c>elements</c> (one line per finished element:
/// <c>index|status|reason|exit|startedAt|finishedAt</c>), <c>completedIndexes</c> and
/// <c>failedIndexes</c> (completion positions, in the Job's own interval form, which the
/// dependency waiter reads when the Job has gone). <c>savedLogs</c> lists the real indices
/// whose log has been saved in its own ConfigMap (<see cref="KubernetesNames.ElementLogConfigMapName"/>)
/// when the element was seen ended, so it outlives the pod. <c>retryOf</c>, on an array made by
/// <c>Submit-CcatJob -RetryFailed</c>, names the original array.
/// </summary>
public sealed record KubernetesArrayRecord
{
    internal const string ArrayIndexKey = "arrayIndex", ThrottleKey = "throttle", CancelledIndexesKey = "cancelledIndexes",
        ElementsKey = "elements", CompletedIndexesKey = "completedIndexes", FailedIndexesKey = "failedIndexes";

    internal const string SavedLogsKey = "savedLogs";

    // Set on a re-run made by -RetryFailed: the original array's id.
    internal const string RetryOfKey = "retryOf";

    /// <summary>The array's indices.</summary>
    public required ArrayIndexSpec Spec { get; init; }

    /// <summary>The throttle asked for, if any.</summary>
    public int? Throttle { get; init; }

    /// <summary>Real indices cancelled one by one.</summary>
    public IReadOnlySet<int> CancelledIndexes { get; init; } = new HashSet<int>();

    /// <summary>Captured results by real index.</summary>
    public IReadOnlyDictionary<int, CapturedElement> Captured { get; init; } = new Dictionary<int, CapturedElement>();

    /// <summary>Real indices whose log is saved in its own ConfigMap.</summary>
    public IReadOnlySet<int> SavedLogIndexes { get; init; } = new HashSet<int>();

    /// <summary>True once the whole array's result is recorded.</summary>
    public bool IsCaptured { get; init; }

    /// <summary>One captured element.</summary>
    public sealed record CapturedElement(HPCJobStatus Status, HPCJobReason Reason, int? ExitCode, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

    /// <summary>The array part of a record ConfigMap, or null when the record is not an array's.</summary>
    public static KubernetesArrayRecord? FromConfigMap(V1ConfigMap? cm)
    {
        var d = cm?.Data;
        if (d is null || !d.TryGetValue(ArrayIndexKey, out var specText)) return null;
        ArrayIndexSpec spec;
        try
        {
            spec = ArrayIndexSpec.Parse(specText);
        }
        catch (Errors.CcatException)
        {
            return null;
        }

        var captured = new Dictionary<int, CapturedElement>();
        if (d.TryGetValue(ElementsKey, out var lines))
        {
            foreach (var line in lines.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var f = line.Split('|');
                if (f.Length < 6 || !int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    || !Enum.TryParse<HPCJobStatus>(f[1], out var status)) continue;
                captured[index] = new CapturedElement(status,
                    Enum.TryParse<HPCJobReason>(f[2], out var reason) ? reason : HPCJobReason.None,
                    int.TryParse(f[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ec) ? ec : null,
                    KubernetesJobRecord.ParseTime(f[4].Length == 0 ? null : f[4]),
                    KubernetesJobRecord.ParseTime(f[5].Length == 0 ? null : f[5]));
            }
        }

        return new KubernetesArrayRecord
        {
            Spec = spec,
            Throttle = d.TryGetValue(ThrottleKey, out var t) && int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var th) ? th : null,
            CancelledIndexes = KubernetesIndexIntervals.Parse(d.TryGetValue(CancelledIndexesKey, out var cancelled) ? cancelled : null),
            Captured = captured,
            IsCaptured = d.ContainsKey(KubernetesJobRecord.CapturedAtKey),
            SavedLogIndexes = KubernetesIndexIntervals.Parse(d.TryGetValue(SavedLogsKey, out var saved) ? saved : null),
        };
    }

    /// <summary>The <c>elements</c> value for finished elements (real index order).</summary>
    public static string FormatElements(IEnumerable<HPCJobInfo> finished)
    {
        var sb = new StringBuilder();
        foreach (var e in finished.Where(e => e.IsFinished && e.ArrayIndex is not null).OrderBy(e => e.ArrayIndex))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{e.ArrayIndex}|{e.Status}|{e.Reason}|{e.ExitCode?.ToString(CultureInfo.InvariantCulture)}|")
              .Append(e.StartedAt is { } s ? KubernetesJobRecord.FormatTime(s) : "").Append('|')
              .Append(e.FinishedAt is { } f ? KubernetesJobRecord.FormatTime(f) : "").Append('\n');
        }

        return sb.ToString();
    }
}
