using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using CcatWorkflow.Core.Errors;
using k8s.Autorest;
using k8s.Exceptions;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Turns what KubernetesClient throws into <see cref="CcatException"/>s with one error id per
/// kind of failure, carrying the API server's own message: HTTP errors arrive as
/// <see cref="HttpOperationException"/> with a <c>Status</c> body; transport and TLS failures
/// as <see cref="HttpRequestException"/>.
/// </summary>
public static class KubernetesErrorMapper
{
    /// <summary>The parts of a Kubernetes <c>Status</c> error body the module uses.</summary>
    /// <param name="Code">HTTP code.</param>
    /// <param name="Reason">Machine reason (AlreadyExists, Invalid, NotFound, …).</param>
    /// <param name="Message">The server's message.</param>
    /// <param name="Kind">details.kind (jobs, namespaces, …).</param>
    public sealed record ApiStatus(int Code, string? Reason, string? Message, string? Kind);

    /// <summary>Reads the Status body of an HTTP error; tolerant of non-JSON bodies (proxies).</summary>
    public static ApiStatus ReadStatus(HttpOperationException e)
    {
        var code = (int)(e.Response?.StatusCode ?? 0);
        var content = e.Response?.Content;
        if (!string.IsNullOrWhiteSpace(content))
        {
            try
            {
                using var doc = JsonDocument.Parse(content);
                var root = doc.RootElement;
                string? Str(JsonElement el, string name) =>
                    el.ValueKind == JsonValueKind.Object && el.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var kind = root.TryGetProperty("details", out var details) ? Str(details, "kind") : null;
                return new ApiStatus(code, Str(root, "reason"), Str(root, "message"), kind);
            }
            catch (JsonException)
            {
                var text = content.Trim();
                return new ApiStatus(code, null, text.Length > 300 ? text[..300] + "…" : text, null);
            }
        }

        return new ApiStatus(code, e.Response?.ReasonPhrase, null, null);
    }

    /// <summary>The error id for an HTTP status code from the API server.</summary>
    public static CcatErrorId IdFor(int statusCode) => statusCode switch
    {
        401 => CcatErrorId.KubernetesUnauthorized,
        403 => CcatErrorId.KubernetesForbidden,
        404 => CcatErrorId.KubernetesNotFound,
        409 => CcatErrorId.KubernetesConflict,
        400 or 422 => CcatErrorId.KubernetesInvalid,
        _ => CcatErrorId.KubernetesServerError, // 5xx, 429 throttling and anything unexpected: the server could not serve it
    };

    /// <summary>
    /// Maps <paramref name="e"/> to a <see cref="CcatException"/>, or returns null when it is not
    /// a Kubernetes or transport failure (a bug, or the caller's own cancellation).
    /// </summary>
    /// <param name="e">What KubernetesClient threw.</param>
    /// <param name="operation">What the module was doing, for the message ("creating Job x").</param>
    /// <param name="server">The API server URL, for transport messages.</param>
    /// <param name="jobId">The job concerned, if any.</param>
    public static CcatException? TryMap(Exception e, string operation, string? server, string? jobId = null)
    {
        switch (e)
        {
            case CcatException c:
                return c;
            case HttpOperationException h:
            {
                var st = ReadStatus(h);
                var id = IdFor(st.Code);
                var what = st.Code is >= 500 ? "server error" : "refused";
                var message = $"The Kubernetes API {what} while {operation}: {st.Code} {st.Reason ?? h.Response?.ReasonPhrase}: {st.Message ?? "(no message)"}";
                return new CcatException(id, message, jobId, e);
            }

            case KubeConfigException k:
                return new CcatException(CcatErrorId.InvalidConfiguration, $"The Kubernetes client configuration is not usable: {k.Message}", jobId, e);
        }

        if (Find<AuthenticationException>(e) is { } tls)
        {
            return new CcatException(CcatErrorId.KubernetesTlsFailed,
                $"TLS with the Kubernetes API server {server} failed while {operation}: {tls.Message} (check certificate-authority-data in the kubeconfig).", jobId, e);
        }

        if (Find<SocketException>(e) is { } sock)
        {
            var what = sock.SocketErrorCode == SocketError.ConnectionRefused ? "refused the connection" : $"could not be reached ({sock.SocketErrorCode})";
            return new CcatException(CcatErrorId.KubernetesConnectionFailed,
                $"The Kubernetes API server {server} {what} while {operation}: {sock.Message}", jobId, e);
        }

        if (e is HttpRequestException req)
        {
            return new CcatException(CcatErrorId.KubernetesConnectionFailed,
                $"The Kubernetes API server {server} could not be reached while {operation}: {req.Message}", jobId, e);
        }

        if (e is TaskCanceledException { InnerException: TimeoutException } timeout)
        {
            return new CcatException(CcatErrorId.KubernetesConnectionFailed,
                $"The Kubernetes API server {server} did not answer in time while {operation}: {timeout.Message}", jobId, e);
        }

        if (e is IOException io && Find<SocketException>(io) is null && io.InnerException is null)
        {
            return new CcatException(CcatErrorId.KubernetesConnectionFailed,
                $"The connection to the Kubernetes API server {server} failed while {operation}: {io.Message}", jobId, e);
        }

        return null;
    }

    /// <summary>True for a 404 from the API.</summary>
    public static bool IsNotFound(Exception e) => e is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound };

    /// <summary>True for a 404 about a missing namespace (not about the named object).</summary>
    public static bool IsNamespaceNotFound(Exception e) =>
        e is HttpOperationException h && h.Response?.StatusCode == HttpStatusCode.NotFound && ReadStatus(h).Kind == "namespaces";

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is T t) return t;
        }

        return null;
    }
}
