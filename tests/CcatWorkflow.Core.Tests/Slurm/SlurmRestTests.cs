using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Backends.Slurm.Rest;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SlurmRestTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1796670000);

    // A token shaped like slurmctld's: HS256, claims exp/iat/sun.
    private static string Jwt(DateTimeOffset expires, string user = "jdoe", DateTimeOffset? issued = null)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = B64(Encoding.UTF8.GetBytes("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"));
        var payload = B64(Encoding.UTF8.GetBytes($"{{\"exp\":{expires.ToUnixTimeSeconds()},\"iat\":{(issued ?? expires.AddHours(-1)).ToUnixTimeSeconds()},\"sun\":\"{user}\"}}"));
        return $"{header}.{payload}.{B64(HMACSHA256.HashData(new byte[32], Encoding.ASCII.GetBytes(header + "." + payload)))}";
    }

    // ---------------------------------------------------------------- recorded shapes

    [Fact]
    public void A_recorded_controller_job_parses_with_its_unsigned_priority_and_raw_exit_status()
    {
        var response = JsonSerializer.Deserialize(RecordedOutput.Read("rest-slurm-job-exit3.json"), SlurmRestJson.Context.JobsResponse)!;
        var job = Assert.Single(response.Jobs!);
        Assert.Equal(4294901229L, job.Priority);
        Assert.Equal(768L, job.ExitCode);
        Assert.Null(job.Priority is null ? 0 : null); // parsed, not dropped
        Assert.Equal(new SlurmExitCode(3, 0), SlurmRestTransport.FromWaitStatus(job.ExitCode!.Value));

        var row = Assert.Single(SlurmRestTransport.ToSqueue(job, Now));
        Assert.Equal("5441", row.JobId);
        Assert.Equal("FAILED", row.State);
        Assert.Equal("/tmp/restprobe/w", row.WorkDir);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1796669833), row.Submit);
    }

    [Fact]
    public void Recorded_accounting_records_give_sacct_s_metrics_and_keep_the_22_05_exit_code_bug_visible()
    {
        var response = JsonSerializer.Deserialize(RecordedOutput.Read("rest-slurmdb-jobs.json"), SlurmRestJson.Context.DbJobsResponse)!;
        var jobs = response.Jobs!.SelectMany(SlurmRestTransport.ToSacct).ToDictionary(j => j.JobId);

        // The job exited 3 (sacct: FAILED 3:0); slurmdb says SUCCESS/0, which the transport corrects.
        Assert.Equal("FAILED", jobs["5441"].State);
        Assert.Equal(new SlurmExitCode(0, 0), jobs["5441"].ExitCode);

        // sacct for the same job: MaxRSS 311464K, TotalCPU 00:02.392, ElapsedRaw 8, AllocCPUS 1.
        var memory = jobs["5442"];
        Assert.Equal(311464L * 1024, memory.MaxRssBytes);
        Assert.Equal(2.392, memory.TotalCpu!.Value.TotalSeconds, 2);
        Assert.Equal(8L, memory.ElapsedSeconds);
        Assert.Equal(1, memory.AllocCpus);
        Assert.Equal(8L, memory.CpuTimeRawSeconds);
        Assert.Equal("ccat-workflow", memory.Comment);
        Assert.Equal("memprobe", memory.JobName);
        Assert.Equal("/tmp/restprobe/w", memory.WorkDir);
        Assert.Equal(1, memory.StepCount);
        Assert.Equal(new SlurmExitCode(0, 0), memory.ExitCode);
    }

    [Fact]
    public void Integers_are_64_bit_whatever_their_form_and_unknown_fields_are_ignored()
    {
        const string json = """
            {"jobs":[{"job_id":"77","priority":18446744073709551615,"exit_code":{"set":true,"infinite":false,"number":256},
              "submit_time":{"set":false,"number":0},"time_limit":{"set":true,"infinite":true,"number":0},
              "job_state":"RUNNING","brand_new_field":{"nested":[1,2,3]},"array_job_id":0}],
             "warnings":[],"errors":[],"meta":{"whatever":true}}
            """;
        var job = Assert.Single(JsonSerializer.Deserialize(json, SlurmRestJson.Context.JobsResponse)!.Jobs!);
        Assert.Equal(77L, job.JobId);
        Assert.Equal(long.MaxValue, job.Priority);
        Assert.Equal(256L, job.ExitCode);
        Assert.Null(job.SubmitTime);
        Assert.Equal("RUNNING", job.JobState);
    }

    [Fact]
    public void Accounting_integers_are_64_bit_in_every_form_without_a_per_property_converter()
    {
        const string json = """
            {"jobs":[{"job_id":"5443","name":"big","unknown_here":[{"x":1}],
              "time":{"elapsed":{"set":true,"infinite":false,"number":4294967296},"submission":1796669833,"start":"1796669834",
                      "end":{"set":false,"number":0},"total":{"seconds":18446744073709551615,"microseconds":7}},
              "array":{"job_id":0,"task_id":{"set":true,"infinite":true,"number":0}},
              "exit_code":{"status":"SIGNALED","return_code":null,"signal":{"signal_id":"9","name":"KILL"}},
              "tres":{"allocated":[{"type":"cpu","count":4294967297}]},
              "steps":[{"tres":{"requested":{"max":[{"type":"mem","count":"5000000000"}]}}}]}],
             "errors":[],"meta":{"plugin":{"type":"openapi/dbv0.0.38"}}}
            """;
        var job = Assert.Single(JsonSerializer.Deserialize(json, SlurmRestJson.Context.DbJobsResponse)!.Jobs!);
        Assert.Equal(5443L, job.JobId);
        Assert.Equal(4294967296L, job.Time!.Elapsed);
        Assert.Equal(1796669833L, job.Time.Submission);
        Assert.Equal(1796669834L, job.Time.Start);
        Assert.Null(job.Time.End);
        Assert.Equal(long.MaxValue, job.Time.Total!.Seconds);
        Assert.Equal(7L, job.Time.Total.Microseconds);
        Assert.Equal(0L, job.Array!.JobId);
        Assert.Null(job.Array.TaskId);
        Assert.Null(job.ExitCode!.ReturnCode);
        Assert.Equal(9L, job.ExitCode.Signal!.SignalId);
        Assert.Equal(4294967297L, Assert.Single(job.Tres!.Allocated!).Count);
        Assert.Equal(5_000_000_000L, Assert.Single(job.Steps![0].Tres!.Requested!.Max!).Count);
    }

    [Fact]
    public void Signals_and_pending_exit_codes_read_as_sacct_writes_them()
    {
        Assert.Equal(new SlurmExitCode(0, 9), SlurmRestTransport.ExitCodeOf(new SlurmDbApi.ExitCode { Status = "SIGNALED", Signal = new SlurmDbApi.Signal { SignalId = 9 } }));
        Assert.Null(SlurmRestTransport.ExitCodeOf(new SlurmDbApi.ExitCode { Status = "PENDING" }));
        Assert.Equal(new SlurmExitCode(0, 15), SlurmRestTransport.FromWaitStatus(15));
        Assert.Equal(new SlurmExitCode(0, 0), SlurmRestTransport.FromWaitStatus(0));
    }

    [Fact]
    public void A_cancelled_record_names_who_cancelled_it_as_sacct_does()
    {
        var job = new SlurmDbApi.DbJob { JobId = 9, State = new SlurmDbApi.JobState { Current = "CANCELLED" }, KillRequestUser = "root" };
        Assert.Equal("CANCELLED by root", Assert.Single(SlurmRestTransport.ToSacct(job)).State);
    }

    // ---------------------------------------------------------------- tokens

    [Fact]
    public void The_expiry_and_user_are_read_from_the_token_s_claims()
    {
        var jwt = SlurmJwt.TryRead(Jwt(Now.AddMinutes(10), "ccattest"))!;
        Assert.Equal(Now.AddMinutes(10), jwt.ExpiresAt);
        Assert.Equal("ccattest", jwt.User);
        Assert.True(jwt.IsUsableAt(Now, TimeSpan.FromSeconds(30)));
        Assert.False(jwt.IsUsableAt(Now.AddMinutes(10).AddSeconds(-10), TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.FromMinutes(5), jwt.RefreshMargin); // a tenth of 70 min, at most 5 min
        Assert.Null(SlurmJwt.TryRead("garbage"));
        Assert.Null(SlurmJwt.TryRead("a.!!!.c"));
    }

    [Fact]
    public async Task An_expired_configured_token_is_refused_before_any_request_without_showing_it()
    {
        var token = Jwt(Now.AddSeconds(-5));
        var tokens = new SlurmRestTokens(token, "", null, () => Now);
        var ex = await Assert.ThrowsAsync<CcatException>(() => tokens.GetAsync(CancellationToken.None));
        Assert.Equal(CcatErrorId.SlurmRestTokenExpired, ex.ErrorId);
        Assert.Equal(CcatErrorKind.AuthenticationError, ex.Kind);
        Assert.DoesNotContain(token, ex.Message, StringComparison.Ordinal);

        // About to expire is expired too: a request must not outlive its token.
        var soon = new SlurmRestTokens(Jwt(Now.AddSeconds(20)), "", null, () => Now);
        Assert.Equal(CcatErrorId.SlurmRestTokenExpired, (await Assert.ThrowsAsync<CcatException>(() => soon.GetAsync(CancellationToken.None))).ErrorId);
    }

    [Fact]
    public async Task A_configured_token_names_its_own_user_unless_SLURM_REST_USER_says_otherwise()
    {
        var token = Jwt(Now.AddHours(1), "ccattest");
        Assert.Equal("ccattest", (await new SlurmRestTokens(token, "", null, () => Now).GetAsync(CancellationToken.None)).User);
        Assert.Equal("other", (await new SlurmRestTokens(token, "other", null, () => Now).GetAsync(CancellationToken.None)).User);
        var notJwt = await Assert.ThrowsAsync<CcatException>(() => new SlurmRestTokens("not-a-jwt", "", null, () => Now).GetAsync(CancellationToken.None));
        Assert.Equal(CcatErrorId.SlurmRestAuthenticationFailed, notJwt.ErrorId);
    }

    [Fact]
    public async Task Tokens_from_scontrol_over_the_login_node_are_reused_and_renewed_before_they_expire()
    {
        var clock = Now;
        var issued = 0;
        var runner = new FakeSlurmRunner((program, args) =>
        {
            Assert.Equal("scontrol", program);
            Assert.Equal(["token", "lifespan=3600"], args);
            issued++;
            return FakeSlurmRunner.Ok($"SLURM_JWT={Jwt(clock.AddHours(1), "ccatssh", clock)}\n");
        });
        var tokens = new SlurmRestTokens("", "", new SlurmCommands(runner), () => clock);
        var first = await tokens.GetAsync(CancellationToken.None);
        Assert.Equal("ccatssh", first.User);
        clock = clock.AddMinutes(50);
        Assert.Equal(first.Token, (await tokens.GetAsync(CancellationToken.None)).Token);
        Assert.Equal(1, issued);
        clock = clock.AddMinutes(6); // within five minutes of the end: renewed
        Assert.NotEqual(first.Token, (await tokens.GetAsync(CancellationToken.None)).Token);
        Assert.Equal(2, issued);
    }

    [Fact]
    public async Task An_expired_configured_token_is_replaced_over_ssh_when_a_login_node_is_configured()
    {
        var runner = new FakeSlurmRunner((_, _) => FakeSlurmRunner.Ok($"SLURM_JWT={Jwt(Now.AddHours(1), "ccatssh", Now)}\n"));
        var tokens = new SlurmRestTokens(Jwt(Now.AddMinutes(-1)), "", new SlurmCommands(runner), () => Now);
        Assert.Equal("ccatssh", (await tokens.GetAsync(CancellationToken.None)).User);
        Assert.Equal(1, runner.CountOf("scontrol"));
    }

    [Fact]
    public void Scontrol_token_output_is_read_without_its_prefix()
    {
        Assert.Equal("eyJ.a.b", SlurmRestTokens.ParseTokenOutput("SLURM_JWT=eyJ.a.b\n"));
        Assert.Null(SlurmRestTokens.ParseTokenOutput("Error fetching token\n"));
    }

    // ---------------------------------------------------------------- requests

    private sealed class RecordedServer(Func<HttpRequestMessage, (HttpStatusCode, string)> answer) : HttpMessageHandler
    {
        public List<string> Paths { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Paths.Add(request.RequestUri!.PathAndQuery);
            var (status, body) = answer(request);
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body) });
        }
    }

    private static SlurmRestClient Client(RecordedServer server, string? token = null) =>
        new(new SlurmRestSettings { BaseAddress = new Uri("http://127.0.0.1:6820/") },
            new SlurmRestTokens(token ?? Jwt(DateTimeOffset.UtcNow.AddHours(1)), "", null), server);

    [Fact]
    public async Task The_newest_API_version_the_server_serves_is_found_once_and_kept()
    {
        var server = new RecordedServer(r => r.RequestUri!.AbsolutePath.StartsWith("/slurm/v0.0.38/", StringComparison.Ordinal)
            ? (HttpStatusCode.NotFound, "Unable find requested URL. Please view /openapi/v3 for API reference.")
            : (HttpStatusCode.OK, """{"errors":[],"pings":[{"hostname":"vm","ping":"UP"}]}"""));
        using var client = Client(server);
        var answer = await client.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "ping", null, SlurmRestJson.Context.PingResponse, CancellationToken.None);
        Assert.Equal("UP", Assert.Single(answer.Body!.Pings!).State);
        Assert.Equal("v0.0.37", client.VersionOf(SlurmRestFamily.Slurm));
        await client.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "ping", null, SlurmRestJson.Context.PingResponse, CancellationToken.None);
        Assert.Equal(["/slurm/v0.0.38/ping", "/slurm/v0.0.37/ping", "/slurm/v0.0.37/ping"], server.Paths);
    }

    [Fact]
    public async Task A_server_that_speaks_none_of_our_versions_is_an_error_of_its_own_not_an_outage()
    {
        var server = new RecordedServer(_ => (HttpStatusCode.NotFound, "Unable find requested URL."));
        using var client = Client(server);
        var ex = await Assert.ThrowsAsync<CcatException>(() => client.SendAsync(HttpMethod.Get, SlurmRestFamily.SlurmDb, "jobs", null, SlurmRestJson.Context.DbJobsResponse, CancellationToken.None));
        Assert.Equal(CcatErrorId.SlurmRestVersionUnsupported, ex.ErrorId);
        Assert.False(ex.IsUnavailable);
        // Our three versions, then the server's own description (which this one does not serve either).
        Assert.Equal(["/slurmdb/v0.0.38/jobs", "/slurmdb/v0.0.37/jobs", "/slurmdb/v0.0.36/jobs", "/" + SlurmRestVersions.OpenApiPath], server.Paths);
        Assert.Contains("does not say which it serves", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rest-slurmdb-bad-token.json", HttpStatusCode.OK, SlurmRestFamily.SlurmDb)]
    [InlineData("rest-slurm-ping-bad-token.json", HttpStatusCode.InternalServerError, SlurmRestFamily.Slurm)]
    public async Task A_refused_token_is_an_authentication_error_whatever_status_22_05_gives_it(string recorded, HttpStatusCode status, SlurmRestFamily family)
    {
        var token = Jwt(DateTimeOffset.UtcNow.AddHours(1));
        var server = new RecordedServer(_ => (status, RecordedOutput.Read(recorded)));
        using var client = Client(server, token);
        var ex = await Assert.ThrowsAsync<CcatException>(() => client.SendAsync(HttpMethod.Get, family, "jobs", null, SlurmRestJson.Context.DbJobsResponse, CancellationToken.None));
        Assert.Equal(CcatErrorId.SlurmRestAuthenticationFailed, ex.ErrorId);
        Assert.False(ex.IsUnavailable);
        Assert.DoesNotContain(token, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_401_is_an_authentication_error_and_a_400_a_rejected_request()
    {
        using var unauthorized = Client(new RecordedServer(_ => (HttpStatusCode.Unauthorized, "Authentication failure")));
        Assert.Equal(CcatErrorId.SlurmRestAuthenticationFailed, (await Assert.ThrowsAsync<CcatException>(() =>
            unauthorized.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "ping", null, SlurmRestJson.Context.PingResponse, CancellationToken.None))).ErrorId);
        using var bad = Client(new RecordedServer(_ => (HttpStatusCode.BadRequest, "Unable to parse query.")));
        var ex = await Assert.ThrowsAsync<CcatException>(() =>
            bad.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "ping", null, SlurmRestJson.Context.PingResponse, CancellationToken.None));
        Assert.Equal(CcatErrorId.SlurmRestRequestRejected, ex.ErrorId);
        Assert.Contains("Unable to parse query", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_error_that_is_not_about_the_token_means_could_not_be_asked()
    {
        using var client = Client(new RecordedServer(_ => (HttpStatusCode.InternalServerError,
            """{"errors":[{"error_number":1001,"error":"Unable to contact slurm controller (connect failure)"}],"jobs":[]}""")));
        var answer = await client.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "jobs", null, SlurmRestJson.Context.JobsResponse, CancellationToken.None);
        var ex = client.ServerError(answer, "list the controller's jobs");
        Assert.Equal(CcatErrorId.SlurmRestServerError, ex.ErrorId);
        Assert.True(ex.IsUnavailable);
        Assert.Contains("connect failure", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_listening_is_SlurmRestUnreachable()
    {
        using var client = new SlurmRestClient(new SlurmRestSettings { BaseAddress = new Uri("http://127.0.0.1:1/") },
            new SlurmRestTokens(Jwt(DateTimeOffset.UtcNow.AddHours(1)), "", null));
        var ex = await Assert.ThrowsAsync<CcatException>(() => client.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "ping", null, SlurmRestJson.Context.PingResponse, CancellationToken.None));
        Assert.Equal(CcatErrorId.SlurmRestUnreachable, ex.ErrorId);
        Assert.True(ex.IsUnavailable);
    }

    // ---------------------------------------------------------------- settings, submission

    [Theory]
    [InlineData("http://127.0.0.1:6820", "http://127.0.0.1:6820/", null)]
    [InlineData("https://slurm.example.org/api/", "https://slurm.example.org/api/", null)]
    [InlineData("unix:///run/slurmrestd/socket", "http://localhost/", "/run/slurmrestd/socket")]
    public void SLURM_REST_URL_is_an_http_address_or_a_unix_socket(string url, string address, string? socket)
    {
        var (uri, path) = SlurmRestSettings.ParseUrl(url);
        Assert.Equal(address, uri.ToString());
        Assert.Equal(socket, path);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://host")]
    [InlineData("unix:relative/socket")]
    [InlineData("http://user:secret@host:6820")]
    public void A_malformed_SLURM_REST_URL_is_invalid_configuration(string url) =>
        Assert.Equal(CcatErrorId.InvalidConfiguration, Assert.Throws<CcatException>(() => SlurmRestSettings.ParseUrl(url)).ErrorId);

    [Fact]
    public void The_script_s_options_become_job_properties_and_the_environment_is_PATH_and_the_secrets()
    {
        var p = SlurmRestJobProperties.From(
            ["--constraint=avx2", "--job-name=calib", "--comment=ccat-workflow", "--chdir=/jobs/a", "--output=/jobs/a/stdout_%a.log", "--error=/jobs/a/stderr_%a.log",
             "--array=0-9%2", "--dependency=afterok:12", "--kill-on-invalid-dep=yes", "--cpus-per-task=4", "--mem=1536M", "--time=1-01:00:00",
             "--gpus=1", "--partition=debug", "--account=ccat", "--qos=normal", "--export=ALL"],
            [new("TOKEN", "s3cret")]);
        Assert.Equal(("calib", "ccat-workflow", "/jobs/a"), (p.Name, p.Comment, p.CurrentWorkingDirectory));
        Assert.Equal(("/jobs/a/stdout_%a.log", "/jobs/a/stderr_%a.log", "0-9%2"), (p.StandardOutput, p.StandardError, p.Array));
        Assert.Equal(("afterok:12", true), (p.Dependency, p.KillOnInvalidDependency));
        Assert.Equal((4L, 1536L, 1500L), (p.CpusPerTask, p.MemoryPerNode, p.TimeLimit));
        Assert.Equal(("1", "debug", "ccat", "normal", "avx2"), (p.Gpus, p.Partition, p.Account, p.Qos, p.Constraints));
        Assert.Equal(SlurmRestJobProperties.JobPath, p.Environment["PATH"]);
        Assert.Equal("s3cret", p.Environment["TOKEN"]);
        Assert.Equal(2, p.Environment.Count);
        Assert.Equal(16384L, SlurmRestJobProperties.From(["--mem=16G"], []).MemoryPerNode);
        Assert.Equal(1L, SlurmRestJobProperties.From(["--time=00:00:36"], []).TimeLimit);
    }

    [Fact]
    public void An_option_without_a_job_property_is_refused_naming_it()
    {
        var ex = Assert.Throws<CcatException>(() => SlurmRestJobProperties.From(["--sockets-per-node=2"], []));
        Assert.Equal(CcatErrorId.InvalidConfiguration, ex.ErrorId);
        Assert.Contains("--sockets-per-node=2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_submitted_json_names_properties_as_slurmrestd_does_and_leaves_unset_ones_out()
    {
        var json = JsonSerializer.Serialize(new SlurmApi.SubmitRequest
        {
            Script = "#!/bin/sh\n",
            Job = SlurmRestJobProperties.From(["--chdir=/jobs/a", "--mem=100M", "--kill-on-invalid-dep=yes"], []),
        }, SlurmRestJson.Context.SubmitRequest);
        using var doc = JsonDocument.Parse(json);
        var job = doc.RootElement.GetProperty("job");
        Assert.Equal("/jobs/a", job.GetProperty("current_working_directory").GetString());
        Assert.Equal(100, job.GetProperty("memory_per_node").GetInt64());
        Assert.True(job.GetProperty("kill_on_invalid_dependency").GetBoolean());
        Assert.Equal(JsonValueKind.Object, job.GetProperty("environment").ValueKind);
        Assert.False(job.TryGetProperty("name", out _));
    }

    [Fact]
    public void The_launcher_runs_the_folder_s_script_and_keeps_its_exit_status_there()
    {
        var launcher = SlurmRestLauncher.Build("/jobs/it's here");
        Assert.Contains("/bin/sh '/jobs/it'\\''s here/job.sbatch'\n", launcher, StringComparison.Ordinal);
        Assert.Contains("> '/jobs/it'\\''s here/exit_code'\"${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}\"", launcher, StringComparison.Ordinal);
        Assert.EndsWith("exit \"$rc\"\n", launcher, StringComparison.Ordinal);
        Assert.Equal("exit_code_7", SlurmRestLauncher.ExitFileOf(7));
        Assert.Equal(3, SlurmRestLauncher.ParseExitFile("3\n"));
        Assert.Null(SlurmRestLauncher.ParseExitFile("x"));
        Assert.Null(SlurmRestLauncher.ParseExitFile(null));
    }

    [Fact]
    public void Output_patterns_the_controller_returns_unexpanded_are_expanded_as_sbatch_does()
    {
        var job = new SlurmApi.Job { JobId = 12, ArrayJobId = 10, ArrayTaskId = 2, Name = "n", UserName = "u" };
        Assert.Equal("/w/slurm-10_2-12-n-u-%.out", SlurmFilePattern.Expand("/w/slurm-%A_%a-%j-%x-%u-%%.out", job));
    }
}
