using System.Net;
using System.Net.Sockets;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;
using CcatWorkflow.KubeApiDouble;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>Every API failure becomes its own error id with the API server's message.</summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public class KubernetesBackendErrorTests(KubeDoubleFixture fx) : IClassFixture<KubeDoubleFixture>
{
    private const string Manual = KubeDoubleFixture.ManualNamespace;
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly JobSubmission Sleep = new() { ExecutionCommand = "sleep 60", JobName = "errors" };

    private static async Task<CcatException> Fails(Func<Task> action, CcatErrorId expected)
    {
        var e = await Assert.ThrowsAsync<CcatException>(action);
        Assert.Equal(expected, e.ErrorId);
        return e;
    }

    private int ManagedConfigMaps()
    {
        return fx.Server.Cluster.All<k8s.Models.V1ConfigMap>(ResourceKind.ConfigMaps, Manual)
            .Count(c => c.Metadata.Labels?.ContainsKey("ccat-workflow/job-id") == true);
    }

    [Fact]
    public async Task A_wrong_token_is_Unauthorized()
    {
        await using var b = fx.Backend(Manual, kubeconfig: fx.WriteKubeconfig("kc-401", token: "not-the-token"));
        var e = await Fails(() => b.SubmitAsync(Sleep, None), CcatErrorId.KubernetesUnauthorized);
        Assert.Contains("401 Unauthorized", e.Message);
        await Fails(() => b.GetStatusesAsync(["abc-bcdfg"], None), CcatErrorId.KubernetesUnauthorized);
    }

    [Fact]
    public async Task Rbac_refusal_is_Forbidden_with_the_servers_message()
    {
        await using var b = fx.Backend("ccat-forbidden");
        var e = await Fails(() => b.SubmitAsync(Sleep, None), CcatErrorId.KubernetesForbidden);
        Assert.Contains("configmaps is forbidden: User \"system:serviceaccount:ccat-workflows:ccat-runner\" cannot create resource \"configmaps\"", e.Message);

        await using var ok = fx.Backend(Manual);
        fx.Server.FailNext(new FailureRule { Code = 403, Verb = "list", Resource = "pods" });
        e = await Fails(() => ok.GetStatusesAsync(["abc-bcdfg"], None), CcatErrorId.KubernetesForbidden);
        Assert.Contains("cannot list resource \"pods\"", e.Message);
    }

    [Fact]
    public async Task A_missing_namespace_is_NotFound()
    {
        await using var b = fx.Backend("no-such-namespace");
        var e = await Fails(() => b.SubmitAsync(Sleep, None), CcatErrorId.KubernetesNotFound);
        Assert.Contains("namespaces \"no-such-namespace\" not found", e.Message);
    }

    [Fact]
    public async Task A_taken_name_is_Conflict_and_nothing_is_left_behind()
    {
        await using var b = fx.Backend(Manual);
        var before = ManagedConfigMaps();
        fx.Server.FailNext(new FailureRule { Code = 409, Verb = "create", Resource = "jobs" });
        var e = await Fails(() => b.SubmitAsync(Sleep, None), CcatErrorId.KubernetesConflict);
        Assert.Contains("already exists", e.Message);
        Assert.Equal(before, ManagedConfigMaps()); // the record made first was removed again
    }

    [Fact]
    public async Task An_invalid_spec_is_Invalid_with_the_field_errors()
    {
        await using var b = fx.Backend(Manual, o => o with { NodeSelector = new Dictionary<string, string> { ["disk type"] = "fast ssd" } });
        var before = ManagedConfigMaps();
        var e = await Fails(() => b.SubmitAsync(Sleep, None), CcatErrorId.KubernetesInvalid);
        Assert.Contains("422 Invalid", e.Message);
        Assert.Contains("spec.template.spec.nodeSelector: Invalid value: \"disk type\"", e.Message);
        Assert.Equal(before, ManagedConfigMaps());
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task Server_errors_are_ServerError(int code)
    {
        await using var b = fx.Backend(Manual);
        fx.Server.FailNext(new FailureRule { Code = code, Verb = "list", Resource = "jobs" });
        var e = await Fails(() => b.GetStatusesAsync(["abc-bcdfg"], None), CcatErrorId.KubernetesServerError);
        Assert.Contains(code.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Equal(CcatErrorKind.ResourceUnavailable, e.Kind);
    }

    [Fact]
    public async Task A_refused_connection_is_ConnectionFailed()
    {
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }

        var kc = fx.WriteKubeconfig("kc-refused", server: new UriBuilder(fx.Server.Uri) { Port = port }.Uri);
        await using var b = fx.Backend(Manual, kubeconfig: kc);
        var e = await Fails(() => b.SubmitAsync(Sleep, None), CcatErrorId.KubernetesConnectionFailed);
        Assert.Contains("refused", e.Message);
        Assert.Equal(CcatErrorKind.ConnectionError, e.Kind);
    }

    [Fact]
    public async Task An_untrusted_certificate_is_TlsFailed()
    {
        await using var b = fx.Backend(Manual, kubeconfig: fx.WriteKubeconfig("kc-no-ca", includeCa: false));
        var e = await Fails(() => b.GetStatusesAsync(["abc-bcdfg"], None), CcatErrorId.KubernetesTlsFailed);
        Assert.Contains(fx.Server.Uri.Host, e.Message);
    }

    [Fact]
    public async Task No_kubeconfig_anywhere_is_a_configuration_error()
    {
        await using var b = fx.Backend(Manual, kubeconfig: Path.Combine(fx.Directory, "does-not-exist"));
        await Fails(() => b.SubmitAsync(Sleep, None), CcatErrorId.InvalidConfiguration);
    }

    [Fact]
    public async Task A_dropped_connection_is_ConnectionFailed_and_the_next_call_works()
    {
        await using var b = fx.Backend(Manual);
        fx.Server.FailNext(new FailureRule { Code = 0, Verb = "list", Resource = "jobs" });
        await Fails(() => b.GetStatusesAsync(["abc-bcdfg"], None), CcatErrorId.KubernetesConnectionFailed);
        var r = await b.GetStatusesAsync(["abc-bcdfg"], None);
        Assert.Equal(CcatErrorId.JobNotFound, r.Single().Error!.ErrorId);
    }
}
