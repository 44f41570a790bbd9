using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// What an array's record and folder say, for the elements its runner has not started yet.
/// Worked out once per status call and array: the elements of a 500-element array share one
/// parse of its index spec and one look at its runner's lock, runner.json and cancel requests,
/// not 500 of each.
/// </summary>
public sealed partial class LocalBackend
{
    /// <summary>Looks at the runner of array <paramref name="arrayId"/> (the rule of every job's runner: the lock on this machine, the heartbeat from another host).</summary>
    private ArrayRunnerLook LookAtArrayRunner(string arrayId, LocalJobRecord array)
    {
        var arrayDir = _inspector.DirectoryOf(arrayId);
        var exists = arrayDir.Exists;
        var runner = exists ? arrayDir.TryReadRunner() : null;
        var now = DateTimeOffset.UtcNow;
        bool alive;
        if (runner is not null && !runner.IsOnThisMachine())
        {
            alive = arrayDir.LastSignOfLife() is { } seen && now - seen < _options.HeartbeatStale;
        }
        else
        {
            var lockState = arrayDir.ProbeLock();
            alive = lockState == RunnerLockState.Held
                || (runner is null && lockState is RunnerLockState.Absent && array.Time(LocalJobRecord.SubmittedAt) is { } s && now - s < _options.LaunchGrace);
        }

        if (!alive) return new ArrayRunnerLook(arrayDir, Alive: false, WaitingForParents: false, CancelAll: false, CancelledElements: null);
        var waiting = array.Get(LocalJobRecord.DependsOn) is not null && !File.Exists(arrayDir.FilePath(LocalArrayFiles.ParentsMetFile));
        return exists
            ? new ArrayRunnerLook(arrayDir, true, waiting, arrayDir.CancelRequested, CancelledElements(arrayDir))
            : new ArrayRunnerLook(arrayDir, true, waiting, CancelAll: false, CancelledElements: []);
    }

    /// <summary>The indices with a <c>cancel-element-&lt;index&gt;</c> request in the array's folder (one listing); null when it cannot be listed.</summary>
    private static HashSet<int>? CancelledElements(LocalJobDirectory arrayDir)
    {
        try
        {
            var found = new HashSet<int>();
            foreach (var path in Directory.EnumerateFiles(arrayDir.Path, LocalArrayFiles.ElementCancelPrefix + "*"))
            {
                if (int.TryParse(Path.GetFileName(path).AsSpan(LocalArrayFiles.ElementCancelPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    found.Add(index);
                }
            }

            return found;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // asked element by element instead
        }
    }

    /// <summary>What one status call has worked out about the arrays it read: each array's indices and runner, once.</summary>
    private sealed class ArrayLooks(LocalBackend backend)
    {
        private readonly Dictionary<string, HashSet<int>> _indices = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ArrayRunnerLook> _runners = new(StringComparer.Ordinal);

        /// <summary>True when <paramref name="index"/> is one of the array's indices (its spec parsed once per call).</summary>
        public bool HasIndex(string arrayId, IReadOnlyDictionary<string, string> arrayRecord, int index)
        {
            if (!_indices.TryGetValue(arrayId, out var set)) _indices[arrayId] = set = [.. IndicesOf(arrayRecord)];
            return set.Contains(index);
        }

        /// <summary>The array's runner, looked at on first use in this call.</summary>
        public ArrayRunnerLook Runner(string arrayId, LocalJobRecord arrayRecord)
        {
            if (!_runners.TryGetValue(arrayId, out var look)) _runners[arrayId] = look = backend.LookAtArrayRunner(arrayId, arrayRecord);
            return look;
        }
    }

    /// <summary>An array runner as seen once: alive (or being started), waiting for its parents, which elements are to be cancelled.</summary>
    private sealed record ArrayRunnerLook(LocalJobDirectory ArrayDir, bool Alive, bool WaitingForParents, bool CancelAll, HashSet<int>? CancelledElements)
    {
        /// <summary>True when the whole array, or element <paramref name="index"/>, is to be cancelled.</summary>
        public bool CancelRequested(int index) =>
            CancelAll || (CancelledElements?.Contains(index) ?? LocalArrayFiles.ElementCancelRequested(ArrayDir, index));
    }
}
