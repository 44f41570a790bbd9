using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>
/// A stand-in Kubernetes API server (batch/v1 Jobs, v1 Pods with logs, v1 ConfigMaps) on
/// Kestrel: real defaults, 422 validation, Status error bodies, label and field selectors,
/// watch, a Job controller (retries, activeDeadlineSeconds, ttlSecondsAfterFinished, deletion
/// propagation with the real orphaning default) and a "kubelet" that either waits for tests to
/// drive each pod or really runs its command on this host. Bearer token and HTTPS optional.
/// Test-control endpoints live under <c>/_double/</c>, outside the API paths.
/// </summary>
public sealed class KubeApiDouble : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly WebApplication _app;
    private readonly List<FailureRule> _failures = [];

    private KubeApiDouble(KubeApiDoubleOptions options, WebApplication app, Cluster cluster, string? caPem)
    {
        Options = options;
        _app = app;
        Cluster = cluster;
        CaPem = caPem;
    }

    /// <summary>The options.</summary>
    public KubeApiDoubleOptions Options { get; }

    /// <summary>The state (objects, pods, control).</summary>
    public Cluster Cluster { get; }

    /// <summary>The server URL (https://127.0.0.1:port/ or http://…).</summary>
    public Uri Uri { get; private set; } = null!;

    /// <summary>The self-signed serving certificate as PEM (the kubeconfig's certificate-authority-data), when HTTPS.</summary>
    public string? CaPem { get; }

    /// <summary>Counts of API requests by verb and resource.</summary>
    public RequestStats Stats { get; } = new();

    /// <summary>Starts a double on 127.0.0.1.</summary>
    public static async Task<KubeApiDouble> StartAsync(KubeApiDoubleOptions? options = null)
    {
        options ??= new KubeApiDoubleOptions();
        X509Certificate2? cert = null;
        string? caPem = null;
        if (options.Https)
        {
            (cert, caPem) = CreateCertificate();
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, options.Port, listen =>
        {
            if (cert is not null) listen.UseHttps(cert);
        }));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        var cluster = new Cluster(options);
        var server = new KubeApiDouble(options, app, cluster, caPem);
        server.Configure();
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Uri = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        cluster.ApiEndpoint = (server.Uri.Host, server.Uri.Port, caPem);
        return server;
    }

    /// <summary>Completes when the host is asked to stop (SIGTERM in console mode).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Makes the next matching requests fail.</summary>
    public void FailNext(FailureRule rule)
    {
        lock (_failures) _failures.Add(rule);
    }

    /// <summary>Removes injected failures that have not fired.</summary>
    public void ClearFailures()
    {
        lock (_failures) _failures.Clear();
    }

    /// <summary>
    /// A kubeconfig for this server: cluster with the CA (when HTTPS and <paramref name="includeCa"/>),
    /// a user with the token, a context with <paramref name="ns"/>.
    /// </summary>
    public string Kubeconfig(string? token = null, bool includeCa = true, Uri? server = null, string ns = "ccat-workflows")
    {
        var url = (server ?? Uri).ToString().TrimEnd('/');
        var sb = new StringBuilder();
        sb.Append("apiVersion: v1\nkind: Config\nclusters:\n- name: kube-api-double\n  cluster:\n");
        sb.Append("    server: ").Append(url).Append('\n');
        if (CaPem is not null && includeCa)
        {
            sb.Append("    certificate-authority-data: ").Append(Convert.ToBase64String(Encoding.ASCII.GetBytes(CaPem))).Append('\n');
        }

        sb.Append("users:\n- name: kube-api-double-user\n  user:\n");
        var t = token ?? Options.Token;
        if (t is not null) sb.Append("    token: ").Append(t).Append('\n');
        else sb.Append("    {}\n");
        sb.Append("contexts:\n- name: kube-api-double\n  context:\n    cluster: kube-api-double\n    user: kube-api-double-user\n    namespace: ").Append(ns).Append('\n');
        sb.Append("current-context: kube-api-double\n");
        return sb.ToString();
    }

    /// <summary>Finds the newest pod of a Job (by the job-name label the controller sets), waiting a little for it to appear.</summary>
    public async Task<V1Pod> WaitForJobPodAsync(string ns, string jobName, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var pod = Cluster.All<V1Pod>(ResourceKind.Pods, ns)
                .Where(p => JobNameOf(p) == jobName)
                .OrderByDescending(p => p.Metadata.CreationTimestamp).ThenByDescending(p => p.Metadata.Name, StringComparer.Ordinal).FirstOrDefault();
            if (pod is not null) return pod;
            if (DateTime.UtcNow > until) throw new ApiError(404, "NotFound", $"no pod of job \"{jobName}\" appeared in namespace \"{ns}\"");
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    private static string? JobNameOf(V1Pod p) =>
        p.Metadata.Labels is { } l && l.TryGetValue("job-name", out var v) ? v : null;

    // ------------------------------------------------------------------ pipeline

    private void Configure()
    {
        _app.Use(async (ctx, next) =>
        {
            var path = ctx.Request.Path.Value ?? "/";
            var isControl = path.StartsWith("/_double", StringComparison.Ordinal);
            var request = isControl ? null : ApiRequest.Classify(ctx.Request.Method, path, IsTrue(ctx.Request.Query["watch"]));
            try
            {
                if (!isControl)
                {
                    if (request is not null) Stats.Record(request);
                    var bearer = ctx.Request.Headers.Authorization.ToString();
                    var serviceAccount = bearer.StartsWith("Bearer ", StringComparison.Ordinal) ? Cluster.ServiceAccountOfToken(bearer[7..]) : null;
                    if (serviceAccount is not null)
                    {
                        // A pod's projected token: RBAC decides, from the Roles bound to its account.
                        if (request is not null) Cluster.Authorize(serviceAccount.Value, request);
                    }
                    else if (Options.Token is { } token && bearer != "Bearer " + token)
                    {
                        throw new ApiError(401, "Unauthorized", "Unauthorized");
                    }

                    if (request?.Namespace is { } ns && Options.ForbiddenNamespaces.Contains(ns))
                    {
                        throw new FailureRule { Code = 403 }.ToError(request, Options.UserName);
                    }

                    FailureRule? rule = null;
                    if (request is not null)
                    {
                        lock (_failures)
                        {
                            var i = _failures.FindIndex(f => f.Matches(request));
                            if (i >= 0)
                            {
                                rule = _failures[i];
                                _failures[i] = rule with { Count = rule.Count - 1 };
                                if (_failures[i].Count <= 0) _failures.RemoveAt(i);
                            }
                        }
                    }

                    if (rule is { Code: 0 })
                    {
                        ctx.Abort();
                        return;
                    }

                    if (rule is not null) throw rule.ToError(request!, Options.UserName);
                }

                await next(ctx).ConfigureAwait(false);
            }
            catch (ApiError e) when (!ctx.Response.HasStarted)
            {
                ctx.Response.StatusCode = e.Code;
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync(e.ToJson()).ConfigureAwait(false);
            }
            catch (Exception e) when (!ctx.Response.HasStarted && e is not OperationCanceledException)
            {
                // Never an empty 500: a bug in the double must be readable from the client side.
                ctx.Response.StatusCode = 500;
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync(StatusJson.Failure(500, "InternalError", "kube-api-double: " + e)).ConfigureAwait(false);
            }
        });

        _app.MapGet("/version", () => Results.Json(new
        {
            major = "1",
            minor = "31",
            gitVersion = "v1.31.0-kube-api-double",
            gitCommit = "0000000000000000000000000000000000000000",
            gitTreeState = "clean",
            buildDate = "2024-08-13T00:00:00Z",
            goVersion = "go1.22.5",
            compiler = "gc",
            platform = "linux/amd64",
        }));
        foreach (var p in new[] { "/healthz", "/readyz", "/livez" }) _app.MapGet(p, () => Results.Text("ok"));
        _app.MapGet("/api", () => Results.Json(new { kind = "APIVersions", versions = new[] { "v1" }, serverAddressByClientCIDRs = new[] { new { clientCIDR = "0.0.0.0/0", serverAddress = "127.0.0.1" } } }));
        _app.Map("/api/{**rest}", (Delegate)DispatchAsync);
        _app.Map("/apis/{**rest}", (Delegate)DispatchAsync);
        MapControl();
        _app.MapFallback(() => Text(StatusJson.Failure(404, "NotFound", "the server could not find the requested resource"), 404));
    }

    private static bool IsTrue(string? s) => s is "true" or "1" or "True";

    private static IResult Text(string json, int code = 200) => Results.Text(json, "application/json", Encoding.UTF8, code);

    private async Task<IResult> DispatchAsync(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        var r = ApiRequest.Classify(ctx.Request.Method, ctx.Request.Path.Value ?? "", IsTrue(q["watch"]))
                ?? throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        if (r.Namespace is null)
        {
            return Namespaces(r);
        }

        var kind = (r.Group, r.Resource.Split('/')[0]) switch
        {
            ("batch", "jobs") => ResourceKind.Jobs,
            ("", "pods") => ResourceKind.Pods,
            ("", "configmaps") => ResourceKind.ConfigMaps,
            ("", "secrets") => ResourceKind.Secrets,
            var (g, plural) when ResourceKind.Find(g, plural) is { } other => other,
            _ => throw new ApiError(404, "NotFound", "the server could not find the requested resource"),
        };
        var ns = r.Namespace;
        if (r.Subresource is not null)
        {
            return (r.Subresource, ctx.Request.Method) switch
            {
                ("log", "GET") when kind == ResourceKind.Pods => await LogAsync(ctx, ns, r.Name!).ConfigureAwait(false),
                ("status", "GET") => Text(Cluster.Get(kind, ns, r.Name!)),
                _ => throw new ApiError(404, "NotFound", "the server could not find the requested resource"),
            };
        }

        var body = ctx.Request.Method is "POST" or "PUT" or "PATCH" or "DELETE" ? await ReadBodyAsync(ctx.Request).ConfigureAwait(false) : "";
        switch (r.Verb)
        {
            case "list":
                return Text(Cluster.List(kind, ns, LabelSelector.Parse(q["labelSelector"]), FieldSelector.Parse(q["fieldSelector"], kind)));
            case "watch":
                await WatchAsync(ctx, kind, ns).ConfigureAwait(false);
                return Results.Empty;
            case "get":
                return Text(Cluster.Get(kind, ns, r.Name!));
            case "create":
                return Text(Cluster.Create(kind, ns, body), 201);
            case "update":
                return Text(Cluster.Replace(kind, ns, r.Name!, body));
            case "patch":
                return Text(Cluster.Patch(kind, ns, r.Name!, body, ctx.Request.ContentType));
            case "delete":
            {
                var result = Cluster.Delete(kind, ns, r.Name!, PropagationPolicy(q, body));
                if (result.Warning is not null) ctx.Response.Headers.Append("Warning", result.Warning);
                return Text(result.Json);
            }

            case "deletecollection":
                return Text(Cluster.DeleteCollection(kind, ns, LabelSelector.Parse(q["labelSelector"]), FieldSelector.Parse(q["fieldSelector"], kind), PropagationPolicy(q, body)));
            default:
                throw new ApiError(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource");
        }
    }

    private IResult Namespaces(ApiRequest r)
    {
        if (r.Resource != "namespaces" || r.Verb is not ("get" or "list"))
        {
            throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        }

        V1Namespace Ns(string name) => new()
        {
            ApiVersion = "v1",
            Kind = "Namespace",
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = name } },
            Spec = new V1NamespaceSpec { Finalizers = ["kubernetes"] },
            Status = new V1NamespaceStatus { Phase = "Active" },
        };
        if (r.Verb == "get")
        {
            return Options.Namespaces.Contains(r.Name!) ? Text(KubernetesJson.Serialize(Ns(r.Name!))) : throw ApiError.NamespaceNotFound(r.Name!);
        }

        return Text(KubernetesJson.Serialize(new V1NamespaceList
        {
            ApiVersion = "v1",
            Kind = "NamespaceList",
            Metadata = new V1ListMeta { ResourceVersion = Cluster.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            Items = Options.Namespaces.Order(StringComparer.Ordinal).Select(Ns).ToList(),
        }));
    }

    private static string? PropagationPolicy(IQueryCollection q, string body)
    {
        string? policy = q["propagationPolicy"];
        if (string.IsNullOrEmpty(policy) && body.Length > 0)
        {
            // kubectl sends DeleteOptions in the body; KubernetesClient puts it in the query.
            try
            {
                policy = KubernetesJson.Deserialize<V1DeleteOptions>(body)?.PropagationPolicy;
            }
            catch (JsonException)
            {
                throw ApiError.BadRequest("error decoding DeleteOptions");
            }
        }

        return string.IsNullOrEmpty(policy) ? null : policy;
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync().ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext ctx, ResourceKind kind, string ns)
    {
        var q = ctx.Request.Query;
        var labels = LabelSelector.Parse(q["labelSelector"]);
        var fields = FieldSelector.Parse(q["fieldSelector"], kind);
        var (backlog, live, stop) = Cluster.StartWatch(kind, ns, q["resourceVersion"]);
        try
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
            if (int.TryParse(q["timeoutSeconds"], out var timeout) && timeout > 0) cts.CancelAfter(TimeSpan.FromSeconds(timeout));
            await ctx.Response.StartAsync(cts.Token).ConfigureAwait(false);
            try
            {
                foreach (var ev in backlog.Where(e => labels.Matches(e.Snapshot.Metadata.Labels) && fields.Matches(e.Snapshot)))
                {
                    await ctx.Response.WriteAsync(ev.Json + "\n", cts.Token).ConfigureAwait(false);
                }

                await ctx.Response.Body.FlushAsync(cts.Token).ConfigureAwait(false);
                await foreach (var ev in live.ReadAllAsync(cts.Token).ConfigureAwait(false))
                {
                    if (ev.Kind != kind || ev.Namespace != ns || !labels.Matches(ev.Snapshot.Metadata.Labels) || !fields.Matches(ev.Snapshot)) continue;
                    await ctx.Response.WriteAsync(ev.Json + "\n", cts.Token).ConfigureAwait(false);
                    await ctx.Response.Body.FlushAsync(cts.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // timeoutSeconds passed or the client went away: a watch simply ends.
            }
        }
        finally
        {
            stop();
        }
    }

    private async Task<IResult> LogAsync(HttpContext ctx, string ns, string name)
    {
        var q = ctx.Request.Query;
        var rt = Cluster.Runtime(ns, name) ?? throw ApiError.NotFound(ResourceKind.Pods, name);
        V1Pod pod;
        lock (Cluster.Gate) pod = Cluster.Clone(rt.Pod);
        var names = pod.Spec.Containers.Select(c => c.Name).ToList();
        string container = q["container"].ToString();
        if (container.Length == 0)
        {
            if (names.Count > 1) throw ApiError.BadRequest($"a container name must be specified for pod {name}, choose one of: [{string.Join(' ', names)}]");
            container = names[0];
        }
        else if (!names.Contains(container) && pod.Spec.InitContainers?.Any(c => c.Name == container) != true)
        {
            throw ApiError.BadRequest($"container {container} is not valid for pod {name}");
        }

        if (IsTrue(q["previous"])) throw ApiError.BadRequest($"previous terminated container \"{container}\" in pod \"{name}\" not found");
        if (pod.Spec.NodeName is null) throw ApiError.BadRequest($"pod {name} does not have a host assigned");
        var state = (pod.Status?.ContainerStatuses ?? []).Concat(pod.Status?.InitContainerStatuses ?? []).FirstOrDefault(c => c.Name == container)?.State;
        StringBuilder log;
        lock (Cluster.Gate) log = names.Contains(container) ? rt.Log : rt.InitLogs.GetValueOrDefault(container) ?? new StringBuilder();
        if (state?.Waiting is { } waiting)
        {
            var why = waiting.Reason switch
            {
                "ErrImagePull" => "trying and failing to pull image",
                "ImagePullBackOff" => "image can't be pulled",
                var other => other,
            };
            throw ApiError.BadRequest($"container \"{container}\" in pod \"{name}\" is waiting to start: {why}");
        }

        var follow = IsTrue(q["follow"]);
        int? tail = int.TryParse(q["tailLines"], out var t) ? t : null;
        long? limit = long.TryParse(q["limitBytes"], out var lb) && lb > 0 ? lb : null;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain";
        long bytesSent = 0;
        int sent;
        string first;
        lock (log)
        {
            var all = log.ToString();
            first = tail is { } n ? TailLines(all, n) : all;
            sent = all.Length;
        }

        async Task<bool> SendAsync(string text)
        {
            if (text.Length == 0) return true;
            var bytes = Encoding.UTF8.GetBytes(text);
            if (limit is { } l && bytesSent + bytes.Length > l)
            {
                await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, (int)(l - bytesSent))).ConfigureAwait(false);
                return false;
            }

            bytesSent += bytes.Length;
            await ctx.Response.Body.WriteAsync(bytes).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync().ConfigureAwait(false);
            return true;
        }

        if (!await SendAsync(first).ConfigureAwait(false) || !follow) return Results.Empty;
        await ctx.Response.Body.FlushAsync().ConfigureAwait(false);
        while (!ctx.RequestAborted.IsCancellationRequested)
        {
            var done = rt.Ended.Task.IsCompleted;
            string chunk;
            lock (log)
            {
                chunk = log.ToString(sent, log.Length - sent);
                sent += chunk.Length;
            }

            if (!await SendAsync(chunk).ConfigureAwait(false) || done) break;
            try
            {
                await Task.WhenAny(rt.Ended.Task, Task.Delay(50, ctx.RequestAborted)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return Results.Empty;
    }

    private static string TailLines(string text, int lines)
    {
        if (lines <= 0) return "";
        var end = text.Length;
        if (end > 0 && text[end - 1] == '\n') end--;
        var count = 0;
        for (var i = end - 1; i >= 0; i--)
        {
            if (text[i] == '\n' && ++count == lines) return text[(i + 1)..];
        }

        return text;
    }

    // ------------------------------------------------------------------ control API (tests only)

    private void MapControl()
    {
        _app.MapGet("/_double/stats", (HttpRequest req) => req.Query["namespace"].ToString() is { Length: > 0 } statsNs
            ? Results.Json(new { total = Stats.NamespaceTotal(statsNs), requests = Stats.Snapshot(statsNs) })
            : Results.Json(new { total = Stats.Total, requests = Stats.Snapshot() }));
        _app.MapPost("/_double/stats/reset", () =>
        {
            Stats.Reset();
            return Results.Json(new { total = 0 });
        });
        _app.MapPost("/_double/fail-next", async (HttpRequest req) =>
        {
            var rule = JsonSerializer.Deserialize<FailureRule>(await ReadBodyAsync(req).ConfigureAwait(false), Web) ?? new FailureRule();
            FailNext(rule);
            return Results.Json(rule);
        });
        _app.MapDelete("/_double/fail-next", () =>
        {
            ClearFailures();
            return Results.Json(new { cleared = true });
        });
        _app.MapGet("/_double/info", () => Results.Json(new
        {
            uri = Uri.ToString(),
            mode = Options.Mode.ToString(),
            manualNamespaces = Options.ManualNamespaces,
            namespaces = Options.Namespaces,
            forbiddenNamespaces = Options.ForbiddenNamespaces,
            https = Options.Https,
        }));
        _app.MapPost("/_double/pods/{ns}/{name}/state", async (string ns, string name, HttpRequest req) =>
        {
            var change = JsonSerializer.Deserialize<PodStateChange>(await ReadBodyAsync(req).ConfigureAwait(false), Web) ?? throw ApiError.BadRequest("no state");
            Cluster.SetPodState(ns, name, change);
            return Text(Cluster.Get(ResourceKind.Pods, ns, name));
        });
        _app.MapPost("/_double/pods/{ns}/{name}/log", async (string ns, string name, HttpRequest req) =>
        {
            Cluster.AppendLog(ns, name, await ReadBodyAsync(req).ConfigureAwait(false));
            return Results.Json(new { appended = true });
        });
        _app.MapPost("/_double/jobs/{ns}/{job}/state", async (string ns, string job, HttpRequest req) =>
        {
            var change = JsonSerializer.Deserialize<PodStateChange>(await ReadBodyAsync(req).ConfigureAwait(false), Web) ?? throw ApiError.BadRequest("no state");
            var pod = await WaitForJobPodAsync(ns, job).ConfigureAwait(false);
            Cluster.SetPodState(ns, pod.Metadata.Name, change);
            return Text(Cluster.Get(ResourceKind.Pods, ns, pod.Metadata.Name));
        });
        _app.MapPost("/_double/jobs/{ns}/{job}/log", async (string ns, string job, HttpRequest req) =>
        {
            var pod = await WaitForJobPodAsync(ns, job).ConfigureAwait(false);
            Cluster.AppendLog(ns, pod.Metadata.Name, await ReadBodyAsync(req).ConfigureAwait(false));
            return Results.Json(new { pod = pod.Metadata.Name });
        });
        _app.MapGet("/_double/jobs/{ns}/{job}/pods", (string ns, string job) =>
            Results.Json(Cluster.All<V1Pod>(ResourceKind.Pods, ns)
                .Where(p => JobNameOf(p) == job)
                .Select(p => new { name = p.Metadata.Name, phase = p.Status?.Phase, owned = p.Metadata.OwnerReferences?.Count > 0 })));
    }

    // ------------------------------------------------------------------ TLS

    private static (X509Certificate2 Cert, string Pem) CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=kube-api-double", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        // Self-signed and a CA at once: the kubeconfig's certificate-authority-data is this certificate.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var temp = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));
        var cert = X509CertificateLoader.LoadPkcs12(temp.Export(X509ContentType.Pfx), null);
        return (cert, temp.ExportCertificatePem());
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
