using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Submission;

/// <summary>
/// Builds the <c>apptainer exec</c> command line of the container contract when the caller
/// gives the in-container command and a SIF instead of a whole execution command:
/// input read-only at <c>/workflow/input</c>, workspace at <c>/workflow/workspace</c>, output at
/// <c>/workflow/output</c>, the manifest's directory read-only at <c>/workflow/config</c>.
/// Every word is quoted by <see cref="ShellQuoting.Quote"/>.
/// </summary>
public static class ApptainerCommandBuilder
{
    /// <summary>In-container mount points of the contract.</summary>
    public const string InputMount = "/workflow/input",
        WorkspaceMount = "/workflow/workspace",
        OutputMount = "/workflow/output",
        ConfigMount = "/workflow/config";

    /// <summary>
    /// The argv of <c>apptainer exec</c> for <paramref name="containerCommand"/> inside
    /// <paramref name="sifPath"/> with the contract's binds for the directories that are set.
    /// Environment variables are not put on the line: apptainer passes the job's environment
    /// into the container (the backends set it for the shell that runs this line).
    /// </summary>
    public static IReadOnlyList<string> BuildArguments(
        string apptainer, string sifPath, IReadOnlyList<string> containerCommand,
        string? inputDir, string? workspaceDir, string? outputDir, string? manifestPath)
    {
        if (containerCommand.Count == 0 || string.IsNullOrEmpty(containerCommand[0]))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "The container command is empty.");
        }

        var args = new List<string> { apptainer, "exec" };
        void Bind(string? host, string mount, bool readOnly)
        {
            if (host is null) return;
            if (host.Contains(':') || host.Contains(','))
            {
                // apptainer's --bind syntax splits on ':' and ','; such a path cannot be bound faithfully.
                throw new CcatException(CcatErrorId.InvalidSubmission, $"The path '{host}' contains ':' or ',', which apptainer --bind cannot carry.");
            }

            args.Add("--bind");
            args.Add($"{host}:{mount}{(readOnly ? ":ro" : "")}");
        }

        Bind(inputDir, InputMount, readOnly: true);
        Bind(workspaceDir, WorkspaceMount, readOnly: false);
        Bind(outputDir, OutputMount, readOnly: false);
        if (manifestPath is not null)
        {
            Bind(Path.GetDirectoryName(Path.GetFullPath(manifestPath)) ?? "/", ConfigMount, readOnly: true);
        }

        args.Add(sifPath);
        args.AddRange(containerCommand);
        return args;
    }

    /// <summary>The same argv as one shell command line, every word quoted.</summary>
    public static string BuildCommandLine(
        string apptainer, string sifPath, IReadOnlyList<string> containerCommand,
        string? inputDir, string? workspaceDir, string? outputDir, string? manifestPath) =>
        ShellQuoting.Join(BuildArguments(apptainer, sifPath, containerCommand, inputDir, workspaceDir, outputDir, manifestPath));

    /// <summary>
    /// The value <c>WORKFLOW_OUTPUT_DIR</c> gets when the caller did not set it: the output
    /// mount when an output directory is bound, else the workspace mount.
    /// </summary>
    public static string? DefaultOutputDirVariable(string? outputDir, string? workspaceDir) =>
        outputDir is not null ? OutputMount : workspaceDir is not null ? WorkspaceMount : null;
}
