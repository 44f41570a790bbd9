using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Backends.Slurm.Ssh;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>Per-job scheduler options (-Partition, -Account, -Qos, -SchedulerOption) and the bastion setting.</summary>
public sealed class SlurmJobOptionsTests
{
    private static readonly SlurmOptions Site = SlurmOptions.Normalized(new SlurmOptions
    {
        JobDirectory = "/shared/jobs",
        Partition = "batch",
        Account = "site",
        Qos = "normal",
        ExtraDirectives = ["--constraint=avx2"],
    });

    // The same value as a setting (the settings' one rule, checked when they load).
    private static CcatException SettingError(string name, string value) => Assert.Throws<CcatException>(() =>
        Core.Configuration.SettingsLoader.Load(new Dictionary<string, string>
        {
            ["HOME"] = "/nonexistent", ["XDG_CONFIG_HOME"] = "/nonexistent", [Core.Configuration.SettingsSchema.EnvPrefix + name] = value,
        }, "/nonexistent"));

    private static JobSubmission Job(JobSchedulerOptions options) => new() { ExecutionCommand = "true", SchedulerOptions = options };

    [Fact]
    public void Each_option_overrides_its_setting_for_the_job_and_directives_follow_the_sites()
    {
        var o = Site.ForJob(new JobSchedulerOptions { Partition = "gpu", Qos = "high", Directives = ["#SBATCH --nice=7", "  ", "--exclusive"] });
        Assert.Equal("gpu", o.Partition);
        Assert.Equal("site", o.Account);
        Assert.Equal("high", o.Qos);
        Assert.Equal(["--constraint=avx2", "--nice=7", "--exclusive"], o.ExtraDirectives);

        var script = SbatchScriptBuilder.Build(Job(JobSchedulerOptions.None), o, "/shared/jobs/x");
        Assert.Contains("#SBATCH --partition=gpu\n", script, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --account=site\n", script, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --qos=high\n", script, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --nice=7\n", script, StringComparison.Ordinal);
        // The module's own lines come after the extras, so they win where they overlap.
        Assert.True(script.IndexOf("--nice=7", StringComparison.Ordinal) < script.IndexOf("--job-name=", StringComparison.Ordinal));
    }

    [Fact]
    public void No_option_keeps_the_settings()
    {
        var o = Site.ForJob(JobSchedulerOptions.None);
        Assert.Equal((Site.Partition, Site.Account, Site.Qos), (o.Partition, o.Account, o.Qos));
        Assert.Equal(Site.ExtraDirectives, o.ExtraDirectives);
    }

    [Theory]
    [InlineData("Partition", "gpu queue")]
    [InlineData("Account", "a'b")]
    [InlineData("Qos", "x;y")]
    public void A_name_the_settings_would_refuse_is_InvalidSubmission_naming_the_parameter(string parameter, string value)
    {
        var options = parameter switch
        {
            "Partition" => new JobSchedulerOptions { Partition = value },
            "Account" => new JobSchedulerOptions { Account = value },
            _ => new JobSchedulerOptions { Qos = value },
        };
        var ex = Assert.Throws<CcatException>(() => Site.ForJob(options));
        Assert.Equal(CcatErrorId.InvalidSubmission, ex.ErrorId);
        Assert.StartsWith($"-{parameter} is '{value}'; it may hold only letters, digits", ex.Message, StringComparison.Ordinal);

        // The same value as a setting: the same rule, as a configuration error.
        Assert.Equal(CcatErrorId.InvalidConfiguration, SettingError("SLURM_" + parameter.ToUpperInvariant(), value).ErrorId);
    }

    [Theory]
    [InlineData("constraint=avx2")]
    [InlineData("--nice=1\n#SBATCH --wrap=rm")]
    public void A_directive_that_is_not_one_option_on_one_line_is_refused_like_the_setting(string directive)
    {
        var ex = Assert.Throws<CcatException>(() => Site.ForJob(new JobSchedulerOptions { Directives = [directive] }));
        Assert.Equal(CcatErrorId.InvalidSubmission, ex.ErrorId);
        Assert.Contains("-SchedulerOption holds", ex.Message, StringComparison.Ordinal);
        Assert.Equal(CcatErrorId.InvalidConfiguration,
            SettingError("SLURM_EXTRA_DIRECTIVES", "@json " + System.Text.Json.JsonSerializer.Serialize(new[] { directive })).ErrorId);
    }

    [Fact]
    public void An_empty_value_or_a_newline_is_refused_before_any_backend_sees_it()
    {
        foreach (var o in new[] { new JobSchedulerOptions { Partition = " " }, new JobSchedulerOptions { Namespace = "a\nb" }, new JobSchedulerOptions { Account = "" } })
        {
            Assert.Equal(CcatErrorId.InvalidSubmission, Assert.Throws<CcatException>(() => Job(o).Validate()).ErrorId);
        }
    }

    [Fact]
    public void A_backend_that_cannot_use_an_option_refuses_the_submission_instead_of_ignoring_it()
    {
        var slurm = new SlurmBackend(Site, new FakeSlurmRunner((_, _) => FakeSlurmRunner.Ok("1\n")));
        var ex = Assert.Throws<CcatException>(() => slurm.EnsureSupported(Job(new JobSchedulerOptions { Namespace = "team-a" })));
        Assert.Equal(CcatErrorId.NotSupportedOnBackend, ex.ErrorId);
        Assert.Contains("-Namespace is an option of Kubernetes jobs", ex.Message, StringComparison.Ordinal);
        slurm.EnsureSupported(Job(new JobSchedulerOptions { Partition = "gpu", Account = "a", Qos = "q", Directives = ["--nice=1"] }));

        Assert.Equal(["Partition", "Account", "Qos", "SchedulerOption", "Namespace"],
            new JobSchedulerOptions { Partition = "p", Account = "a", Qos = "q", Directives = ["--x"], Namespace = "n" }.Given);
    }

    [Fact]
    public async Task The_submission_records_the_jobs_own_options_next_to_its_script()
    {
        var root = Path.Combine(Path.GetTempPath(), $"ccat-slurm-options-{Guid.NewGuid():N}");
        try
        {
            var runner = new FakeSlurmRunner((_, _) => FakeSlurmRunner.Ok("77\n"));
            var backend = new SlurmBackend(Site with { JobDirectory = root }, runner);
            var id = await backend.SubmitAsync(Job(new JobSchedulerOptions { Partition = "gpu", Directives = ["--nice=3"] }), CancellationToken.None);
            var meta = SlurmJobDirectory.ReadMetadata(new SlurmJobDirectory(root).Find(id)!)!;
            Assert.Equal("gpu", meta.Partition);
            Assert.Equal("site", meta.Account);
            Assert.Equal("normal", meta.Qos);
            Assert.Equal(["--nice=3"], meta.SchedulerOptions);
            var call = Assert.Single(runner.Calls);
            Assert.Contains("#SBATCH --partition=gpu\n", await File.ReadAllTextAsync(call.Arguments[1]), StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static readonly SshSettings Login = new() { Host = "login.example", Port = 2200, User = "me", KeyFile = "/k", KnownHostsFile = "/kh" };

    [Theory]
    [InlineData("bastion", "me", "bastion", 22)]
    [InlineData("jump@bastion:2022", "jump", "bastion", 2022)]
    [InlineData("ops@[::1]:2222", "ops", "::1", 2222)]
    [InlineData("10.0.0.1:22", "me", "10.0.0.1", 22)]
    public void A_bastion_is_user_at_host_colon_port_with_the_login_nodes_key_and_known_hosts(string text, string user, string host, int port)
    {
        var jump = SshSettings.ParseJump(text, Login);
        Assert.Equal((user, host, port), (jump.User, jump.Host, jump.Port));
        Assert.Equal(("/k", "/kh"), (jump.KeyFile, jump.KnownHostsFile));
        Assert.Null(jump.Jump);
    }

    [Theory]
    [InlineData("a,b")]
    [InlineData("bastion:0")]
    [InlineData("bastion:x")]
    [InlineData("@bastion")]
    [InlineData("ssh://bastion")]
    [InlineData("[::1")]
    public void A_bastion_setting_that_is_not_one_host_is_InvalidConfiguration(string text)
    {
        var ex = Assert.Throws<CcatException>(() => SshSettings.ParseJump(text, Login));
        Assert.Equal(CcatErrorId.InvalidConfiguration, ex.ErrorId);
        Assert.Contains("SLURM_SSH_PROXY_JUMP", ex.Message, StringComparison.Ordinal);
    }
}
