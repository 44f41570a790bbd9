using System.Collections;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Contract;

public class JobSubmissionTests
{
    [Theory]
    [InlineData("", "empty name")]
    [InlineData("  ", "empty name")]
    [InlineData("A=B", "contains '='")]
    [InlineData("A\0B", "NUL")]
    public void Bad_environment_variable_names_are_refused(string name, string expected)
    {
        var ex = Assert.Throws<CcatException>(() => JobSubmission.ValidateEnvironment(new Hashtable { [name] = "x" }));
        Assert.Equal(CcatErrorId.InvalidEnvironmentVariable, ex.ErrorId);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void A_NUL_in_a_value_is_refused_naming_the_variable()
    {
        var ex = Assert.Throws<CcatException>(() => JobSubmission.ValidateEnvironment(new Hashtable { ["FOO"] = "a\0b" }));
        Assert.Contains("'FOO'", ex.Message);
    }

    [Fact]
    public void Values_pass_through_exactly_and_names_keep_their_case()
    {
        var hostile = "it's $HOME `date` \\n \n ünïcødé \"q\"";
        var env = JobSubmission.ValidateEnvironment(new Dictionary<string, string> { ["foo"] = hostile, ["FOO"] = "2", ["my-var"] = "" });
        Assert.Equal(3, env.Count);
        Assert.Equal(hostile, env.Single(kv => kv.Key == "foo").Value);
        Assert.Equal("2", env.Single(kv => kv.Key == "FOO").Value);
        Assert.Equal("", env.Single(kv => kv.Key == "my-var").Value);
    }

    [Theory]
    [InlineData("", "ok", "execution command is empty")]
    [InlineData("   ", "ok", "execution command is empty")]
    [InlineData("echo\0", "ok", "NUL")]
    [InlineData("true", " ", "job name is empty")]
    [InlineData("true", "a\nb", "no control characters")]
    public void Incomplete_submissions_are_refused(string command, string name, string expected)
    {
        var s = new JobSubmission { ExecutionCommand = command, JobName = name };
        var ex = Assert.Throws<CcatException>(s.Validate);
        Assert.Equal(CcatErrorId.InvalidSubmission, ex.ErrorId);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void A_path_with_a_newline_is_refused()
    {
        var s = new JobSubmission { ExecutionCommand = "true", OutputDir = "/tmp/a\nb" };
        Assert.Equal(CcatErrorId.InvalidSubmission, Assert.Throws<CcatException>(s.Validate).ErrorId);
    }

    [Theory]
    [InlineData("/s.sif", null, "/o", null, "/workflow/output")]
    [InlineData("/s.sif", null, null, "/w", "/workflow/workspace")]
    [InlineData(null, "docker://x/y:1", "/o", "/w", "/workflow/output")]
    [InlineData("/s.sif", null, null, null, null)]
    public void In_the_container_WORKFLOW_OUTPUT_DIR_is_the_contract_mount(string? sif, string? image, string? output, string? workspace, string? expected)
    {
        var s = new JobSubmission { ExecutionCommand = "true", SifPath = sif, ImageRef = image, OutputDir = output, WorkspaceDir = workspace, Environment = [new("A", "1")] };
        var env = s.EffectiveEnvironment;
        Assert.Equal("1", env.Single(kv => kv.Key == "A").Value);
        Assert.Equal(expected, env.SingleOrDefault(kv => kv.Key == "WORKFLOW_OUTPUT_DIR").Value);
    }

    [Theory]
    [InlineData("/data/out", null, "/data/out")]
    [InlineData(null, "/data/ws", "/data/ws")]
    [InlineData("/data/out", "/data/ws", "/data/out")]
    [InlineData(null, null, null)]
    public void Outside_a_container_WORKFLOW_OUTPUT_DIR_is_the_host_directory_the_command_can_write(string? output, string? workspace, string? expected)
    {
        var s = new JobSubmission { ExecutionCommand = "true", OutputDir = output, WorkspaceDir = workspace };
        Assert.False(s.RunsInContainer);
        Assert.Equal(expected, s.EffectiveEnvironment.SingleOrDefault(kv => kv.Key == "WORKFLOW_OUTPUT_DIR").Value);
    }

    [Theory]
    [InlineData("relative/dir")]
    [InlineData("/tmp/a\nb")]
    [InlineData("")]
    public void A_working_directory_that_is_not_an_absolute_usable_path_is_refused(string dir)
    {
        var s = new JobSubmission { ExecutionCommand = "true", WorkingDirectory = dir.Replace("\\n", "\n") };
        Assert.Equal(CcatErrorId.InvalidSubmission, Assert.Throws<CcatException>(s.Validate).ErrorId);
    }

    [Fact]
    public void A_WORKFLOW_OUTPUT_DIR_the_caller_set_is_kept()
    {
        var s = new JobSubmission { ExecutionCommand = "true", OutputDir = "/o", Environment = [new("WORKFLOW_OUTPUT_DIR", "/mine")] };
        Assert.Equal("/mine", s.EffectiveEnvironment.Single(kv => kv.Key == "WORKFLOW_OUTPUT_DIR").Value);
    }

    [Fact]
    public void A_name_both_plain_and_secret_is_refused()
    {
        var s = new JobSubmission { ExecutionCommand = "true", Environment = [new("A", "1")], SecretEnvironment = [new("A", "2")] };
        var ex = Assert.Throws<CcatException>(s.Validate);
        Assert.Equal(CcatErrorId.InvalidEnvironmentVariable, ex.ErrorId);
        Assert.Contains("'A'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_SecureString_value_is_read_as_its_text()
    {
        using var secure = new System.Security.SecureString();
        foreach (var c in "pa55") secure.AppendChar(c);
        var env = JobSubmission.ValidateEnvironment(new Hashtable { ["PW"] = secure });
        Assert.Equal("pa55", env.Single().Value);
    }

    [Fact]
    public void A_secret_WORKFLOW_OUTPUT_DIR_is_not_overridden_by_the_default()
    {
        var s = new JobSubmission { ExecutionCommand = "true", OutputDir = "/o", SecretEnvironment = [new("WORKFLOW_OUTPUT_DIR", "/mine")] };
        Assert.DoesNotContain(s.EffectiveEnvironment, kv => kv.Key == "WORKFLOW_OUTPUT_DIR");
    }
}
