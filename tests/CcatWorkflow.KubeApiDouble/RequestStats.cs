using System.Collections.Concurrent;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>One API request, classified as the API server's audit log would: verb and resource.</summary>
/// <param name="Verb">get, list, watch, create, update, patch, delete, deletecollection.</param>
/// <param name="Resource">jobs, pods, pods/log, configmaps, namespaces, …</param>
/// <param name="Group">API group ("" for core).</param>
/// <param name="Namespace">The namespace in the path, if any.</param>
/// <param name="Name">The object name in the path, if any.</param>
/// <param name="Subresource">log, status, … if any.</param>
public sealed record ApiRequest(string Verb, string Resource, string Group, string? Namespace, string? Name, string? Subresource)
{
    /// <summary>"list jobs", "get pods/log", …</summary>
    public string Key => $"{Verb} {Resource}";

    /// <summary>Classifies a request path; null for paths outside the resource API (/version, /_double…).</summary>
    public static ApiRequest? Classify(string method, string path, bool watch)
    {
        var seg = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        string group;
        string[] rest;
        if (seg.Length >= 3 && seg[0] == "api" && seg[1] == "v1")
        {
            group = "";
            rest = seg[2..];
        }
        else if (seg.Length >= 4 && seg[0] == "apis")
        {
            group = seg[1];
            rest = seg[3..];
        }
        else
        {
            return null;
        }

        string? ns = null, name = null, sub = null;
        string resource;
        if (rest[0] == "namespaces" && rest.Length >= 3)
        {
            ns = rest[1];
            resource = rest[2];
            name = rest.Length > 3 ? rest[3] : null;
            sub = rest.Length > 4 ? rest[4] : null;
        }
        else
        {
            resource = rest[0];
            name = rest.Length > 1 ? rest[1] : null;
            sub = rest.Length > 2 ? rest[2] : null;
        }

        var verb = method switch
        {
            "GET" when name is null => watch ? "watch" : "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" when name is null => "deletecollection",
            "DELETE" => "delete",
            _ => method.ToLowerInvariant(),
        };
        return new ApiRequest(verb, sub is null ? resource : $"{resource}/{sub}", group, ns, name, sub);
    }
}

/// <summary>Counts API requests by verb and resource, so tests can assert how many calls an operation cost.</summary>
public sealed class RequestStats
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Ns, string Key), int> _byNamespace = new();
    private int _total;

    /// <summary>Requests since the last reset.</summary>
    public int Total => Volatile.Read(ref _total);

    /// <summary>Counts one request.</summary>
    public void Record(ApiRequest request)
    {
        Interlocked.Increment(ref _total);
        _counts.AddOrUpdate(request.Key, 1, (_, n) => n + 1);
        if (request.Namespace is { } ns) _byNamespace.AddOrUpdate((ns, request.Key), 1, (_, n) => n + 1);
    }

    /// <summary>
    /// Requests in one namespace since the last reset: what a test that has a namespace to
    /// itself reads (before and after) to count its own calls while others use the server.
    /// </summary>
    public int NamespaceTotal(string ns) => _byNamespace.Where(kv => kv.Key.Ns == ns).Sum(kv => kv.Value);

    /// <summary>The counts of one namespace.</summary>
    public IReadOnlyDictionary<string, int> Snapshot(string ns) =>
        new SortedDictionary<string, int>(_byNamespace.Where(kv => kv.Key.Ns == ns).ToDictionary(kv => kv.Key.Key, kv => kv.Value), StringComparer.Ordinal);

    /// <summary>Requests of one kind ("list pods").</summary>
    public int Count(string key) => _counts.GetValueOrDefault(key);

    /// <summary>All counts.</summary>
    public IReadOnlyDictionary<string, int> Snapshot() => new SortedDictionary<string, int>(_counts, StringComparer.Ordinal);

    /// <summary>Starts counting afresh.</summary>
    public void Reset()
    {
        _counts.Clear();
        _byNamespace.Clear();
        Interlocked.Exchange(ref _total, 0);
    }
}

/// <summary>
/// An injected failure: the next <see cref="Count"/> API requests matching <see cref="Verb"/>
/// and <see cref="Resource"/> (any when null) get <see cref="Code"/> with a real Status body.
/// Code 0 drops the connection instead.
/// </summary>
public sealed record FailureRule
{
    /// <summary>HTTP status (401, 403, 409, 422, 500, 503, …) or 0 to abort the connection.</summary>
    public int Code { get; init; } = 500;

    /// <summary>How many requests fail.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Only this verb (create, list, get, delete, patch…).</summary>
    public string? Verb { get; init; }

    /// <summary>Only this resource (jobs, pods, configmaps, pods/log…).</summary>
    public string? Resource { get; init; }

    /// <summary>Status.message; a realistic one when null.</summary>
    public string? Message { get; init; }

    /// <summary>True when the rule applies to the request.</summary>
    public bool Matches(ApiRequest r) =>
        (Verb is null || string.Equals(Verb, r.Verb, StringComparison.OrdinalIgnoreCase))
        && (Resource is null || string.Equals(Resource, r.Resource, StringComparison.OrdinalIgnoreCase));

    /// <summary>The error the real server would send for this code and request.</summary>
    public ApiError ToError(ApiRequest r, string user)
    {
        var group = r.Group.Length == 0 ? null : r.Group;
        var qualified = group is null ? r.Resource.Split('/')[0] : $"{r.Resource.Split('/')[0]}.{group}";
        var named = r.Name is null ? qualified : $"{qualified} \"{r.Name}\"";
        return Code switch
        {
            401 => new ApiError(401, "Unauthorized", Message ?? "Unauthorized"),
            403 => new ApiError(403, "Forbidden", Message ?? $"{named} is forbidden: User \"{user}\" cannot {r.Verb} resource \"{r.Resource}\" in API group \"{r.Group}\" in the namespace \"{r.Namespace}\"", r.Name, group, r.Resource),
            404 => new ApiError(404, "NotFound", Message ?? $"{named} not found", r.Name, group, r.Resource),
            409 => new ApiError(409, "AlreadyExists", Message ?? $"{qualified} \"{r.Name ?? "object"}\" already exists", r.Name, group, r.Resource),
            422 => new ApiError(422, "Invalid", Message ?? $"{qualified} \"{r.Name ?? "object"}\" is invalid: injected by the test", r.Name, group, r.Resource),
            429 => new ApiError(429, "TooManyRequests", Message ?? "Too many requests, please try again later."),
            500 => new ApiError(500, "InternalError", Message ?? "Internal error occurred: etcdserver: request timed out"),
            503 => new ApiError(503, "ServiceUnavailable", Message ?? "The server is currently unable to handle the request"),
            504 => new ApiError(504, "Timeout", Message ?? "Timeout: request did not complete within the allotted timeout"),
            _ => new ApiError(Code, "Unknown", Message ?? $"injected error {Code}"),
        };
    }
}
