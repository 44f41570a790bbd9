using k8s;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>The outcome of a DELETE: the body to send and an optional Warning header.</summary>
/// <param name="Json">The response body.</param>
/// <param name="Warning">A Warning header value, if the real server sends one.</param>
public sealed record DeleteResult(string Json, string? Warning);

public sealed partial class Cluster
{
    /// <summary>What the Job controller keeps about a Job beside its API object.</summary>
    private sealed class JobRuntime
    {
        public DateTime StartedAt { get; set; } = DateTime.UtcNow;
        public DateTime? FinishedAt { get; set; }
        public DateTime? RetryAt { get; set; }
        public bool Started { get; set; }
        public HashSet<string> CountedPods { get; } = new(StringComparer.Ordinal);

        /// <summary>Indexed Jobs: the indexes that succeeded.</summary>
        public SortedSet<int> CompletedIndexes { get; } = [];

        /// <summary>Indexed Jobs with backoffLimitPerIndex: the indexes that failed for good.</summary>
        public SortedSet<int> FailedIndexes { get; } = [];

        /// <summary>Indexed Jobs with backoffLimitPerIndex: failures counted per index.</summary>
        public Dictionary<int, int> IndexFailures { get; } = [];
    }

    private readonly Dictionary<(string Ns, string Name), JobRuntime> _jobRuntimes = new();

    private const string OrphanWarning =
        "299 - \"child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning\"";

    /// <summary>Call under the gate, after a Job was stored.</summary>
    private void OnJobCreated(V1Job job)
    {
        var key = (job.Metadata.NamespaceProperty, job.Metadata.Name);
        var jr = new JobRuntime();
        _jobRuntimes[key] = jr;
        if (job.Spec.Suspend == true)
        {
            return;
        }

        jr.Started = true;

        // The pod appears right after the Job, as the controller would do it.
        var ns = key.NamespaceProperty;
        var name = key.Name;
        _ = Task.Run(() => StartPods(ns, name));
    }

    // The pods the controller creates now: one for a NonIndexed Job, and for an Indexed Job one
    // per index that has neither succeeded, failed for good nor a live pod, up to parallelism.
    private void StartPods(string ns, string jobName)
    {
        List<int?> indexes;
        lock (Gate)
        {
            if (!_store[ResourceKind.Jobs].TryGetValue((ns, jobName), out var obj) || obj is not V1Job job || IsFinished(job)) return;
            indexes = IsIndexed(job) ? MissingIndexesLocked(job) : [null];
        }

        foreach (var index in indexes) CreatePodForJob(ns, jobName, index);
    }

    private void CreatePodForJob(string ns, string jobName, int? index)
    {
        V1Pod pod;
        lock (Gate)
        {
            if (!_store[ResourceKind.Jobs].TryGetValue((ns, jobName), out var obj) || obj is not V1Job job || IsFinished(job)) return;
            if (index is { } i && (IndexHasLivePodLocked(job, i) || LivePodsLocked(job) >= (job.Spec.Parallelism ?? 1))) return;
            var template = Clone(job.Spec.Template);
            var now = Now();
            pod = new V1Pod
            {
                ApiVersion = "v1",
                Kind = "Pod",
                Metadata = new V1ObjectMeta
                {
                    Name = index is { } ix ? $"{jobName}-{ix}-{RandomSuffix()}" : $"{jobName}-{RandomSuffix()}",
                    GenerateName = jobName + "-",
                    NamespaceProperty = ns,
                    Uid = Guid.NewGuid().ToString(),
                    CreationTimestamp = now,
                    Labels = template.Metadata?.Labels ?? new Dictionary<string, string>(),
                    Annotations = template.Metadata?.Annotations,
                    Finalizers = ["batch.kubernetes.io/job-tracking"],
                    OwnerReferences =
                    [
                        new V1OwnerReference { ApiVersion = "batch/v1", Kind = "Job", Name = jobName, Uid = job.Metadata.Uid, Controller = true, BlockOwnerDeletion = true },
                    ],
                },
                Spec = template.Spec,
            };
            if (index is { } k) MarkIndexLocked(pod, jobName, k);
            Defaults.ApplyToPod(pod);
            pod.Spec.NodeName = NodeName;
            pod.Status = NewPodStatus(pod);
            pod.Metadata.ResourceVersion = NextResourceVersion();
            _store[ResourceKind.Pods][(ns, pod.Metadata.Name)] = pod;
            Publish(ResourceKind.Pods, "ADDED", pod);

            job.Status.StartTime ??= now;
            job.Status.Active = (job.Status.Active ?? 0) + 1;
            job.Status.Ready = 0;
            job.Status.Terminating = 0;
            job.Status.UncountedTerminatedPods ??= new V1UncountedTerminatedPods();
            TouchJob(job);
            if (_jobRuntimes.TryGetValue((ns, jobName), out var jr)) jr.RetryAt = null;
        }

        if (ModeOf(ns) == PodMode.Run) StartContainer(ns, pod.Metadata.Name);
    }

    private void TouchJob(V1Job job)
    {
        job.Metadata.ResourceVersion = NextResourceVersion();
        Publish(ResourceKind.Jobs, "MODIFIED", job);
    }

    private static bool IsFinished(V1Job job) =>
        job.Status?.Conditions?.Any(c => c.Status == "True" && c.Type is "Complete" or "Failed") == true;

    /// <summary>Call under the gate when a pod reached Succeeded or Failed (or was deleted before it ran).</summary>
    private void OnPodFinished(V1Pod pod, bool deletedWhilePending = false)
    {
        var owner = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == "Job");
        if (owner is null) return;
        var key = (pod.Metadata.NamespaceProperty, owner.Name);
        if (!_store[ResourceKind.Jobs].TryGetValue(key, out var obj) || obj is not V1Job job || job.Metadata.Uid != owner.Uid) return;
        if (!_jobRuntimes.TryGetValue(key, out var jr) || !jr.CountedPods.Add(pod.Metadata.Uid)) return;

        var now = Now();
        job.Status.Active = Math.Max(0, (job.Status.Active ?? 1) - 1);
        job.Status.Ready = 0;
        if (IsFinished(job))
        {
            TouchJob(job);
            return;
        }

        var succeeded = pod.Status?.Phase == "Succeeded" && !deletedWhilePending;
        if (IsIndexed(job))
        {
            OnIndexedPodFinishedLocked(job, jr, pod, succeeded);
            TouchJob(job);
            return;
        }

        if (succeeded)
        {
            job.Status.Succeeded = (job.Status.Succeeded ?? 0) + 1;
            if (job.Status.Succeeded >= (job.Spec.Completions ?? 1))
            {
                job.Status.CompletionTime = now;
                job.Status.Conditions =
                [
                    new V1JobCondition { Type = "SuccessCriteriaMet", Status = "True", Reason = "CompletionsReached", Message = "Reached expected number of succeeded pods", LastProbeTime = now, LastTransitionTime = now },
                    new V1JobCondition { Type = "Complete", Status = "True", Reason = "CompletionsReached", Message = "Reached expected number of succeeded pods", LastProbeTime = now, LastTransitionTime = now },
                ];
                jr.FinishedAt = DateTime.UtcNow;
            }
            else
            {
                jr.RetryAt = DateTime.UtcNow; // more completions wanted
            }
        }
        else
        {
            job.Status.Failed = (job.Status.Failed ?? 0) + 1;
            if (job.Status.Failed > job.Spec.BackoffLimit)
            {
                FailJobLocked(job, jr, "BackoffLimitExceeded", "Job has reached the specified backoff limit");
            }
            else
            {
                jr.RetryAt = DateTime.UtcNow + Options.RetryDelay;
            }
        }

        TouchJob(job);
    }

    private static void FailJobLocked(V1Job job, JobRuntime jr, string reason, string message)
    {
        var now = Now();
        job.Status.Conditions =
        [
            new V1JobCondition { Type = "FailureTarget", Status = "True", Reason = reason, Message = message, LastProbeTime = now, LastTransitionTime = now },
            new V1JobCondition { Type = "Failed", Status = "True", Reason = reason, Message = message, LastProbeTime = now, LastTransitionTime = now },
        ];
        jr.FinishedAt = DateTime.UtcNow;
        jr.RetryAt = null;
    }

    // ------------------------------------------------------------------ controller loop: deadlines, retries, TTL, back-off

    private async Task ControllerLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            await Task.Delay(100, token).ConfigureAwait(false);
            try
            {
                Tick();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Console.Error.WriteLine($"kube-api-double controller: {e}");
            }
        }
    }

    private void Tick()
    {
        var now = DateTime.UtcNow;
        var toStart = new List<(string Ns, string Name)>();
        var deadlinePods = new List<(string Ns, string Name)>();
        var expired = new List<(string Ns, string Name)>();
        lock (Gate)
        {
            foreach (var (key, jr) in _jobRuntimes.ToList())
            {
                if (!_store[ResourceKind.Jobs].TryGetValue(key, out var obj) || obj is not V1Job job)
                {
                    _jobRuntimes.Remove(key);
                    continue;
                }

                if (IsFinished(job))
                {
                    if (job.Spec.TtlSecondsAfterFinished is { } ttl && jr.FinishedAt is { } f && now >= f.AddSeconds(ttl)) expired.Add(key);
                    continue;
                }

                if (job.Spec.Suspend == true) continue;
                if (!jr.Started)
                {
                    // A suspended Job was resumed: its first pod now, its deadline counted from now.
                    jr.Started = true;
                    jr.StartedAt = now;
                    jr.RetryAt = now;
                }

                if (job.Spec.ActiveDeadlineSeconds is { } ads && now >= jr.StartedAt.AddSeconds(ads))
                {
                    // The real controller fails the Job and deletes its active pods.
                    FailJobLocked(job, jr, "DeadlineExceeded", "Job was active longer than specified deadline");
                    foreach (var p in OwnedPods(job).Where(p => !IsTerminal(p)))
                    {
                        jr.CountedPods.Add(p.Metadata.Uid);
                        job.Status.Failed = (job.Status.Failed ?? 0) + 1;
                        deadlinePods.Add((key.Ns, p.Metadata.Name));
                    }

                    job.Status.Active = 0;
                    TouchJob(job);
                    continue;
                }

                if (jr.RetryAt is { } r && now >= r)
                {
                    jr.RetryAt = null;
                    toStart.Add(key);
                }
            }

            foreach (var rt in _runtimes.Values)
            {
                if (rt.PullFailedAt is { } pf && now >= pf + Options.ImagePullBackOffDelay
                    && rt.Pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "ErrImagePull")
                {
                    rt.PullFailedAt = null;
                    var image = rt.Pod.Spec.Containers[0].Image;
                    foreach (var c in rt.Pod.Status.ContainerStatuses)
                    {
                        c.State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ImagePullBackOff", Message = $"Back-off pulling image \"{image}\"" } };
                    }

                    Touch(rt.Pod);
                }
            }
        }

        foreach (var (ns, name) in deadlinePods)
        {
            TryDeletePod(ns, name);
        }

        foreach (var (ns, name) in toStart) StartPods(ns, name);
        foreach (var (ns, name) in expired)
        {
            try
            {
                DeleteJob(ns, name, "Foreground"); // the TTL controller deletes with Foreground propagation
            }
            catch (ApiError)
            {
            }
        }
    }

    private void TryDeletePod(string ns, string name)
    {
        try
        {
            DeletePod(ns, name);
        }
        catch (ApiError)
        {
        }
    }

    // The garbage collector for the other kinds that name a Job as owner (a Secret or ConfigMap
    // a client tied to its Job's lifetime): deleted with the Job unless it is orphaned.
    private List<(ResourceKind Kind, string Name)> DependentsLocked(V1Job job) =>
        new[] { ResourceKind.Secrets, ResourceKind.ConfigMaps }
            .SelectMany(k => _store[k].Values
                .Where(o => o.Metadata.NamespaceProperty == job.Metadata.NamespaceProperty
                            && o.Metadata.OwnerReferences?.Any(r => r.Uid == job.Metadata.Uid) == true)
                .Select(o => (k, o.Metadata.Name)))
            .ToList();

    private void CollectDependents(V1Job job)
    {
        List<(ResourceKind Kind, string Name)> dependents;
        lock (Gate) dependents = DependentsLocked(job);
        foreach (var (kind, name) in dependents)
        {
            try
            {
                Delete(kind, job.Metadata.NamespaceProperty, name, null);
            }
            catch (ApiError)
            {
                // deleted meanwhile
            }
        }
    }

    // Orphan propagation: the dependents stay and lose their reference to the deleted owner.
    private void OrphanDependentsLocked(V1Job job)
    {
        foreach (var (kind, name) in DependentsLocked(job))
        {
            var o = _store[kind][(job.Metadata.NamespaceProperty, name)];
            o.Metadata.OwnerReferences = o.Metadata.OwnerReferences!.Where(r => r.Uid != job.Metadata.Uid).ToList();
            if (o.Metadata.OwnerReferences.Count == 0) o.Metadata.OwnerReferences = null;
            o.Metadata.ResourceVersion = NextResourceVersion();
            Publish(kind, "MODIFIED", o);
        }
    }

    private List<V1Pod> OwnedPods(V1Job job) =>
        _store[ResourceKind.Pods].Values.OfType<V1Pod>()
            .Where(p => p.Metadata.NamespaceProperty == job.Metadata.NamespaceProperty
                        && p.Metadata.OwnerReferences?.Any(o => o.Uid == job.Metadata.Uid) == true)
            .ToList();

    // ------------------------------------------------------------------ delete

    /// <summary>
    /// DELETE of one object. For Jobs the propagation policy decides what happens to the pods:
    /// none given = Orphan (the batch/v1 default, with the real server's Warning header),
    /// Background = Job gone now, pods collected right after, Foreground = pods first.
    /// </summary>
    public DeleteResult Delete(ResourceKind kind, string ns, string name, string? propagationPolicy)
    {
        if (propagationPolicy is not (null or "" or "Orphan" or "Background" or "Foreground"))
        {
            throw ApiError.Invalid(kind, name, [new Cause("FieldValueNotSupported", "propagationPolicy", $"Unsupported value: \"{propagationPolicy}\": supported values: \"Foreground\", \"Background\", \"Orphan\"")]);
        }

        if (kind == ResourceKind.Pods) return new DeleteResult(DeletePod(ns, name), null);
        if (kind == ResourceKind.Jobs) return DeleteJob(ns, name, string.IsNullOrEmpty(propagationPolicy) ? null : propagationPolicy);
        lock (Gate)
        {
            if (!_store[kind].Remove((ns, name), out var obj)) throw ApiError.NotFound(kind, name);
            obj.Metadata.ResourceVersion = NextResourceVersion();
            Publish(kind, "DELETED", obj);
            return new DeleteResult(StatusJson.Success(name, kind.Group.Length == 0 ? null : kind.Group, kind.Plural, obj.Metadata.Uid), null);
        }
    }

    private DeleteResult DeleteJob(string ns, string name, string? policy)
    {
        List<V1Pod> owned;
        V1Job job;
        lock (Gate)
        {
            if (!_store[ResourceKind.Jobs].TryGetValue((ns, name), out var obj)) throw ApiError.NotFound(ResourceKind.Jobs, name);
            job = (V1Job)obj;
            owned = OwnedPods(job);
            if (policy != "Foreground")
            {
                _store[ResourceKind.Jobs].Remove((ns, name));
                _jobRuntimes.Remove((ns, name));
                job.Metadata.ResourceVersion = NextResourceVersion();
                Publish(ResourceKind.Jobs, "DELETED", job);
                if (policy is null or "Orphan")
                {
                    foreach (var p in owned)
                    {
                        p.Metadata.OwnerReferences = null;
                        Touch(p);
                    }

                    OrphanDependentsLocked(job);

                    return new DeleteResult(StatusJson.Success(name, "batch", "jobs", job.Metadata.Uid), policy is null ? OrphanWarning : null);
                }
            }
            else
            {
                job.Metadata.DeletionTimestamp = Now();
                job.Metadata.DeletionGracePeriodSeconds = 0;
                job.Metadata.Finalizers = ["foregroundDeletion"];
                TouchJob(job);
            }
        }

        if (policy == "Background")
        {
            _ = Task.Run(async () =>
            {
                await Task.Delay(Options.GarbageCollectionDelay).ConfigureAwait(false);
                foreach (var p in owned) TryDeletePod(ns, p.Metadata.Name);
                CollectDependents(job);
            });
            return new DeleteResult(StatusJson.Success(name, "batch", "jobs", job.Metadata.Uid), null);
        }

        // Foreground: the dependants go first, then the owner.
        foreach (var p in owned) TryDeletePod(ns, p.Metadata.Name);
        CollectDependents(job);
        lock (Gate)
        {
            var json = KubernetesJson.Serialize(job);
            if (_store[ResourceKind.Jobs].Remove((ns, name)))
            {
                _jobRuntimes.Remove((ns, name));
                job.Metadata.Finalizers = null;
                job.Metadata.ResourceVersion = NextResourceVersion();
                Publish(ResourceKind.Jobs, "DELETED", job);
            }

            return new DeleteResult(json, null);
        }
    }

    /// <summary>DELETE on a collection: deletes every matching object with the given policy.</summary>
    public string DeleteCollection(ResourceKind kind, string ns, LabelSelector labels, FieldSelector fields, string? propagationPolicy)
    {
        List<string> names;
        lock (Gate)
        {
            names = _store[kind].Where(kv => kv.Key.Ns == ns && labels.Matches(kv.Value.Metadata.Labels) && fields.Matches(kv.Value))
                .Select(kv => kv.Key.Name).ToList();
        }

        var deleted = new List<IKubernetesObject<V1ObjectMeta>>();
        foreach (var n in names)
        {
            try
            {
                var before = kind == ResourceKind.Pods ? Find<V1Pod>(kind, ns, n) : kind == ResourceKind.Jobs ? (IKubernetesObject<V1ObjectMeta>?)Find<V1Job>(kind, ns, n) : Find<V1ConfigMap>(kind, ns, n);
                Delete(kind, ns, n, propagationPolicy);
                if (before is not null) deleted.Add(before);
            }
            catch (ApiError)
            {
            }
        }

        return KubernetesJson.Serialize(kind.MakeList(deleted, ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
