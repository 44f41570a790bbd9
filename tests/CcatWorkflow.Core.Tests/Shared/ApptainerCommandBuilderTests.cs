using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Shared;

public sealed class ApptainerCommandBuilderTests
{
    [Fact]
    public void The_contract_binds_come_in_order_input_and_manifest_read_only()
    {
        var argv = ApptainerCommandBuilder.BuildArguments("/opt/apptainer", "/sif/x.sif", ["run", "--fast"],
            "/data/in", "/data/ws", "/data/out", "/cfg/run-42.json");

        Assert.Equal(
        [
            "/opt/apptainer", "exec",
            "--bind", "/data/in:/workflow/input:ro",
            "--bind", "/data/ws:/workflow/workspace",
            "--bind", "/data/out:/workflow/output",
            "--bind", "/cfg/run-42.json:/workflow/config/manifest.json:ro",
            "/sif/x.sif", "run", "--fast",
        ], argv);
    }

    [Fact]
    public void Only_the_directories_that_are_given_are_bound()
    {
        var argv = ApptainerCommandBuilder.BuildArguments("apptainer", "/x.sif", ["true"], null, "/ws", null, null);

        Assert.Equal(["apptainer", "exec", "--bind", "/ws:/workflow/workspace", "/x.sif", "true"], argv);
    }

    [Fact]
    public void The_command_line_splits_back_into_the_same_argv_in_a_real_shell()
    {
        string[] command = ["sh", "-c", "echo \"$1\" 'x' `y` $z; exit 3", "it's a $test"];
        var argv = ApptainerCommandBuilder.BuildArguments("apptainer", "/images/my image.sif", command, "/in dir", null, "/out", null);
        var line = ApptainerCommandBuilder.BuildCommandLine("apptainer", "/images/my image.sif", command, "/in dir", null, "/out", null);

        // Replace the program by printf: the shell must hand every word over unchanged.
        var r = ShellRun.Run("/bin/sh", "printf '%s\\0' " + line);

        Assert.Equal(argv, r.Stdout.Split('\0')[..^1]);
    }

    [Theory]
    [InlineData("relative/in", null, null)]
    [InlineData(null, "/ok", "manifest.json")]
    [InlineData("/has:colon", null, null)]
    [InlineData("/has,comma", null, null)]
    [InlineData(null, "/new\nline", null)]
    public void Paths_apptainer_cannot_bind_faithfully_are_refused(string? input, string? output, string? manifest)
    {
        var e = Assert.Throws<CcatException>(() =>
            ApptainerCommandBuilder.BuildArguments("apptainer", "/x.sif", ["true"], input, null, output, manifest));

        Assert.Equal(CcatErrorId.InvalidSubmission, e.ErrorId);
    }

    [Fact]
    public void A_relative_sif_an_empty_command_or_a_NUL_word_is_refused()
    {
        Assert.Equal(CcatErrorId.InvalidSubmission, Assert.Throws<CcatException>(() =>
            ApptainerCommandBuilder.BuildArguments("apptainer", "x.sif", ["true"], null, null, null, null)).ErrorId);
        Assert.Equal(CcatErrorId.InvalidSubmission, Assert.Throws<CcatException>(() =>
            ApptainerCommandBuilder.BuildArguments("apptainer", "/x.sif", [], null, null, null, null)).ErrorId);
        Assert.Equal(CcatErrorId.InvalidSubmission, Assert.Throws<CcatException>(() =>
            ApptainerCommandBuilder.BuildArguments("apptainer", "/x.sif", ["echo", "a\0b"], null, null, null, null)).ErrorId);
        Assert.Equal(CcatErrorId.InvalidConfiguration, Assert.Throws<CcatException>(() =>
            ApptainerCommandBuilder.BuildArguments(" ", "/x.sif", ["true"], null, null, null, null)).ErrorId);
    }

    [Theory]
    [InlineData("/o", "/w", "/workflow/output")]
    [InlineData(null, "/w", "/workflow/workspace")]
    [InlineData(null, null, null)]
    public void WORKFLOW_OUTPUT_DIR_defaults_to_the_output_mount_else_the_workspace(string? output, string? workspace, string? expected) =>
        Assert.Equal(expected, ApptainerCommandBuilder.DefaultOutputDirVariable(output, workspace));
}
