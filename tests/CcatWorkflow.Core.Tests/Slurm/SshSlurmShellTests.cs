using System.Text;
using CliWrap.Buffered;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Backends.Slurm.Ssh;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>The remote command text of the SSH transport, run here by a real sh (the login node runs the same text).</summary>
public sealed class SshSlurmShellTests
{
    // The login node's environment is given to this sh alone (never set in this process: tests
    // run in parallel and share its environment).
    private static async Task<byte[]> RunShAsync(string text, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var result = await CliWrap.Cli.Wrap("sh").WithArguments(["-c", text]).WithValidation(CliWrap.CommandResultValidation.None)
            .WithEnvironmentVariables(environment ?? new Dictionary<string, string?>())
            .ExecuteBufferedAsync(Encoding.Latin1);
        return Encoding.Latin1.GetBytes(result.StandardOutput);
    }

    [Fact]
    public async Task A_batch_returns_each_commands_exit_code_output_and_errors_byte_exact()
    {
        var commands = new[]
        {
            new SlurmCommandLine("printf", ["%s\\n%s", "Grüße 🚀", "@@ccat 9 9 9 9"], new Dictionary<string, string?>()),
            new SlurmCommandLine("sh", ["-c", "echo to-err >&2; printf 'no newline'; exit 3"], new Dictionary<string, string?>()),
            new SlurmCommandLine("sh", ["-c", "printf '%s|%s' \"$A\" \"${SQUEUE_FORMAT-unset}\""],
                new Dictionary<string, string?> { ["A"] = "it's $HOME `x`", ["B"] = null }),
        };
        var output = await RunShAsync(SshSlurmShell.BatchText(commands), new Dictionary<string, string?> { ["SQUEUE_FORMAT"] = "%i" });

        var results = SshSlurmShell.ParseBatch(output, 3, TimeSpan.Zero);
        Assert.NotNull(results);
        Assert.Equal(0, results![0].ExitCode);
        Assert.Equal("Grüße 🚀\n@@ccat 9 9 9 9", results[0].StandardOutput);
        Assert.Equal(3, results[1].ExitCode);
        Assert.Equal("no newline", results[1].StandardOutput);
        Assert.Equal("to-err\n", results[1].StandardError);
        Assert.Equal("it's $HOME `x`|unset", results[2].StandardOutput);
    }

    [Fact]
    public void Output_that_is_not_a_batch_is_refused()
    {
        Assert.Null(SshSlurmShell.ParseBatch(Encoding.ASCII.GetBytes("bash: mktemp: command not found\n"), 2, TimeSpan.Zero));
        Assert.Null(SshSlurmShell.ParseBatch(Encoding.ASCII.GetBytes("@@ccat 0 0 10 0\nshort"), 1, TimeSpan.Zero));
    }

    [Fact]
    public async Task One_command_quotes_every_word_and_applies_the_environment_changes()
    {
        var text = SshSlurmShell.CommandText(new SlurmCommandLine("printf", ["%s;", "a b", "$(id)", "'q'"],
            new Dictionary<string, string?> { ["SBATCH_JOB_NAME"] = null, ["SLURM_TIME_FORMAT"] = "%s" }));
        var leaked = new Dictionary<string, string?> { ["SBATCH_JOB_NAME"] = "leaked" };
        Assert.Equal("a b;$(id);'q';", Encoding.UTF8.GetString(await RunShAsync(text, leaked)));
        var env = Encoding.UTF8.GetString(await RunShAsync(SshSlurmShell.CommandText(new SlurmCommandLine("env", [],
            new Dictionary<string, string?> { ["SBATCH_JOB_NAME"] = null, ["SLURM_TIME_FORMAT"] = "%s" })), leaked));
        Assert.DoesNotContain("SBATCH_JOB_NAME", env, StringComparison.Ordinal);
        Assert.Contains("SLURM_TIME_FORMAT=%s\n", env, StringComparison.Ordinal);
    }
}
