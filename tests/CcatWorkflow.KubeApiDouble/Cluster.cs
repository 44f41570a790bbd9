using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>One watch event, serialised once when it happens.</summary>
/// <param name="ResourceVersion">The object's resourceVersion after the change.</param>
/// <param name="Kind">The resource.</param>
/// <param name="Type">ADDED, MODIFIED or DELETED.</param>
/// <param name="Namespace">The object's namespace.</param>
/// <param name="Snapshot">A copy of the object (for selector matching).</param>
/// <param name="Json">The event line.</param>
public sealed record WatchEvent(long ResourceVersion, ResourceKind Kind, string Type, string Namespace, IKubernetesObject<V1ObjectMeta> Snapshot, string Json);

/// <summary>
/// The double's state: Jobs, pods and ConfigMaps by namespace, the resourceVersion counter,
/// the watch history, the Job controller and the "kubelet". Every change happens under
/// <see cref="Gate"/>; every reader gets a serialised snapshot taken under it.
/// </summary>
public sealed partial class Cluster : IAsyncDisposable
{
    private const int HistoryLimit = 20000;

    private readonly Dictionary<ResourceKind, Dictionary<(string Ns, string Name), IKubernetesObject<V1ObjectMeta>>> _store =
        ResourceKind.All.ToDictionary(k => k, _ => new Dictionary<(string, string), IKubernetesObject<V1ObjectMeta>>());

    private readonly List<WatchEvent> _history = [];
    private readonly List<Channel<WatchEvent>> _watchers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _controllerLoop;
    private long _resourceVersion = 1000;

    /// <summary>Creates the state and starts the controllers.</summary>
    public Cluster(KubeApiDoubleOptions options)
    {
        Options = options;
        _controllerLoop = Task.Run(ControllerLoopAsync);
    }

    /// <summary>The lock every change takes.</summary>
    internal object Gate { get; } = new();

    /// <summary>The options.</summary>
    public KubeApiDoubleOptions Options { get; }

    /// <summary>Watches open now (tests wait for theirs before acting).</summary>
    public int WatcherCount
    {
        get
        {
            lock (Gate) return _watchers.Count;
        }
    }

    /// <summary>The current resourceVersion.</summary>
    public long ResourceVersion => Interlocked.Read(ref _resourceVersion);

    /// <summary>Now, as the API reports it: whole seconds (metav1.Time).</summary>
    internal static DateTime Now()
    {
        var n = DateTime.UtcNow;
        return new DateTime(n.Ticks - (n.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
    }

    private string NextResourceVersion() => Interlocked.Increment(ref _resourceVersion).ToString(CultureInfo.InvariantCulture);

    /// <summary>A deep copy through JSON.</summary>
    internal static T Clone<T>(T obj) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(obj));

    private static IKubernetesObject<V1ObjectMeta> CloneObject(ResourceKind kind, IKubernetesObject<V1ObjectMeta> obj) =>
        kind.Deserialize(KubernetesJson.Serialize(obj));

    /// <summary>The mode pods of <paramref name="ns"/> run in.</summary>
    public PodMode ModeOf(string ns) => Options.ManualNamespaces.Contains(ns) ? PodMode.Manual : Options.Mode;

    // ------------------------------------------------------------------ generic CRUD

    /// <summary>Creates an object (POST). Returns the stored object's JSON.</summary>
    public string Create(ResourceKind kind, string ns, string body)
    {
        IKubernetesObject<V1ObjectMeta> obj;
        try
        {
            obj = kind.Deserialize(body);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            throw ApiError.BadRequest($"error decoding body: {e.Message}");
        }

        if (obj is null) throw ApiError.BadRequest("empty body");
        obj.Metadata ??= new V1ObjectMeta();
        if (obj.Metadata.NamespaceProperty is { } bodyNs && bodyNs != ns)
        {
            throw ApiError.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        if (!Options.Namespaces.Contains(ns)) throw ApiError.NamespaceNotFound(ns);
        if (obj.Metadata.Name is null or "" && obj.Metadata.GenerateName is { Length: > 0 } gen)
        {
            obj.Metadata.Name = gen + RandomSuffix();
        }

        var name = obj.Metadata.Name ?? "";
        var uid = Guid.NewGuid().ToString();
        if (kind == ResourceKind.Jobs && obj is V1Job job && job.Spec?.Template?.Spec is not null && !string.IsNullOrEmpty(name))
        {
            job.Spec.Template.Spec.Containers ??= [];
            Defaults.ApplyToJob(job, uid);
        }
        else if (kind == ResourceKind.Pods && obj is V1Pod p && p.Spec is not null)
        {
            Defaults.ApplyToPod(p);
        }

        if (obj is V1Secret secret) Defaults.ApplyToSecret(secret);
        var errors = obj switch
        {
            V1Job j => Validation.ValidateJob(j),
            V1Pod p2 => Validation.ValidatePod(p2),
            V1ConfigMap cm => Validation.ValidateConfigMap(cm),
            V1Secret sec => Validation.ValidateSecret(sec),
            _ => [],
        };
        if (errors.Count > 0) throw ApiError.Invalid(kind, name, errors);

        string json;
        lock (Gate)
        {
            var items = _store[kind];
            if (items.ContainsKey((ns, name))) throw ApiError.AlreadyExists(kind, name);
            obj.ApiVersion = kind.ApiVersion;
            obj.Kind = kind.Kind;
            obj.Metadata.NamespaceProperty = ns;
            obj.Metadata.Uid = uid;
            obj.Metadata.CreationTimestamp = Now();
            obj.Metadata.ResourceVersion = NextResourceVersion();
            obj.Metadata.Generation = kind == ResourceKind.ConfigMaps || kind == ResourceKind.Secrets ? null : 1;
            obj.Metadata.DeletionTimestamp = null;
            items[(ns, name)] = obj;
            if (obj is V1Pod pod)
            {
                pod.Status = NewPodStatus(pod);
                pod.Spec.NodeName = NodeName;
            }

            Publish(kind, "ADDED", obj);
            json = KubernetesJson.Serialize(obj);
            if (obj is V1Job created) OnJobCreated(created);
        }

        if (obj is V1Pod startedPod && ModeOf(ns) == PodMode.Run) StartContainer(ns, startedPod.Metadata.Name);
        return json;
    }

    /// <summary>Reads one object (GET).</summary>
    public string Get(ResourceKind kind, string ns, string name)
    {
        lock (Gate)
        {
            return _store[kind].TryGetValue((ns, name), out var obj) ? KubernetesJson.Serialize(obj) : throw ApiError.NotFound(kind, name);
        }
    }

    /// <summary>Lists objects (GET on the collection) matching the selectors.</summary>
    public string List(ResourceKind kind, string ns, LabelSelector labels, FieldSelector fields)
    {
        lock (Gate)
        {
            var items = _store[kind].Where(kv => kv.Key.Ns == ns && labels.Matches(kv.Value.Metadata.Labels) && fields.Matches(kv.Value))
                .OrderBy(kv => kv.Key.Name, StringComparer.Ordinal).Select(kv => kv.Value);
            return KubernetesJson.Serialize(kind.MakeList(items, ResourceVersion.ToString(CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>A copy of one object, or null (control API and tests).</summary>
    public T? Find<T>(ResourceKind kind, string ns, string name) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        lock (Gate)
        {
            return _store[kind].TryGetValue((ns, name), out var obj) ? (T)CloneObject(kind, obj) : null;
        }
    }

    /// <summary>Copies of the objects of a kind in a namespace.</summary>
    public List<T> All<T>(ResourceKind kind, string ns) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        lock (Gate)
        {
            return _store[kind].Where(kv => kv.Key.Ns == ns).Select(kv => (T)CloneObject(kind, kv.Value)).ToList();
        }
    }

    /// <summary>Applies a PATCH. Status is a subresource: a patch cannot change it.</summary>
    public string Patch(ResourceKind kind, string ns, string name, string body, string? contentType)
    {
        lock (Gate)
        {
            if (!_store[kind].TryGetValue((ns, name), out var current)) throw ApiError.NotFound(kind, name);
            var node = JsonNode.Parse(KubernetesJson.Serialize(current))!;
            var patched = JsonPatching.Apply(node, body, contentType);
            IKubernetesObject<V1ObjectMeta> updated;
            try
            {
                updated = kind.Deserialize(patched.ToJsonString());
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
            {
                throw ApiError.BadRequest($"the patched object could not be decoded: {e.Message}");
            }

            return Update(kind, ns, name, current, updated, checkResourceVersion: false);
        }
    }

    /// <summary>Replaces an object (PUT); a stale resourceVersion is a 409 Conflict.</summary>
    public string Replace(ResourceKind kind, string ns, string name, string body)
    {
        var updated = kind.Deserialize(body);
        lock (Gate)
        {
            if (!_store[kind].TryGetValue((ns, name), out var current)) throw ApiError.NotFound(kind, name);
            return Update(kind, ns, name, current, updated, checkResourceVersion: true);
        }
    }

    private string Update(ResourceKind kind, string ns, string name, IKubernetesObject<V1ObjectMeta> current, IKubernetesObject<V1ObjectMeta> updated, bool checkResourceVersion)
    {
        updated.Metadata ??= new V1ObjectMeta();
        if (updated.Metadata.Name is { } n && n != name)
        {
            throw ApiError.BadRequest($"the name of the object ({n}) does not match the name on the URL ({name})");
        }

        if (checkResourceVersion && updated.Metadata.ResourceVersion is { Length: > 0 } rv && rv != current.Metadata.ResourceVersion)
        {
            throw new ApiError(409, "Conflict", $"Operation cannot be fulfilled on {kind.QualifiedPlural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                name, kind.Group.Length == 0 ? null : kind.Group, kind.Plural);
        }

        // Identity and system fields are the server's.
        updated.ApiVersion = kind.ApiVersion;
        updated.Kind = kind.Kind;
        updated.Metadata.Name = name;
        updated.Metadata.NamespaceProperty = ns;
        updated.Metadata.Uid = current.Metadata.Uid;
        updated.Metadata.CreationTimestamp = current.Metadata.CreationTimestamp;
        updated.Metadata.DeletionTimestamp = current.Metadata.DeletionTimestamp;
        updated.Metadata.Generation = current.Metadata.Generation;

        var errors = new List<Cause>();
        switch (updated, current)
        {
            case (V1Job uj, V1Job cj):
                uj.Status = cj.Status;
                if (KubernetesJson.Serialize(uj.Spec?.Template) != KubernetesJson.Serialize(cj.Spec.Template))
                {
                    errors.Add(new Cause("FieldValueInvalid", "spec.template", "Invalid value: the pod template: field is immutable"));
                }

                if (KubernetesJson.Serialize(uj.Spec?.Selector) != KubernetesJson.Serialize(cj.Spec.Selector))
                {
                    errors.Add(new Cause("FieldValueInvalid", "spec.selector", "Invalid value: the selector: field is immutable"));
                }

                if (uj.Spec?.Completions != cj.Spec.Completions)
                {
                    errors.Add(new Cause("FieldValueInvalid", "spec.completions", "Invalid value: field is immutable"));
                }

                if (errors.Count == 0) errors.AddRange(Validation.ValidateJob(uj));
                if (KubernetesJson.Serialize(uj.Spec) != KubernetesJson.Serialize(cj.Spec)) updated.Metadata.Generation = (cj.Metadata.Generation ?? 1) + 1;
                break;
            case (V1Pod up, V1Pod cp):
                up.Status = cp.Status;
                var mutable = Clone(up.Spec);
                mutable.ActiveDeadlineSeconds = cp.Spec.ActiveDeadlineSeconds;
                if (KubernetesJson.Serialize(mutable) != KubernetesJson.Serialize(cp.Spec))
                {
                    errors.Add(new Cause("FieldValueForbidden", "spec", "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"));
                }

                break;
            case (V1ConfigMap ucm, _):
                errors.AddRange(Validation.ValidateConfigMap(ucm));
                break;
            case (V1Secret us, V1Secret cs):
                Defaults.ApplyToSecret(us);
                if (cs.Immutable == true && (KubernetesJson.Serialize(us.Data) != KubernetesJson.Serialize(cs.Data) || us.Immutable != true))
                {
                    errors.Add(new Cause("FieldValueForbidden", "data", "Forbidden: field is immutable when `immutable` is set"));
                }

                if (us.Type != cs.Type) errors.Add(new Cause("FieldValueInvalid", "type", $"Invalid value: \"{us.Type}\": field is immutable"));
                errors.AddRange(Validation.ValidateSecret(us));
                break;
        }

        if (errors.Count > 0) throw ApiError.Invalid(kind, name, errors);
        updated.Metadata.ResourceVersion = NextResourceVersion();
        _store[kind][(ns, name)] = updated;
        if (updated is V1Pod pod && _runtimes.TryGetValue((ns, name), out var rt)) rt.Pod = pod;
        Publish(kind, "MODIFIED", updated);
        return KubernetesJson.Serialize(updated);
    }

    // ------------------------------------------------------------------ watch

    /// <summary>Publishes a change to watchers and the history. Call under <see cref="Gate"/>.</summary>
    internal void Publish(ResourceKind kind, string type, IKubernetesObject<V1ObjectMeta> obj)
    {
        var json = "{\"type\":\"" + type + "\",\"object\":" + KubernetesJson.Serialize(obj) + "}";
        var ev = new WatchEvent(long.Parse(obj.Metadata.ResourceVersion ?? "0", CultureInfo.InvariantCulture), kind, type,
            obj.Metadata.NamespaceProperty ?? "", CloneObject(kind, obj), json);
        _history.Add(ev);
        if (_history.Count > HistoryLimit) _history.RemoveRange(0, _history.Count - HistoryLimit);
        foreach (var w in _watchers) w.Writer.TryWrite(ev);
    }

    /// <summary>
    /// Starts a watch: the events to send first (current objects as ADDED, or the history after
    /// <paramref name="fromResourceVersion"/>) and the channel of later ones. 410 Gone when the
    /// history no longer reaches back that far.
    /// </summary>
    public (List<WatchEvent> Backlog, ChannelReader<WatchEvent> Live, Action Stop) StartWatch(ResourceKind kind, string ns, string? fromResourceVersion)
    {
        var channel = Channel.CreateUnbounded<WatchEvent>();
        lock (Gate)
        {
            List<WatchEvent> backlog;
            if (string.IsNullOrEmpty(fromResourceVersion) || fromResourceVersion == "0")
            {
                backlog = _store[kind].Where(kv => kv.Key.Ns == ns).OrderBy(kv => kv.Key.Name, StringComparer.Ordinal)
                    .Select(kv => new WatchEvent(long.Parse(kv.Value.Metadata.ResourceVersion, CultureInfo.InvariantCulture), kind, "ADDED", ns,
                        CloneObject(kind, kv.Value), "{\"type\":\"ADDED\",\"object\":" + KubernetesJson.Serialize(kv.Value) + "}"))
                    .ToList();
            }
            else
            {
                if (!long.TryParse(fromResourceVersion, NumberStyles.Integer, CultureInfo.InvariantCulture, out var from))
                {
                    throw ApiError.BadRequest($"invalid resource version \"{fromResourceVersion}\"");
                }

                if (_history.Count > 0 && from < _history[0].ResourceVersion - 1)
                {
                    throw new ApiError(410, "Expired", $"too old resource version: {from} ({_history[0].ResourceVersion - 1})");
                }

                backlog = _history.Where(e => e.ResourceVersion > from && e.Kind == kind && e.Namespace == ns).ToList();
            }

            _watchers.Add(channel);
            return (backlog, channel.Reader, () =>
            {
                lock (Gate) _watchers.Remove(channel);
                channel.Writer.TryComplete();
            });
        }
    }

    // ------------------------------------------------------------------ helpers

    internal static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _controllerLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        List<PodRuntime> runtimes;
        lock (Gate)
        {
            runtimes = _runtimes.Values.ToList();
            foreach (var w in _watchers) w.Writer.TryComplete();
            _watchers.Clear();
        }

        foreach (var rt in runtimes) KillProcess(rt);
        _stopping.Dispose();
    }
}
