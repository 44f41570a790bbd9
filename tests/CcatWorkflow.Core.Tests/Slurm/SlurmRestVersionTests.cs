using System.Net;
using System.Security.Cryptography;
using System.Text;
using CcatWorkflow.Core.Backends.Slurm.Rest;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>
/// API version negotiation with slurmrestd: the newest version the module speaks that the server
/// offers, and a server of Slurm 23.02+ (v0.0.39 and newer only, which cannot run here: its
/// answers are stood in for) gets an error of its own naming what it offers and what we speak.
/// </summary>
public sealed class SlurmRestVersionTests
{
    // The shape of slurmrestd's /openapi/v3 (22.05 escapes the slashes of its path keys).
    private static string Description(params string[] paths) =>
        "{\"openapi\":\"3.0.2\",\"paths\":{" + string.Join(",", paths.Select(p => "\"" + p.Replace("/", "\\/", StringComparison.Ordinal) + "\":{\"get\":{}}")) + "}}";

    private static readonly string Newer = Description(
        "/slurm/v0.0.40/jobs", "/slurm/v0.0.40/ping", "/slurm/v0.0.41/jobs", "/slurm/v0.0.39/jobs",
        "/slurmdb/v0.0.40/jobs", "/slurmdb/v0.0.41/jobs", "/openapi/v3");

    private sealed class StandInServer(Func<HttpRequestMessage, (HttpStatusCode, string)> answer) : HttpMessageHandler
    {
        public List<string> Paths { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Paths.Add(request.RequestUri!.AbsolutePath);
            var (status, body) = answer(request);
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body) });
        }
    }

    private static string Jwt()
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = B64(Encoding.UTF8.GetBytes("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = B64(Encoding.UTF8.GetBytes($"{{\"exp\":{now + 3600},\"iat\":{now},\"sun\":\"jdoe\"}}"));
        return $"{header}.{payload}.{B64(HMACSHA256.HashData(new byte[32], Encoding.ASCII.GetBytes(header + "." + payload)))}";
    }

    private static SlurmRestClient Client(StandInServer server) =>
        new(new SlurmRestSettings { BaseAddress = new Uri("http://127.0.0.1:6820/") }, new SlurmRestTokens(Jwt(), "", null), server);

    [Fact]
    public void The_description_lists_each_familys_versions_newest_first_by_number()
    {
        var offered = SlurmRestVersions.Offered(Description("/slurm/v0.0.9/ping", "/slurm/v0.0.38/ping", "/slurm/v0.0.40/ping", "/slurmdb/v0.0.36/jobs", "/openapi/v3"));
        Assert.Equal(["v0.0.40", "v0.0.38", "v0.0.9"], offered[SlurmRestFamily.Slurm]);
        Assert.Equal(["v0.0.36"], offered[SlurmRestFamily.SlurmDb]);
        Assert.Empty(SlurmRestVersions.Offered("Unable find requested URL."));
    }

    [Fact]
    public void The_newest_version_both_speak_is_chosen_and_none_when_the_server_is_newer()
    {
        Assert.Equal("v0.0.38", SlurmRestVersions.Choose(SlurmApi.Versions, ["v0.0.36", "v0.0.37", "v0.0.38"]));
        Assert.Equal("v0.0.37", SlurmRestVersions.Choose(SlurmApi.Versions, ["v0.0.35", "v0.0.37"]));
        Assert.Null(SlurmRestVersions.Choose(SlurmApi.Versions, SlurmRestVersions.Offered(Newer)[SlurmRestFamily.Slurm]));
    }

    [Fact]
    public async Task A_server_offering_only_v0_0_39_and_newer_gets_an_error_naming_what_it_offers_and_what_we_speak()
    {
        var server = new StandInServer(r => r.RequestUri!.AbsolutePath == "/" + SlurmRestVersions.OpenApiPath
            ? (HttpStatusCode.OK, Newer)
            : (HttpStatusCode.NotFound, "Unable find requested URL. Please view /openapi/v3 for API reference."));
        using var client = Client(server);

        var ex = await Assert.ThrowsAsync<CcatException>(() =>
            client.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "ping", null, SlurmRestJson.Context.PingResponse, CancellationToken.None));

        Assert.Equal(CcatErrorId.SlurmRestVersionUnsupported, ex.ErrorId);
        Assert.Equal(CcatErrorKind.InvalidOperation, ex.Kind);
        Assert.False(ex.IsUnavailable); // the server answered: it is not an outage to wait out
        Assert.Contains("slurm v0.0.41, v0.0.40, v0.0.39; slurmdb v0.0.41, v0.0.40", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(v0.0.38, v0.0.37, v0.0.36, Slurm 21.08–22.05)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SLURM_TRANSPORT=ssh or cli", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["/slurm/v0.0.38/ping", "/slurm/v0.0.37/ping", "/slurm/v0.0.36/ping", "/openapi/v3"], server.Paths);
        Assert.Null(client.VersionOf(SlurmRestFamily.Slurm));
    }
}
