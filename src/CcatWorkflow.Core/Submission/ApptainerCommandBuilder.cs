using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Submission;

/// <summary>
/// Builds the <c>apptainer exec</c> command line of the container contract when the caller
/// gives the in-container command and a SIF instead of a whole execution command:
/// input read-only at <c>/workflow/input</c>, workspace at <c>/workflow/workspace</c>, output at
/// <c>/workflow/output</c>, the manifest read-only at <c>/workflow/config/manifest.json</c>.
/// Every word is quoted by <see cref="ShellQuoting.Quote"/>.
/// </summary>
/// <remarks>
/// Environment variables are not put on the line (apptainer's <c>--env</c> splits its value on
/// commas): apptainer passes the environment of the shell that runs the line into the
/// container, and every backend sets the job's variables on that shell. The backends add
/// <see cref="OutputDirVariable"/> when the caller did not set it: the mount
/// (<see cref="DefaultOutputDirVariable"/>) when the command runs in the container, else the host
/// directory (<see cref="JobSubmission.EffectiveEnvironment"/>). Real apptainer does not pass <c>PATH</c> and
/// <c>LD_LIBRARY_PATH</c> through; set <c>APPTAINERENV_PATH</c> for those.
/// </remarks>
public static class ApptainerCommandBuilder
{
    /// <summary>In-container mount points of the contract.</summary>
    public const string InputMount = "/workflow/input",
        WorkspaceMount = "/workflow/workspace",
        OutputMount = "/workflow/output",
        ConfigMount = "/workflow/config";

    /// <summary>Where the manifest appears inside the container, whatever its name on the host.</summary>
    public const string ManifestMount = ConfigMount + "/manifest.json";

    /// <summary>The variable that tells the container where to write.</summary>
    public const string OutputDirVariable = "WORKFLOW_OUTPUT_DIR";

    /// <summary>
    /// The argv of <c>apptainer exec</c> for <paramref name="containerCommand"/> inside
    /// <paramref name="sifPath"/> with the contract's binds for the directories that are set.
    /// Every path must be absolute (the line runs in the job's working directory, not the
    /// caller's), and bind sources cannot contain ':' or ',' (apptainer's --bind separators).
    /// The manifest file itself is bound, read-only, at <see cref="ManifestMount"/>; its
    /// neighbours stay outside the container.
    /// </summary>
    public static IReadOnlyList<string> BuildArguments(
        string apptainer, string sifPath, IReadOnlyList<string> containerCommand,
        string? inputDir, string? workspaceDir, string? outputDir, string? manifestPath)
    {
        ArgumentNullException.ThrowIfNull(containerCommand);
        if (string.IsNullOrWhiteSpace(apptainer))
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration, "The apptainer program (APPTAINER_PATH) is empty.");
        }

        if (containerCommand.Count == 0 || string.IsNullOrEmpty(containerCommand[0]))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "The container command is empty.");
        }

        if (containerCommand.Any(w => w is null || w.Contains('\0')))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "A word of the container command is null or contains a NUL character.");
        }

        Absolute("SifPath", sifPath);
        var args = new List<string> { apptainer, "exec" };
        void Bind(string label, string? host, string mount, bool readOnly)
        {
            if (host is null) return;
            Absolute(label, host);
            if (host.Contains(':') || host.Contains(','))
            {
                throw new CcatException(CcatErrorId.InvalidSubmission, $"{label} '{host}' contains ':' or ',', which apptainer --bind cannot carry.");
            }

            args.Add("--bind");
            args.Add($"{Path.GetFullPath(host)}:{mount}{(readOnly ? ":ro" : "")}");
        }

        Bind("InputDir", inputDir, InputMount, readOnly: true);
        Bind("WorkspaceDir", workspaceDir, WorkspaceMount, readOnly: false);
        Bind("OutputDir", outputDir, OutputMount, readOnly: false);
        Bind("ManifestPath", manifestPath, ManifestMount, readOnly: true);

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

    private static void Absolute(string label, string? path)
    {
        if (path is null) return;
        if (path.Length == 0 || path.Contains('\0') || path.Contains('\n'))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, $"{label} '{path.Replace("\0", "\\0")}' is not a usable path.");
        }

        if (!Path.IsPathRooted(path))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, $"{label} '{path}' must be an absolute path (resolve it against the current location first).");
        }
    }
}
