using System.Collections;
using System.Diagnostics;
using System.Text;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SbatchScriptBuilderTests
{
    private static readonly SlurmOptions Options = SlurmOptions.Normalized(new SlurmOptions { JobDirectory = "/shared/ccat/.ccat-slurm" });
    private const string Folder = "/shared/ccat/.ccat-slurm/20261126T010000Z-0123456789";

    private static JobSubmission Submission(string command = "echo hi", IDictionary? resources = null, IDictionary? env = null, string name = "ccat-job") => new()
    {
        ExecutionCommand = command,
        Resources = ResourceRequirements.FromDictionary(resources),
        Environment = JobSubmission.ValidateEnvironment(env),
        JobName = name,
    };

    private static List<string> DirectiveLines(string script) =>
        script.Split('\n').Where(l => l.StartsWith("#SBATCH ", StringComparison.Ordinal)).Select(l => l["#SBATCH ".Length..]).ToList();

    [Fact]
    public void Exports_WORKFLOW_OUTPUT_DIR_like_every_backend_when_an_output_directory_is_bound()
    {
        var script = SbatchScriptBuilder.Build(Submission() with { OutputDir = "/data/out", SifPath = "/s/x.sif" }, Options, Folder);
        Assert.Contains("export WORKFLOW_OUTPUT_DIR=/workflow/output\n", script, StringComparison.Ordinal);
        var plain = SbatchScriptBuilder.Build(Submission() with { OutputDir = "/data/out" }, Options, Folder);
        Assert.Contains("export WORKFLOW_OUTPUT_DIR=/data/out\n", plain, StringComparison.Ordinal); // no container: the host path
        Assert.DoesNotContain("WORKFLOW_OUTPUT_DIR", SbatchScriptBuilder.Build(Submission(), Options, Folder), StringComparison.Ordinal);
    }

    [Fact]
    public void A_working_directory_is_entered_before_the_command_and_the_job_folder_stays_its_chdir()
    {
        var script = SbatchScriptBuilder.Build(Submission() with { WorkingDirectory = "/data/my dir" }, Options, Folder);
        var cd = script.IndexOf("cd -- '/data/my dir' || exit 1\n", StringComparison.Ordinal);
        Assert.True(cd > 0, script);
        Assert.True(cd < script.IndexOf("exec ", StringComparison.Ordinal), script);
        Assert.Contains("--chdir=" + Folder, DirectiveLines(script));
        Assert.DoesNotContain("cd --", SbatchScriptBuilder.Build(Submission(), Options, Folder), StringComparison.Ordinal);
    }

    [Fact]
    public void Maps_the_seed_resources()
    {
        var script = SbatchScriptBuilder.Build(Submission(resources: new Hashtable { ["cpu"] = 4, ["memory_gb"] = 16, ["time_hours"] = 2 }), Options, Folder);
        var lines = DirectiveLines(script);
        Assert.Contains("--cpus-per-task=4", lines);
        Assert.Contains("--mem=16G", lines);
        Assert.Contains("--time=02:00:00", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("--partition", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("--gpus", StringComparison.Ordinal));
    }

    [Fact]
    public void Long_fractional_and_gpu_requests()
    {
        var lines = DirectiveLines(SbatchScriptBuilder.Build(
            Submission(resources: new Hashtable { ["memory_gb"] = 0.5, ["time_hours"] = 36.5, ["gpu"] = 2 }), Options, Folder));
        Assert.Contains("--mem=512M", lines);
        Assert.Contains("--time=1-12:30:00", lines);
        Assert.Contains("--gpus=2", lines);
        var gres = Options with { GpuDirective = SlurmGpuDirective.Gres };
        Assert.Contains("--gres=gpu:2", DirectiveLines(SbatchScriptBuilder.Build(Submission(resources: new Hashtable { ["gpu"] = 2 }), gres, Folder)));
    }

    [Fact]
    public void Logs_tag_working_directory_and_settings()
    {
        var o = SlurmOptions.Normalized(Options with
        {
            Partition = "science", Account = "ccat", Qos = "high", ExtraDirectives = ["--constraint=avx2", "#SBATCH --time=08:00:00"],
        });
        var script = SbatchScriptBuilder.Build(Submission(resources: new Hashtable { ["time_hours"] = 1 }), o, Folder);
        Assert.StartsWith("#!/bin/sh\n", script, StringComparison.Ordinal);
        var lines = DirectiveLines(script);
        Assert.Equal("--constraint=avx2", lines[0]);
        Assert.Equal("--time=08:00:00", lines[1]);
        Assert.Contains("--comment=ccat-workflow", lines);
        Assert.Contains("--chdir=" + Folder, lines);
        Assert.Contains("--output=" + Folder + "/stdout.log", lines);
        Assert.Contains("--error=" + Folder + "/stderr.log", lines);
        Assert.Contains("--partition=science", lines);
        Assert.Contains("--account=ccat", lines);
        Assert.Contains("--qos=high", lines);
        // the job's own time request comes after the site default, so it wins
        Assert.True(lines.IndexOf("--time=01:00:00") > lines.IndexOf("--time=08:00:00"));
    }

    [Theory]
    [InlineData("ccat-job", "ccat-job")]
    [InlineData("my job; rm -rf /", "my_job__rm_-rf__")]
    [InlineData("Grüße\n#SBATCH --mem=1T", "Gr__e__SBATCH_--mem_1T")]
    [InlineData("   ", "ccat-job")]
    [InlineData("a.b_c-1", "a.b_c-1")]
    public void Job_names_are_sanitised(string given, string expected) => Assert.Equal(expected, SbatchScriptBuilder.SanitizeJobName(given));

    [Fact]
    public void Long_names_are_cut()
    {
        Assert.Equal(SbatchScriptBuilder.MaxJobNameLength, SbatchScriptBuilder.SanitizeJobName(new string('x', 500)).Length);
    }

    [Fact]
    public void Command_runs_through_sh_c_as_one_quoted_word()
    {
        var script = SbatchScriptBuilder.Build(Submission("echo $HOME; exit 3"), Options, Folder);
        Assert.EndsWith("exec /bin/sh -c 'echo $HOME; exit 3'\n", script, StringComparison.Ordinal);
    }

    public static TheoryData<string> HostileValues => new()
    {
        "it's \"quoted\"",
        "$HOME $(id -u) ${X:-y} $((1+2))",
        "`uname` and `echo hi`",
        "back\\slash \\n \\\\ \\'",
        "line1\nline2\n\n",
        "unicode: Grüße, 日本語, emoji 🚀",
        "dos\r\nline\r\nbreaks\r",
        "",
        "   spaces around  ",
        "tab\there",
        "'",
        "*?[a-z] ~ #not a comment",
        "a;b|c&d>e<f; exit 99",
        "-n",
        "'\\''\"'\"",
    };

    [Theory]
    [MemberData(nameof(HostileValues))]
    public async Task Hostile_environment_values_arrive_exactly(string value)
    {
        // HOSTILE goes through "export NAME=<word>"; UID (read-only in bash) through "env -- <word>".
        var env = new System.Collections.Specialized.OrderedDictionary { ["HOSTILE"] = value, ["UID"] = value };
        var script = SbatchScriptBuilder.Build(Submission("printenv HOSTILE; printf '%s' '--'; printenv UID", env: env), Options, Folder);
        Assert.DoesNotContain("\r\n", script, StringComparison.Ordinal); // sbatch refuses DOS line breaks anywhere
        var output = await RunScript(script);
        Assert.Equal(value + "\n--" + value + "\n", output);
    }

    [Fact]
    public void Names_that_are_not_shell_identifiers_are_set_with_env_as_quoted_words()
    {
        // /bin/sh (dash) does not pass such names on to the command's children; bash does. The
        // script still sets them exactly, without ever pasting the name into the script as code.
        var env = new System.Collections.Specialized.OrderedDictionary { ["odd-name.x"] = "v", ["X; rm -rf /"] = "it's" };
        var script = SbatchScriptBuilder.Build(Submission("true", env: env), Options, Folder);
        var expected = "exec env -- \\\n  " + SbatchScriptBuilder.Word("odd-name.x=v") + " \\\n  'X; rm -rf /=it'\\''s' \\\n  /bin/sh -c true\n";
        Assert.Contains(expected, script, StringComparison.Ordinal);
        Assert.DoesNotContain("export X", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostile_command_text_runs_as_given()
    {
        var command = "printf '%s|' \"it's\" '$HOME' \"`echo tick`\" 'a\\b' \"$(printf 'x\\ny')\"; echo";
        var output = await RunScript(SbatchScriptBuilder.Build(Submission(command), Options, Folder));
        Assert.Equal("it's|$HOME|tick|a\\b|x\ny|\n", output);
    }

    [Fact]
    public async Task Exit_code_of_the_command_is_the_script_exit_code()
    {
        var (code, _) = await RunScriptWithCode(SbatchScriptBuilder.Build(Submission("exit 3"), Options, Folder));
        Assert.Equal(3, code);
    }

    [Fact]
    public void Word_never_contains_crlf_and_plain_words_stay_plain()
    {
        Assert.Equal("abc", SbatchScriptBuilder.Word("abc"));
        Assert.Equal("''", SbatchScriptBuilder.Word(""));
        Assert.DoesNotContain("\r", SbatchScriptBuilder.Word("a\r\nb"), StringComparison.Ordinal);
    }

    private static async Task<string> RunScript(string script) => (await RunScriptWithCode(script)).Output;

    private static async Task<(int Code, string Output)> RunScriptWithCode(string script)
    {
        var path = Path.Combine(Path.GetTempPath(), $"ccat-sbatch-test-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(path, script, new UTF8Encoding(false));
        try
        {
            var psi = new ProcessStartInfo("/bin/sh", [path])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                StandardOutputEncoding = new UTF8Encoding(false),
            };
            using var p = Process.Start(psi)!;
            var output = await p.StandardOutput.ReadToEndAsync();
            var error = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(error.Length == 0, "stderr: " + error);
            return (p.ExitCode, output);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
