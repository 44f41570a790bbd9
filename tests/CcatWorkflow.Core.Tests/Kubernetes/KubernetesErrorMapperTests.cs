using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Errors;
using k8s.Autorest;

namespace CcatWorkflow.Core.Tests.Kubernetes;

public class KubernetesErrorMapperTests
{
    private static HttpOperationException Http(HttpStatusCode code, string body)
    {
        using var message = new HttpResponseMessage(code);
        return new HttpOperationException($"Operation returned an invalid status code '{code}'")
        {
            Response = new HttpResponseMessageWrapper(message, body),
        };
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "Unauthorized", CcatErrorId.KubernetesUnauthorized)]
    [InlineData(HttpStatusCode.Forbidden, "Forbidden", CcatErrorId.KubernetesForbidden)]
    [InlineData(HttpStatusCode.NotFound, "NotFound", CcatErrorId.KubernetesNotFound)]
    [InlineData(HttpStatusCode.Conflict, "AlreadyExists", CcatErrorId.KubernetesConflict)]
    [InlineData(HttpStatusCode.UnprocessableEntity, "Invalid", CcatErrorId.KubernetesInvalid)]
    [InlineData(HttpStatusCode.InternalServerError, "InternalError", CcatErrorId.KubernetesServerError)]
    [InlineData(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", CcatErrorId.KubernetesServerError)]
    [InlineData(HttpStatusCode.GatewayTimeout, "Timeout", CcatErrorId.KubernetesServerError)]
    public void Each_status_code_has_its_own_id_and_carries_the_servers_message(HttpStatusCode code, string reason, CcatErrorId expected)
    {
        var body = $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server says \"{{reason}}\"","reason":"{{reason}}","code":{{(int)code}}}""";
        var mapped = KubernetesErrorMapper.TryMap(Http(code, body), "creating Job x", "https://k8s:6443", "x");
        Assert.NotNull(mapped);
        Assert.Equal(expected, mapped.ErrorId);
        Assert.Equal("x", mapped.JobId);
        Assert.Contains($"the server says \"{reason}\"", mapped.Message);
        Assert.Contains("creating Job x", mapped.Message);
        Assert.Contains(((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture), mapped.Message);
    }

    [Fact]
    public void A_body_that_is_not_a_status_is_quoted()
    {
        var mapped = KubernetesErrorMapper.TryMap(Http(HttpStatusCode.BadGateway, "<html>bad gateway</html>"), "listing Jobs", "https://k8s");
        Assert.Equal(CcatErrorId.KubernetesServerError, mapped!.ErrorId);
        Assert.Contains("<html>bad gateway</html>", mapped.Message);
    }

    [Fact]
    public void A_missing_namespace_is_told_apart_from_a_missing_object()
    {
        var ns = Http(HttpStatusCode.NotFound, """{"kind":"Status","status":"Failure","message":"namespaces \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"namespaces"},"code":404}""");
        var job = Http(HttpStatusCode.NotFound, """{"kind":"Status","status":"Failure","message":"jobs.batch \"j\" not found","reason":"NotFound","details":{"name":"j","group":"batch","kind":"jobs"},"code":404}""");
        Assert.True(KubernetesErrorMapper.IsNamespaceNotFound(ns));
        Assert.False(KubernetesErrorMapper.IsNamespaceNotFound(job));
        Assert.True(KubernetesErrorMapper.IsNotFound(job));
    }

    [Fact]
    public void A_tls_failure_is_its_own_id()
    {
        var e = new HttpRequestException("The SSL connection could not be established", new AuthenticationException("The remote certificate is invalid: UntrustedRoot"));
        var mapped = KubernetesErrorMapper.TryMap(e, "listing Jobs", "https://k8s:6443");
        Assert.Equal(CcatErrorId.KubernetesTlsFailed, mapped!.ErrorId);
        Assert.Contains("UntrustedRoot", mapped.Message);
        Assert.Contains("https://k8s:6443", mapped.Message);
    }

    [Fact]
    public void A_refused_connection_is_its_own_id()
    {
        var e = new HttpRequestException("Connection refused (127.0.0.1:1)", new SocketException((int)SocketError.ConnectionRefused));
        var mapped = KubernetesErrorMapper.TryMap(e, "listing Jobs", "https://127.0.0.1:1");
        Assert.Equal(CcatErrorId.KubernetesConnectionFailed, mapped!.ErrorId);
        Assert.Contains("refused the connection", mapped.Message);
    }

    [Fact]
    public void Other_transport_failures_are_connection_failures()
    {
        Assert.Equal(CcatErrorId.KubernetesConnectionFailed,
            KubernetesErrorMapper.TryMap(new HttpRequestException("Name or service not known", new SocketException((int)SocketError.HostNotFound)), "x", "https://nowhere")!.ErrorId);
        Assert.Equal(CcatErrorId.KubernetesConnectionFailed,
            KubernetesErrorMapper.TryMap(new TaskCanceledException("timeout", new TimeoutException()), "x", "https://slow")!.ErrorId);
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2201:Do not raise reserved exception types",
        Justification = "Stands for a bug in our code: the exception is built, never thrown.")]
    public void A_bug_is_not_disguised_as_an_api_error() =>
        Assert.Null(KubernetesErrorMapper.TryMap(new NullReferenceException(), "x", "https://k8s"));

    [Fact]
    public void Every_kubernetes_id_has_the_kind_scripts_expect()
    {
        Assert.Equal(CcatErrorKind.AuthenticationError, CcatException.KindOf(CcatErrorId.KubernetesUnauthorized));
        Assert.Equal(CcatErrorKind.PermissionDenied, CcatException.KindOf(CcatErrorId.KubernetesForbidden));
        Assert.Equal(CcatErrorKind.ResourceExists, CcatException.KindOf(CcatErrorId.KubernetesConflict));
        Assert.Equal(CcatErrorKind.ConnectionError, CcatException.KindOf(CcatErrorId.KubernetesConnectionFailed));
        Assert.Equal(CcatErrorKind.ConnectionError, CcatException.KindOf(CcatErrorId.KubernetesTlsFailed));
    }
}
