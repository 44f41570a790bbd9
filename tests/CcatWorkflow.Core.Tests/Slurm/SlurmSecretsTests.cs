using System.Collections;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>Secret variables on Slurm: in sbatch's process environment only; the job folder is private.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SlurmSecretsTests : IDisposable
{
    private const string SecretValue = "s3cr3t-'value'-\"$HOME\"";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ccat-slurm-secret-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static JobSubmission Submission(IDictionary? secrets = null) => new()
    {
        ExecutionCommand = "echo $DB_PASSWORD",
        Environment = JobSubmission.ValidateEnvironment(new Hashtable { ["PLAIN"] = "visible" }),
        SecretEnvironment = JobSubmission.ValidateEnvironment(secrets ?? new Hashtable { ["DB_PASSWORD"] = SecretValue }),
        JobName = "secret",
    };

    private static SlurmOptions Options(params string[] extra) =>
        SlurmOptions.Normalized(new SlurmOptions { JobDirectory = "/shared/ccat/.ccat-slurm", ExtraDirectives = extra });

    [Fact]
    public async Task A_secret_goes_to_sbatchs_environment_and_into_no_file_of_the_job_folder()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok("4711\n"));
        var backend = new SlurmBackend(new SlurmOptions { JobDirectory = _root }, runner);
        await backend.SubmitAsync(Submission(), CancellationToken.None);

        var call = Assert.Single(runner.Calls);
        Assert.Equal(SecretValue, call.Options!.Environment!["DB_PASSWORD"]);
        Assert.DoesNotContain(call.Arguments, a => a.Contains("s3cr3t", StringComparison.Ordinal));
        var folder = new SlurmJobDirectory(_root).Find("4711")!;
        foreach (var file in Directory.GetFiles(folder.Path))
        {
            Assert.DoesNotContain("s3cr3t", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        }

        var script = await File.ReadAllTextAsync(folder.ScriptPath);
        Assert.Contains("#   DB_PASSWORD=<secret>\n", script, StringComparison.Ordinal);
        Assert.Contains("export PLAIN=visible\n", script, StringComparison.Ordinal);
        Assert.Equal(["DB_PASSWORD"], SlurmJobDirectory.ReadMetadata(folder)!.SecretEnvironmentNames);
    }

    [Fact]
    public async Task The_job_folder_is_0700_and_its_files_0600_the_logs_included()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok("4712\n"));
        var backend = new SlurmBackend(new SlurmOptions { JobDirectory = _root }, runner);
        await backend.SubmitAsync(Submission(), CancellationToken.None);

        var folder = new SlurmJobDirectory(_root).Find("4712")!;
        Assert.Equal(SlurmJobDirectory.PrivateFolder, File.GetUnixFileMode(_root));
        Assert.Equal(SlurmJobDirectory.PrivateFolder, File.GetUnixFileMode(folder.Path));
        var files = Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["job.json", "job.sbatch", "stderr.log", "stdout.log"], files);
        foreach (var file in Directory.GetFiles(folder.Path))
        {
            Assert.Equal(SlurmJobDirectory.PrivateFile, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public void WhatIf_shows_the_secrets_name_never_its_value()
    {
        var text = new SlurmBackend(new SlurmOptions { JobDirectory = _root }, new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok("1\n")))
            .DescribeSubmission(Submission());
        Assert.Contains("DB_PASSWORD=<secret>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, "--export=ALL")]
    [InlineData("--export=ALL,FOO=1", null, "--export=ALL,FOO=1")]
    [InlineData("--export=NONE", null, "--export=DB_PASSWORD")]
    [InlineData(null, "NONE", "--export=DB_PASSWORD")]
    [InlineData(null, "HOME,PATH", "--export=HOME,PATH,DB_PASSWORD")]
    [InlineData("--export=PATH", "ALL", "--export=ALL")]
    [InlineData("--export=PATH", null, "--export=PATH,DB_PASSWORD")]
    public void The_export_option_keeps_the_sites_choice_and_lets_the_secret_through(string? directive, string? variable, string expected)
    {
        var options = directive is null ? Options() : Options(directive);
        Assert.Equal(expected, SbatchScriptBuilder.ExportOption(Submission(), options, variable));
    }

    [Fact]
    public void Without_secrets_no_export_option_is_added()
    {
        var plain = Submission() with { SecretEnvironment = [] };
        Assert.Null(SbatchScriptBuilder.ExportOption(plain, Options("--export=NONE"), null));
        Assert.DoesNotContain(SbatchScriptBuilder.Directives(plain, Options(), "/x"), d => d.StartsWith("--export", StringComparison.Ordinal));
    }

    [Fact]
    public void The_export_option_overrides_SBATCH_EXPORT_which_sbatch_would_rank_above_it()
    {
        var env = SlurmCommands.SubmitEnvironment(SbatchScriptBuilder.Directives(Submission(), Options(), "/x"), Submission().SecretEnvironment);
        Assert.True(env.ContainsKey("SBATCH_EXPORT"));
        Assert.Null(env["SBATCH_EXPORT"]);
        Assert.Equal(SecretValue, env["DB_PASSWORD"]);
    }

    [Fact]
    public void A_secret_name_sbatch_cannot_carry_is_refused()
    {
        var bad = Submission(new Hashtable { ["A,B"] = "x" });
        var ex = Assert.Throws<CcatException>(() => SbatchScriptBuilder.Build(bad, Options(), "/x"));
        Assert.Equal(CcatErrorId.InvalidEnvironmentVariable, ex.ErrorId);
    }
}
