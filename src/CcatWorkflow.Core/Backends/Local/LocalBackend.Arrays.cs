using System.Globalization;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Job arrays and dependencies on the Local backend. An array is one submission: one folder
/// and one record under the array's id, and one runner (the array runner) that starts the
/// elements, at most <c>-ThrottleLimit</c> at once, each under a runner of its own in its own
/// folder <c>&lt;array&gt;_&lt;index&gt;</c> — so every element has the guarantees of a single job
/// (lock, runner.json before start, result.json first). A dependent job's runner (or the
/// array runner) waits for the parents' results before it starts anything. docs/local-backend.md
/// describes the files.
/// </summary>
public sealed partial class LocalBackend
{
    /// <inheritdoc />
    public override bool SupportsArrays => true;

    /// <inheritdoc />
    public override bool SupportsDependencies => true;

    /// <summary>
    /// Submits the job or the array (one folder, one record, one runner) and returns its id or
    /// one element id per index. Parents are checked first (<see cref="DependencyCheck"/>): each
    /// must be a Local job; one that already ended without meeting the condition refuses the
    /// submission; those that already met it are left out.
    /// </summary>
    public override async Task<IReadOnlyList<string>> SubmitElementsAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        if (submission.Dependency is { } dependency)
        {
            var canonical = new List<string>();
            foreach (var parent in dependency.ParentIds)
            {
                canonical.Add(Canonical(parent.Trim()) ?? throw new CcatException(CcatErrorId.InvalidDependency,
                    $"-DependsOn '{parent}' is not a Local job id (a UUID, or <uuid>_<index> for an array element).", parent));
            }

            var outstanding = await DependencyCheck.OutstandingAsync(this, dependency with { ParentIds = canonical.Distinct(StringComparer.Ordinal).ToList() }, cancellationToken).ConfigureAwait(false);
            submission = submission with { Dependency = outstanding };
        }

        var id = await SubmitAsync(submission, cancellationToken).ConfigureAwait(false);
        return submission.ArrayIndex is { } array
            ? array.Indices.Select(i => ArrayElementId.Format(id, i)).ToList()
            : [id];
    }

    /// <summary>What -WhatIf shows about the array and the dependency, on top of the job itself.</summary>
    private static string DescribeCampaign(JobSubmission s)
    {
        var sb = new System.Text.StringBuilder();
        if (s.ArrayIndex is { } array)
        {
            sb.Append(CultureInfo.InvariantCulture, $"# array: indices {array.Text} ({array.Indices.Count} elements), ")
                .Append(s.ThrottleLimit is { } n ? string.Create(CultureInfo.InvariantCulture, $"at most {n} running at once") : "all at once")
                .Append("; one array runner starts each element under a runner of its own, with ").Append(ArrayElementId.IndexVariable).Append(" set\n");
        }

        if (s.Dependency is { } dependency)
        {
            sb.Append("# waits for ").Append(dependency.Condition).Append(": ").Append(string.Join(", ", dependency.ParentIds)).Append('\n');
        }

        if (s.RetryOf is { } original)
        {
            sb.Append("# re-run of the failed elements of array ").Append(original).Append('\n');
        }

        return sb.ToString();
    }

    // ------------------------------------------------------------------ status

    /// <inheritdoc />
    /// <remarks>
    /// Two batch reads of the store at most: the ids asked (and the arrays of the elements
    /// asked), then the elements of the arrays asked by their own id. An element its array
    /// runner has not started yet has no record: it reads pending (WaitingForDependency while
    /// the array waits for its parents) from the array's record and runner.
    /// </remarks>
    public override async Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        // Runners this process started are its children: any look at the jobs reaps the ended
        // ones, so a killed or finished runner is not left a zombie until the next submission.
        RunnerLauncher.ReapExited();
        ArgumentNullException.ThrowIfNull(jobIds);
        var asked = jobIds.Distinct(StringComparer.Ordinal).ToList();
        var canonical = asked.Select(Canonical).ToList();
        var first = canonical.OfType<string>()
            .Concat(canonical.OfType<string>().Select(ArrayElementId.ArrayOf).OfType<string>())
            .Distinct(StringComparer.Ordinal).ToList();
        var records = await RecordMapAsync(first, cancellationToken).ConfigureAwait(false);

        // The elements of the arrays asked for by their own id, read in one more batch.
        var arrays = canonical.OfType<string>().Where(id => IsArray(records, id)).Distinct(StringComparer.Ordinal).ToList();
        var elementIds = arrays.SelectMany(a => IndicesOf(records[a].Record!).Select(i => ArrayElementId.Format(a, i)))
            .Where(e => !records.ContainsKey(e)).ToList();
        foreach (var (k, v) in await RecordMapAsync(elementIds, cancellationToken).ConfigureAwait(false)) records[k] = v;

        var looks = new ArrayLooks(this); // each array's indices and runner worked out once per call, not per element
        var results = new List<JobQueryResult>(asked.Count);
        for (var i = 0; i < asked.Count; i++)
        {
            var given = asked[i];
            if (canonical[i] is not { } id)
            {
                results.Add(new JobQueryResult(given, null, InvalidId(given)));
                continue;
            }

            if (IsArray(records, id))
            {
                results.Add(await ArrayResultAsync(given, id, records, looks, cancellationToken).ConfigureAwait(false));
                continue;
            }

            var r = await ElementOrJobAsync(id, records, looks, cancellationToken).ConfigureAwait(false);
            results.Add(r with { JobId = given });
        }

        return results;
    }

    private async Task<JobQueryResult> ArrayResultAsync(string given, string arrayId, Dictionary<string, (IReadOnlyDictionary<string, string>? Record, CcatException? Error)> records,
        ArrayLooks looks, CancellationToken cancellationToken)
    {
        var elements = new List<HPCJobInfo>();
        foreach (var index in IndicesOf(records[arrayId].Record!))
        {
            var r = await ElementOrJobAsync(ArrayElementId.Format(arrayId, index), records, looks, cancellationToken).ConfigureAwait(false);
            if (r.Error is { } e) return new JobQueryResult(given, null, e);
            elements.Add(r.Info!);
        }

        return new JobQueryResult(given, ArrayStatus.Aggregate(arrayId, HPCBackendKind.Local, elements), null, elements);
    }

    /// <summary>One job or element (never an array's own id) from the records read.</summary>
    private async Task<JobQueryResult> ElementOrJobAsync(string id, Dictionary<string, (IReadOnlyDictionary<string, string>? Record, CcatException? Error)> records,
        ArrayLooks looks, CancellationToken cancellationToken)
    {
        var (record, error) = records.TryGetValue(id, out var found) ? found : (null, null);
        if (error is not null) return new JobQueryResult(id, null, error);
        var element = ArrayElementId.TryParse(id, out var arrayId, out var index);
        if (record is null)
        {
            if (!element || !IsArray(records, arrayId)) return new JobQueryResult(id, null, NotFound(id));
            if (!looks.HasIndex(arrayId, records[arrayId].Record!, index)) return new JobQueryResult(id, null, NotFound(id));
            if (await UnstartedAsync(id, arrayId, index, new LocalJobRecord(records[arrayId].Record!), looks, cancellationToken).ConfigureAwait(false) is { } pending)
            {
                return new JobQueryResult(id, pending, null);
            }

            // Started meanwhile (its runner made the record after the first read): read it now.
            record = await RecordAsync(id, cancellationToken).ConfigureAwait(false);
            if (record is null) return new JobQueryResult(id, null, NotFound(id));
        }

        try
        {
            var info = await _inspector.InspectAsync(id, new LocalJobRecord(record), cancellationToken).ConfigureAwait(false);
            return new JobQueryResult(id, element ? AsElement(info, arrayId, index) : info, null);
        }
        catch (CcatException e)
        {
            return new JobQueryResult(id, null, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new JobQueryResult(id, null,
                new CcatException(CcatErrorId.StoreUnavailable, $"The files of job {id} cannot be read: {e.Message}", id, e));
        }
    }

    /// <summary>
    /// An element with no record yet: pending while its array runner lives (or is being
    /// started), failed (lost) when the array runner ended without starting it. Null when the
    /// element's folder has appeared meanwhile: its own record then tells. The array runner is
    /// looked at once per call (<paramref name="looks"/>), not once per element.
    /// </summary>
    private Task<HPCJobInfo?> UnstartedAsync(string id, string arrayId, int index, LocalJobRecord array,
        ArrayLooks looks, CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        var look = looks.Runner(arrayId, array);
        var name = array.Get(LocalJobRecord.Name);
        var submitted = array.Time(LocalJobRecord.SubmittedAt);
        HPCJobInfo? info;
        if (look.Alive)
        {
            var waiting = look.WaitingForParents;
            var cancelling = look.CancelRequested(index);
            var message = cancelling ? "Cancel requested."
                : waiting ? "Waiting for the jobs its array depends on."
                : array.Get(LocalJobRecord.ThrottleLimit) is { } n ? $"Waiting for a slot: at most {n} elements of the array run at once."
                : "Waiting for the array runner to start it.";
            info = new HPCJobInfo(id, HPCBackendKind.Local, HPCJobStatus.Pending, name,
                reason: waiting ? HPCJobReason.WaitingForDependency : HPCJobReason.None,
                nativeState: "PENDING", submittedAt: submitted, message: message, arrayJobId: arrayId, arrayIndex: index);
        }
        else if (_inspector.DirectoryOf(id).Exists)
        {
            info = null; // the array runner made its folder and ended after the first read
        }
        else
        {
            info = new HPCJobInfo(id, HPCBackendKind.Local, HPCJobStatus.Failed, name, reason: HPCJobReason.Lost, nativeState: "LOST",
                submittedAt: submitted, message: $"The array runner of {arrayId} ended without starting this element.",
                arrayJobId: arrayId, arrayIndex: index);
        }

        return Task.FromResult(info is null ? null : new LocalJobRecord(array.Fields).WithSubmission(info, () => null, _inspector.DirectoryOf(id).StdoutPath));
    }

    private async Task<Dictionary<string, (IReadOnlyDictionary<string, string>? Record, CcatException? Error)>> RecordMapAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var map = new Dictionary<string, (IReadOnlyDictionary<string, string>? Record, CcatException? Error)>(StringComparer.Ordinal);
        if (ids.Count == 0) return map;
        var records = await RecordsAsync(ids, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < ids.Count; i++) map[ids[i]] = records[i];
        return map;
    }

    private static bool IsArray(Dictionary<string, (IReadOnlyDictionary<string, string>? Record, CcatException? Error)> records, string id) =>
        ArrayElementId.ArrayOf(id) is null && records.TryGetValue(id, out var r) && r.Record is { } fields && IsArrayRecord(fields);

    private static bool IsArrayRecord(IReadOnlyDictionary<string, string> fields) =>
        fields.TryGetValue(LocalJobRecord.ArrayIndex, out var spec) && spec.Length > 0;

    private static IReadOnlyList<int> IndicesOf(IReadOnlyDictionary<string, string> arrayRecord)
    {
        try
        {
            return ArrayIndexSpec.Parse(arrayRecord[LocalJobRecord.ArrayIndex]).Indices;
        }
        catch (CcatException)
        {
            return []; // a record someone edited: no elements to show
        }
    }

    /// <summary><paramref name="info"/> as element <paramref name="index"/> of <paramref name="arrayId"/>.</summary>
    private static HPCJobInfo AsElement(HPCJobInfo info, string arrayId, int index) =>
        new HPCJobInfo(info.JobId, info.Backend, info.Status, info.JobName, info.ExitCode, info.WallTimeSeconds, info.CpuHours,
                info.PeakMemoryGb, info.Reason, info.NativeState, info.SubmittedAt, info.StartedAt, info.FinishedAt, info.Message,
                info.AllocatedCpuHours, arrayId, index)
            .WithSubmission(info.RequestedCpu, info.RequestedMemoryGb, info.RequestedTimeHours, info.RequestedGpu, info.Command, info.LogPath);

    // ------------------------------------------------------------------ cancel

    /// <summary>
    /// Leaves the cancel requests of one element: in the array's folder (so its runner never
    /// starts it) and, when it has started, in its own (its runner ends it).
    /// </summary>
    private static void RequestElementCancel(LocalJobDirectory arrayDir, LocalJobDirectory elementDir, int index, LocalCancelRequest request)
    {
        LocalArrayFiles.RequestElementCancel(arrayDir, index, request);
        if (elementDir.Exists) elementDir.RequestCancel(request);
    }
}
