using System.Text;
using System.Text.Json;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// The Kubernetes backend: one Job per submission in K8S_NAMESPACE, running the execution
/// command with <c>/bin/sh -c</c> in the runner image. The job id is the Job's name.
/// </summary>
/// <remarks>
/// <para>Beside each Job the backend keeps a small record ConfigMap of the same name (see
/// <see cref="KubernetesJobRecord"/>): it is what makes a cancelled job read cancelled after its
/// Job is deleted, a job deleted behind the module's back read lost, and a job removed by its
/// TTL keep its exit code, times and log. The result is captured into the record the first
/// time any status call sees the job finished; set K8S_TTL_SECONDS_AFTER_FINISHED well above the
/// polling interval so that happens before the TTL controller deletes the pod.</para>
/// <para>Status of many jobs costs three list calls (Jobs, pods, records), whatever their
/// number; a job seen finished for the first time adds its one-off capture (log read, log
/// ConfigMap, record patch).</para>
/// <para>RBAC the module needs in the namespace: jobs (create, get, list, delete), pods (get,
/// list), pods/log (get), configmaps (create, get, list, patch, delete), secrets (create, patch,
/// delete; only for jobs with secret variables, and for pruning).</para>
/// </remarks>
public sealed partial class KubernetesBackend : HPCBackend
{
    /// <summary>Largest captured log kept in a ConfigMap (the API limits an object to 1 MiB).</summary>
    public const int MaxCapturedLogBytes = 768 * 1024;

    // Beyond this length the selector "job-id in (…)" is replaced by listing every managed object:
    // still one call per kind, and URLs stay short.
    private const int MaxInSelectorLength = 3000;

    private readonly KubernetesOptions _options;
    private readonly Func<string, string?> _getEnvironment;
    private readonly TimeProvider _time;
    private readonly object _clientGate = new();
    private readonly List<IKubernetes> _retiredClients = [];
    private (string Source, IKubernetes Client, string Server)? _client;

    /// <summary>Builds the backend from settings. Reading the kubeconfig waits for the first API call.</summary>
    public static KubernetesBackend Create(CcatSettings settings) => new(KubernetesOptions.FromSettings(settings));

    /// <summary>Creates the backend.</summary>
    /// <param name="options">Checked settings.</param>
    /// <param name="getEnvironment">Environment lookup (KUBECONFIG, HOME); the process environment when null.</param>
    /// <param name="time">Clock; the system clock when null.</param>
    public KubernetesBackend(KubernetesOptions options, Func<string, string?>? getEnvironment = null, TimeProvider? time = null)
    {
        _options = options;
        _getEnvironment = getEnvironment ?? Environment.GetEnvironmentVariable;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Kubernetes;

    /// <inheritdoc />
    public override string? NormalizeJobId(string jobId) =>
        IsValidId(jobId) ? jobId
        : IsQualifiedJobId(jobId) ? (SplitJobId(jobId).Namespace == _options.Namespace ? SplitJobId(jobId).Name : jobId)
        : null;

    /// <inheritdoc />
    protected override string JobIdForm => "a Kubernetes job id (a Job name: lowercase letters, digits and '-', at most 63; namespace/name outside K8S_NAMESPACE)";

    /// <summary>The backend's settings.</summary>
    public KubernetesOptions Options => _options;

    // ------------------------------------------------------------------ submit

    /// <inheritdoc />
    public override string DescribeSubmission(JobSubmission submission)
    {
        submission.Validate();
        if (ElsewhereFor(RequestedNamespace(submission)) is { } other) return other.DescribeSubmission(WithoutNamespace(submission));
        var id = KubernetesNames.NewJobId(submission.JobName);
        return KubernetesJobSpecBuilder.Render(
            KubernetesJobSpecBuilder.BuildJob(submission, _options, id),
            KubernetesJobSpecBuilder.BuildRecord(submission, _options, id, _time.GetUtcNow()),
            KubernetesJobSpecBuilder.BuildSecret(submission, _options, id));
    }

    /// <inheritdoc />
    public override async Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        submission.Validate();
        if (RequestedNamespace(submission) is { } ns && ElsewhereFor(ns) is { } other)
        {
            return ns + "/" + await other.SubmitAsync(WithoutNamespace(submission), cancellationToken).ConfigureAwait(false);
        }

        var id = KubernetesNames.NewJobId(submission.JobName);
        var job = KubernetesJobSpecBuilder.BuildJob(submission, _options, id);
        var record = KubernetesJobSpecBuilder.BuildRecord(submission, _options, id, _time.GetUtcNow());
        var secret = KubernetesJobSpecBuilder.BuildSecret(submission, _options, id);

        // The record first: without it a cancelled or vanished job could not be told apart later.
        await CallAsync($"creating the record ConfigMap {id}",
            (c, ct) => c.CoreV1.CreateNamespacedConfigMapAsync(record, _options.Namespace, cancellationToken: ct), cancellationToken, id).ConfigureAwait(false);
        V1Job created;
        try
        {
            // The secret variables' Secret before the Job, so the pod finds it when it starts.
            if (secret is not null)
            {
                await CallAsync($"creating the Secret {id} of the job's secret variables",
                    (c, ct) => c.CoreV1.CreateNamespacedSecretAsync(secret, _options.Namespace, cancellationToken: ct), cancellationToken, id).ConfigureAwait(false);
            }

            created = await CallAsync($"creating Job {id} in namespace {_options.Namespace}",
                (c, ct) => c.BatchV1.CreateNamespacedJobAsync(job, _options.Namespace, cancellationToken: ct), cancellationToken, id).ConfigureAwait(false);
        }
        catch
        {
            if (secret is not null)
            {
                await BestEffortAsync((c, ct) => c.CoreV1.DeleteNamespacedSecretAsync(id, _options.Namespace, cancellationToken: ct), CancellationToken.None).ConfigureAwait(false);
            }

            // CancellationToken.None: the roll-back runs even when the caller cancelled.
            await BestEffortAsync((c, ct) => c.CoreV1.DeleteNamespacedConfigMapAsync(id, _options.Namespace, cancellationToken: ct), CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (secret is not null && created.Metadata?.Uid is { Length: > 0 } uid)
        {
            // The Job owns its Secret: the garbage collector deletes it with the Job (TTL,
            // cancel, capture). If this patch fails, record pruning deletes it later.
            var owner = JsonSerializer.Serialize(new
            {
                metadata = new
                {
                    ownerReferences = new[] { new { apiVersion = "batch/v1", kind = "Job", name = id, uid, blockOwnerDeletion = false } },
                },
            });
            await BestEffortAsync((c, ct) => c.CoreV1.PatchNamespacedSecretAsync(
                new V1Patch(owner, V1Patch.PatchType.MergePatch), id, _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        return id;
    }

    // ------------------------------------------------------------------ status

    /// <inheritdoc />
    public override async Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        if (await AcrossNamespacesAsync(jobIds, (b, ids, ct) => b.GetStatusesAsync(ids, ct), cancellationToken).ConfigureAwait(false) is { } across) return across;
        var distinct = jobIds.Distinct(StringComparer.Ordinal).ToList();
        var valid = distinct.Where(IsValidId).ToList();
        var mapped = valid.Count == 0
            ? new Dictionary<string, KubernetesStatus>()
            : await ReadAsync(valid, cancellationToken).ConfigureAwait(false);

        return distinct.Select(id =>
            !IsValidId(id)
                ? new JobQueryResult(id, null, new CcatException(CcatErrorId.InvalidJobId,
                    $"'{id}' is not a Kubernetes job id (a Job name: lowercase letters, digits and '-', at most 63).", id))
                : mapped.TryGetValue(id, out var s)
                    ? new JobQueryResult(id, s.Info?.WithScheduling(null, null, null, _options.Namespace), null,
                        id == s.ArrayId ? s.Elements?.Select(e => e.WithScheduling(null, null, null, _options.Namespace)).ToList() : null)
                    : new JobQueryResult(id, null, NotFound(id))).ToList();
    }

    // Records removed per listing at most, so one Get-CcatJob never turns into a deletion storm.
    private const int MaxPrunePerListing = 50;

    /// <inheritdoc />
    public override async Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
    {
        var mapped = await ReadAsync(null, cancellationToken).ConfigureAwait(false);
        if (_options.RecordRetention is not { } retention)
        {
            return Newest(mapped.Values.SelectMany(s => s.Elements ?? [s.Info])); // JOB_RETENTION_DAYS off: a read deletes nothing
        }

        // JOB_RETENTION_DAYS set: records of jobs whose Job is gone are removed once older, as
        // sacct forgets purged jobs.
        var cutoff = _time.GetUtcNow() - retention;
        var expired = ExpiredWithinBudget(mapped.Values
            .Where(s => !s.JobExists && s.Info.IsFinished)
            .Where(s => (s.Info.FinishedAt ?? s.Info.SubmittedAt ?? DateTimeOffset.MaxValue) < cutoff));
        foreach (var s in expired)
        {
            var id = s.Info.JobId;
            await BestEffortAsync((c, ct) => c.CoreV1.DeleteNamespacedConfigMapAsync(KubernetesNames.LogConfigMapName(id), _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            foreach (var index in (s.Elements ?? []).Select(e => e.ArrayIndex).OfType<int>())
            {
                // An array's elements' saved logs (KubernetesBackend.ElementLogs).
                await BestEffortAsync((c, ct) => c.CoreV1.DeleteNamespacedConfigMapAsync(KubernetesNames.ElementLogConfigMapName(id, index), _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            }

            // A Secret whose owner reference could not be set at submission is left to here.
            await BestEffortAsync((c, ct) => c.CoreV1.DeleteNamespacedSecretAsync(id, _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            if (await BestEffortAsync((c, ct) => c.CoreV1.DeleteNamespacedConfigMapAsync(id, _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false))
            {
                mapped.Remove(id);
            }
        }

        return Newest(mapped.Values.SelectMany(s => s.Elements ?? [s.Info]));
    }

    // Deletes per listing at most (an array costs one per element log besides its record), beyond
    // the first expired job, which is always taken so a large array is pruned too.
    private const int MaxPruneDeletesPerListing = 500;

    private static List<KubernetesStatus> ExpiredWithinBudget(IEnumerable<KubernetesStatus> expired)
    {
        var taken = new List<KubernetesStatus>();
        var deletes = 0;
        foreach (var s in expired)
        {
            var cost = 3 + (s.Elements?.Count ?? 0);
            if (taken.Count > 0 && (taken.Count >= MaxPrunePerListing || deletes + cost > MaxPruneDeletesPerListing)) break;
            taken.Add(s);
            deletes += cost;
        }

        return taken;
    }

    private static List<HPCJobInfo> Newest(IEnumerable<HPCJobInfo> infos) =>
        infos.OrderByDescending(i => i.SubmittedAt ?? DateTimeOffset.MinValue)
            .ThenByDescending(i => i.JobId, StringComparer.Ordinal)
            .ToList();

    /// <inheritdoc />
    /// <remarks>
    /// Two list calls (Jobs and job records, no pods) and nothing else: no result is captured
    /// and no old record pruned, as <see cref="ListJobsAsync"/> does.
    /// </remarks>
    public override async Task<IReadOnlyList<HPCJobInfo>> PeekJobsAsync(int max, CancellationToken cancellationToken)
    {
        var ns = _options.Namespace;
        var jobsTask = CallAsync("listing Jobs", (c, ct) => c.BatchV1.ListNamespacedJobAsync(ns, labelSelector: KubernetesNames.ManagedBySelector, cancellationToken: ct), cancellationToken);
        var recordsTask = CallAsync("listing job records", (c, ct) => c.CoreV1.ListNamespacedConfigMapAsync(ns,
            labelSelector: $"{KubernetesNames.RecordLabel}=job,{KubernetesNames.ManagedBySelector}", cancellationToken: ct), cancellationToken);
        await Task.WhenAll(jobsTask, recordsTask).ConfigureAwait(false);
        var jobs = ById(jobsTask.Result.Items, j => j.Metadata).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var records = ById(recordsTask.Result.Items, r => r.Metadata).ToDictionary(g => g.Key, g => KubernetesJobRecord.FromConfigMap(g.First()), StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        return jobs.Keys.Union(records.Keys)
            .Select(id => KubernetesStatusMapper.Map(id, jobs.GetValueOrDefault(id), [], records.GetValueOrDefault(id), now)?.Info)
            .OfType<HPCJobInfo>()
            .OrderByDescending(i => i.SubmittedAt ?? DateTimeOffset.MinValue)
            .ThenByDescending(i => i.JobId, StringComparer.Ordinal)
            .Take(max)
            .ToList();
    }

    /// <summary>
    /// Reads the Jobs, pods and records of <paramref name="ids"/> (all managed ones when null) in
    /// three list calls, maps them, and captures the result of jobs seen finished for the first time.
    /// </summary>
    private async Task<Dictionary<string, KubernetesStatus>> ReadAsync(IReadOnlyList<string>? ids, CancellationToken cancellationToken)
    {
        // An element is read with its array: the Job, pods and record carry the array's id.
        var idSelector = ids is null ? null : $"{KubernetesNames.JobIdLabel} in ({string.Join(',', ids.Select(BaseId).Distinct(StringComparer.Ordinal))})";
        if (idSelector is { Length: > MaxInSelectorLength }) idSelector = null;
        var selector = idSelector ?? KubernetesNames.ManagedBySelector;
        var recordSelector = $"{KubernetesNames.RecordLabel}=job,{selector}";
        var ns = _options.Namespace;

        var jobsTask = CallAsync("listing Jobs", (c, ct) => c.BatchV1.ListNamespacedJobAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        var podsTask = CallAsync("listing pods", (c, ct) => c.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        var recordsTask = CallAsync("listing job records", (c, ct) => c.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: recordSelector, cancellationToken: ct), cancellationToken);
        await Task.WhenAll(jobsTask, podsTask, recordsTask).ConfigureAwait(false);

        var jobs = ById(jobsTask.Result.Items, j => j.Metadata).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var pods = ById(podsTask.Result.Items, p => p.Metadata).ToDictionary(g => g.Key, g => (IReadOnlyList<V1Pod>)g.ToList(), StringComparer.Ordinal);
        var records = ById(recordsTask.Result.Items, r => r.Metadata).ToDictionary(g => g.Key, g => KubernetesJobRecord.FromConfigMap(g.First()), StringComparer.Ordinal);
        var arrays = ArraysOf(recordsTask.Result.Items, jobs);

        var wanted = ids ?? jobs.Keys.Union(records.Keys).ToList();
        var now = _time.GetUtcNow();
        var result = new Dictionary<string, KubernetesStatus>(StringComparer.Ordinal);
        var elementCache = new Dictionary<string, IReadOnlyList<HPCJobInfo>>(StringComparer.Ordinal);
        foreach (var id in wanted)
        {
            var s = MapAny(id, jobs, pods, records, arrays, now, elementCache);
            if (s is not null) result[id] = s;
        }

        // Ended array elements' logs, saved before their pods go (KubernetesBackend.ElementLogs).
        await SaveElementLogsAsync(result.Values, arrays, pods, cancellationToken).ConfigureAwait(false);

        // One-off captures, a few at a time: a burst of finished jobs must not hammer the API server.
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(result.Values.Where(s => s.NeedsCapture).DistinctBy(s => s.ArrayId ?? s.Info.JobId, StringComparer.Ordinal).Select(async s =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await CaptureAsync(s, pods.GetValueOrDefault(s.ArrayId ?? s.Info.JobId) ?? [], cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return result;
    }

    private static IEnumerable<IGrouping<string, T>> ById<T>(IEnumerable<T> items, Func<T, V1ObjectMeta> meta) =>
        items.Where(i => meta(i).Labels?.ContainsKey(KubernetesNames.JobIdLabel) == true)
            .GroupBy(i => meta(i).Labels![KubernetesNames.JobIdLabel], StringComparer.Ordinal);

    /// <summary>
    /// Records a finished job's result (and its log) in its record, so it survives the TTL.
    /// Best effort: the status read already succeeded, and the next read tries again.
    /// </summary>
    private async Task CaptureAsync(KubernetesStatus status, IReadOnlyList<V1Pod> pods, CancellationToken cancellationToken)
    {
        if (status.ArrayId is not null)
        {
            await CaptureArrayAsync(status, cancellationToken).ConfigureAwait(false);
            return;
        }

        var id = status.Info.JobId;
        var logCaptured = false;
        var pod = NewestPod(pods);
        if (pod is not null && pod.Status?.ContainerStatuses?.Any(c => c.State?.Terminated is not null) == true)
        {
            // When the pod or its log is already gone, or the write is refused, the state is kept anyway.
            logCaptured = await SaveLogAsync(id, KubernetesNames.LogConfigMapName(id), pod.Metadata.Name, id, cancellationToken).ConfigureAwait(false);
        }

        var patch = JsonSerializer.Serialize(new { data = KubernetesJobRecord.CaptureData(status.Info, logCaptured, _time.GetUtcNow()) });
        var captured = await BestEffortAsync((c, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch(patch, V1Patch.PatchType.MergePatch), id, _options.Namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);

        if (captured && status.DeleteJob)
        {
            await BestEffortAsync((c, ct) => c.BatchV1.DeleteNamespacedJobAsync(id, _options.Namespace,
                propagationPolicy: "Background", cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }
    }

    private static string LimitLog(string text)
    {
        if (Encoding.UTF8.GetByteCount(text) <= MaxCapturedLogBytes) return text;
        var keep = text.Length;
        while (keep > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(text.Length - keep)) > MaxCapturedLogBytes - 100)
        {
            keep = keep * 7 / 8;
        }

        return "[ccat-workflow: earlier output not kept]\n" + text[^keep..];
    }

    private static CcatException NotFound(string id) =>
        new(CcatErrorId.JobNotFound, $"Kubernetes job '{id}' is not known: no Job and no record of that name in the namespace.", id);

    // ------------------------------------------------------------------ cancel

    /// <summary>
    /// Cancels many jobs with one status read for all of them (three list calls), then a record
    /// patch and a Job delete for each job that is still pending or running.
    /// </summary>
    public override async Task<IReadOnlyList<JobQueryResult>> CancelManyAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        if (await AcrossNamespacesAsync(jobIds, (b, ids, ct) => b.CancelManyAsync(ids, ct), cancellationToken).ConfigureAwait(false) is { } across) return across;
        var all = await GetStatusesAsync(jobIds, cancellationToken).ConfigureAwait(false);
        // Arrays and their elements are cancelled per array (one record patch for all of an array's elements).
        var (arrayResults, statuses) = await CancelArrayTargetsAsync(all, cancellationToken).ConfigureAwait(false);
        using var gate = new SemaphoreSlim(4);
        var results = await Task.WhenAll(statuses.Select(async s =>
        {
            if (s.Error is not null) return new JobQueryResult(s.JobId, null, s.Error);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // The shared rule: an error about this job is its result, "could not be asked" ends the call.
                return await PerJobAsync(s.JobId, async () =>
                {
                    await CancelKnownAsync(s.Info!, cancellationToken).ConfigureAwait(false);
                    return null;
                }).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return [.. results, .. arrayResults];
    }

    private async Task CancelKnownAsync(HPCJobInfo info, CancellationToken cancellationToken)
    {
        var jobId = info.JobId;
        if (info.IsFinished)
        {
            return; // nothing to cancel; the Job is left for its TTL so its result stays readable
        }

        // Note the cancel first: once the Job is gone, only the record can say it was cancelled.
        var note = new Dictionary<string, string?>
        {
            [KubernetesJobRecord.CancelRequestedAtKey] = KubernetesJobRecord.FormatTime(_time.GetUtcNow()),
            [KubernetesJobRecord.StartedAtKey] = info.StartedAt is { } s ? KubernetesJobRecord.FormatTime(s) : null,
        };
        var patch = JsonSerializer.Serialize(new { data = note });
        try
        {
            await CallAsync($"recording the cancel of {jobId}", (c, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(
                new V1Patch(patch, V1Patch.PatchType.MergePatch), jobId, _options.Namespace, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            // A Job without a record (made by another tool with our labels): delete it all the same.
        }

        try
        {
            // Background propagation: without it the API deletes only the Job and leaves the pods running.
            await CallAsync($"deleting Job {jobId}", (c, ct) => c.BatchV1.DeleteNamespacedJobAsync(jobId, _options.Namespace,
                propagationPolicy: "Background", cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            // Already gone between the read and the delete.
        }
    }

    // ------------------------------------------------------------------ logs

    /// <inheritdoc />
    public override async Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken)
    {
        if (LogTarget(jobId) is ({ } other, var name) && !ReferenceEquals(other, this)) return await other.GetLogsAsync(name, query, cancellationToken).ConfigureAwait(false);
        RequireValid(jobId);
        RequireMergedStream(jobId, query);
        if (ArrayElementId.TryParse(jobId, out var arrayId, out var index))
        {
            return await ElementLogAsync(jobId, arrayId, index, query.Tail, cancellationToken).ConfigureAwait(false);
        }

        var pods = await ListPodsAsync(jobId, cancellationToken).ConfigureAwait(false);
        RefuseWholeArray(jobId, pods);
        if (NewestPod(pods) is { } pod)
        {
            try
            {
                return await ReadPodLogAsync(pod.Metadata.Name, query.Tail, cancellationToken).ConfigureAwait(false);
            }
            catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesInvalid)
            {
                return ""; // 400: the container has not started, so there is no log yet
            }
            catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
            {
                // The pod went between the list and the read: fall back to the captured copy.
            }
        }

        return await CapturedLogAsync(jobId, query.Tail, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams the pod's log with <c>follow=true</c> until the container ends, falling back to
    /// the captured copy when the pod is already gone.
    /// </summary>
    public override async IAsyncEnumerable<string> FollowLogsAsync(string jobId, LogQuery query,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (LogTarget(jobId) is ({ } other, var name) && !ReferenceEquals(other, this))
        {
            await foreach (var line in other.FollowLogsAsync(name, query, cancellationToken).ConfigureAwait(false)) yield return line;
            yield break;
        }

        RequireValid(jobId);
        RequireMergedStream(jobId, query);
        if (ArrayElementId.ArrayOf(jobId) is not null)
        {
            // An element's pod is found by its index label; the shared polling follower reads it.
            await foreach (var chunk in base.FollowLogsAsync(jobId, query, cancellationToken).ConfigureAwait(false)) yield return chunk;
            yield break;
        }

        var poll = TimeSpan.FromMilliseconds(500);
        // While no container runs (pending, pulling, unschedulable) the pod is looked at with a
        // growing pause and the job's status (three list calls) asked at most every few seconds,
        // so a follower of a stuck job does not hammer the API server.
        var pendingPoll = poll;
        var statusEvery = TimeSpan.FromSeconds(5);
        var lastStatus = DateTimeOffset.MinValue;
        string? streamedPod = null;
        long sent = 0;       // characters of streamedPod's log already passed on
        var connections = 0; // follow requests made for streamedPod
        while (true)
        {
            var pod = NewestPod(await ListPodsAsync(jobId, cancellationToken).ConfigureAwait(false));
            var started = pod?.Status?.ContainerStatuses?.Any(c => c.State?.Running is not null || c.State?.Terminated is not null) == true;
            if (pod is null || !started)
            {
                var now = _time.GetUtcNow();
                var info = pod is null || now - lastStatus >= statusEvery
                    ? await GetStatusAsync(jobId, cancellationToken).ConfigureAwait(false)
                    : null;
                if (info is not null) lastStatus = now;
                if (info?.IsFinished == true)
                {
                    if (pod is null && streamedPod is null)
                    {
                        var captured = await CapturedLogAsync(jobId, query.Tail, cancellationToken).ConfigureAwait(false);
                        if (captured.Length > 0) yield return captured;
                    }

                    yield break;
                }

                await Task.Delay(pendingPoll, _time, cancellationToken).ConfigureAwait(false);
                pendingPoll = TimeSpan.FromMilliseconds(Math.Min(pendingPoll.TotalMilliseconds * 1.5, statusEvery.TotalMilliseconds));
                continue;
            }

            pendingPoll = poll;

            if (pod.Metadata.Name != streamedPod)
            {
                streamedPod = pod.Metadata.Name;
                sent = 0;
                connections = 0;
            }

            // First request: the caller's tail (server side). A reconnect after a dropped stream
            // resumes by skipping what was sent; after a server-side tail the absolute position is
            // unknown, so it asks only for new lines (tailLines=0).
            int? tail;
            long skip;
            if (connections++ == 0) (tail, skip) = (query.Tail, 0);
            else if (query.Tail is null) (tail, skip) = (null, sent);
            else (tail, skip) = (0, 0);

            var channel = System.Threading.Channels.Channel.CreateUnbounded<string>();
            var pump = PumpAsync(pod.Metadata.Name, tail, skip, channel.Writer, cancellationToken);
            await foreach (var chunk in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                sent += chunk.Length;
                yield return chunk;
            }

            var ended = await pump.ConfigureAwait(false);
            if (ended is not null && ended.ErrorId is not (CcatErrorId.KubernetesInvalid or CcatErrorId.KubernetesNotFound))
            {
                throw ended;
            }

            var after = await GetStatusAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (after.IsFinished) yield break;
            await Task.Delay(poll, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Copies one follow stream into <paramref name="writer"/>; returns the error that ended it, if any.</summary>
    private async Task<CcatException?> PumpAsync(string podName, int? tail, long skip, System.Threading.Channels.ChannelWriter<string> writer, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await CallAsync($"following the log of pod {podName}", (c, ct) => c.CoreV1.ReadNamespacedPodLogAsync(
                podName, _options.Namespace, container: KubernetesNames.ContainerName, follow: true, tailLines: tail, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var buffer = new char[8192];
                int n;
                while ((n = await reader.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    var start = 0;
                    if (skip > 0)
                    {
                        start = (int)Math.Min(skip, n);
                        skip -= start;
                    }

                    if (start < n) await writer.WriteAsync(new string(buffer, start, n - start), cancellationToken).ConfigureAwait(false);
                }
            }

            return null;
        }
        catch (CcatException e)
        {
            return e;
        }
        catch (IOException e)
        {
            // The connection dropped mid-stream: the caller re-checks the job and reconnects.
            return new CcatException(CcatErrorId.KubernetesInvalid, e.Message, null, e);
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private async Task<string> CapturedLogAsync(string jobId, int? tail, CancellationToken cancellationToken)
    {
        try
        {
            var cm = await CallAsync($"reading the saved log of {jobId}", (c, ct) => c.CoreV1.ReadNamespacedConfigMapAsync(
                KubernetesNames.LogConfigMapName(jobId), _options.Namespace, cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false);
            var text = cm.Data is { } d && d.TryGetValue("log", out var l) ? l : "";
            return tail is { } t ? LogText.TailLines(text, t) : text;
        }
        catch (CcatException e) when (e.ErrorId == CcatErrorId.KubernetesNotFound)
        {
            // No saved log: an unknown job is an error, a known one simply has no log (yet).
            var status = (await GetStatusesAsync([jobId], cancellationToken).ConfigureAwait(false)).Single();
            if (status.Error is not null) throw status.Error;
            return "";
        }
    }

    private async Task<string> ReadPodLogAsync(string podName, int? tail, CancellationToken cancellationToken)
    {
        var stream = await CallAsync($"reading the log of pod {podName}", (c, ct) => c.CoreV1.ReadNamespacedPodLogAsync(
            podName, _options.Namespace, container: KubernetesNames.ContainerName, tailLines: tail, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<V1Pod>> ListPodsAsync(string jobId, CancellationToken cancellationToken) =>
        (await CallAsync($"listing the pods of {jobId}", (c, ct) => c.CoreV1.ListNamespacedPodAsync(_options.Namespace,
            labelSelector: $"{KubernetesNames.JobIdLabel}={jobId}", cancellationToken: ct), cancellationToken, jobId).ConfigureAwait(false)).Items.ToList();

    private static V1Pod? NewestPod(IEnumerable<V1Pod> pods) => pods
        .OrderByDescending(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue)
        .ThenByDescending(p => p.Metadata.Name, StringComparer.Ordinal)
        .FirstOrDefault();

    private static void RequireMergedStream(string jobId, LogQuery query)
    {
        if (query.Stream != LogStream.All)
        {
            // Handing back the merged log as "stdout only" would be a quiet lie.
            throw new CcatException(CcatErrorId.LogUnavailable,
                $"Kubernetes keeps a container's stdout and stderr in one log; {(query.Stream == LogStream.Error ? "stderr" : "stdout")} alone cannot be read. Ask for the whole log (-Stream All).", jobId);
        }
    }

    private static void RequireValid(string jobId)
    {
        if (!IsValidId(jobId))
        {
            throw new CcatException(CcatErrorId.InvalidJobId,
                $"'{jobId}' is not a Kubernetes job id (a Job name: lowercase letters, digits and '-', at most 63).", jobId);
        }
    }

    // ------------------------------------------------------------------ client

    /// <summary>
    /// The module's client, made on first use and kept; re-made only when the kubeconfig the
    /// settings and KUBECONFIG point at changes (old clients are disposed with the backend).
    /// </summary>
    private (IKubernetes Client, string Server) GetClient(IKubernetes? stale = null)
    {
        var source = KubernetesClientFactory.DescribeSource(_options, _getEnvironment);
        lock (_clientGate)
        {
            if (_client is { } current && current.Source == source && !ReferenceEquals(current.Client, stale))
            {
                return (current.Client, current.Server);
            }
        }

        var resolved = KubernetesClientFactory.Resolve(_options, _getEnvironment);
        var client = KubernetesClientFactory.CreateClient(resolved.Configuration);
        lock (_clientGate)
        {
            if (_client is { } raced && raced.Source == source && !ReferenceEquals(raced.Client, stale))
            {
                client.Dispose();
                return (raced.Client, raced.Server);
            }

            if (_client is { } old)
            {
                // A replaced client may still serve a request in flight, so it is disposed two
                // replacements later (repeated 401s must not pile up clients either).
                _retiredClients.Add(old.Client);
                while (_retiredClients.Count > 2)
                {
                    _retiredClients[0].Dispose();
                    _retiredClients.RemoveAt(0);
                }
            }
            _client = (source, client, resolved.Configuration.Host);
            ClientsCreated++;
            return (client, resolved.Configuration.Host);
        }
    }

    /// <summary>How many API clients this backend has made (tests: one for the module's lifetime).</summary>
    internal int ClientsCreated { get; private set; }

    private async Task<T> CallAsync<T>(string operation, Func<IKubernetes, CancellationToken, Task<T>> call, CancellationToken cancellationToken, string? jobId = null)
    {
        var (client, server) = GetClient();
        try
        {
            try
            {
                return await call(client, cancellationToken).ConfigureAwait(false);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.Unauthorized)
            {
                // Tokens expire and get rotated in the kubeconfig: read it again and try once more.
                // A 401 means the server did nothing, so repeating even a create is safe.
                (client, server) = GetClient(stale: client);
                return await call(client, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && KubernetesErrorMapper.TryMap(e, operation, server, jobId) is { } mapped && !ReferenceEquals(mapped, e))
        {
            throw mapped;
        }
    }

    private async Task<bool> BestEffortAsync<T>(Func<IKubernetes, CancellationToken, Task<T>> call, CancellationToken cancellationToken = default)
    {
        try
        {
            await CallAsync("cleaning up", call, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (CcatException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        lock (_clientGate)
        {
            _client?.Client.Dispose();
            _client = null;
            foreach (var c in _retiredClients) c.Dispose();
            _retiredClients.Clear();
        }

        return base.DisposeAsync();
    }
}
