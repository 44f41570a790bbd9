using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Submission;

/// <summary>
/// Everything the seed's <c>submit</c> takes, validated. The execution command is a shell
/// command line, run by <c>/bin/sh</c> the same way on every backend.
/// </summary>
public sealed record JobSubmission
{
    /// <summary>The shell command line the job runs (the seed's execution_command).</summary>
    public required string ExecutionCommand { get; init; }

    /// <summary>The registry reference of the image (docker://, oras://), if any.</summary>
    public string? ImageRef { get; init; }

    /// <summary>The local SIF file apptainer runs, if any.</summary>
    public string? SifPath { get; init; }

    /// <summary>Host directory bound read-only at /workflow/input.</summary>
    public string? InputDir { get; init; }

    /// <summary>Host directory bound at /workflow/output.</summary>
    public string? OutputDir { get; init; }

    /// <summary>Host directory bound at /workflow/workspace.</summary>
    public string? WorkspaceDir { get; init; }

    /// <summary>The manifest file, bound read-only at /workflow/config/manifest.json.</summary>
    public string? ManifestPath { get; init; }

    /// <summary>The validated resource request.</summary>
    public ResourceRequirements Resources { get; init; } = ResourceRequirements.None;

    /// <summary>Environment variables for the job, in a stable order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];

    /// <summary>
    /// Secret environment variables for the job (validated like <see cref="Environment"/>; a
    /// name may not be in both). Their values never reach a file, a manifest, -WhatIf or
    /// verbose text: each backend hands them to the job through a channel only the job's owner
    /// can read (sbatch's process environment, a Kubernetes Secret, the Local runner's stdin).
    /// Descriptions show them as <see cref="SecretPlaceholder"/>.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> SecretEnvironment { get; init; } = [];

    /// <summary>What descriptions (-WhatIf, verbose) show in place of a secret value.</summary>
    public const string SecretPlaceholder = "<secret>";

    /// <summary>
    /// The directory the job's command starts in (absolute); null = each backend's default: the
    /// job's own folder on Local and Slurm, the image's working directory on Kubernetes.
    /// </summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// True when the command runs inside the contract's container, so the mounts
    /// (<c>/workflow/output</c>, …) exist for it: a SIF or an image reference is named (the
    /// module's own apptainer line, or the upstream service's fully built one).
    /// </summary>
    public bool RunsInContainer => SifPath is not null || ImageRef is not null;

    /// <summary>
    /// The environment the job gets, on every backend alike: the caller's variables, plus
    /// <c>WORKFLOW_OUTPUT_DIR</c> when an output or workspace directory is given and the caller
    /// did not set it — the contract's mount (<see cref="ApptainerCommandBuilder.DefaultOutputDirVariable"/>)
    /// when the command runs in the container (<see cref="RunsInContainer"/>), else the host
    /// directory itself (the output directory, else the workspace), which is where a plain
    /// command can write.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> EffectiveEnvironment
    {
        get
        {
            if (Environment.Any(kv => kv.Key == ApptainerCommandBuilder.OutputDirVariable)
                || SecretEnvironment.Any(kv => kv.Key == ApptainerCommandBuilder.OutputDirVariable)
                || (RunsInContainer ? ApptainerCommandBuilder.DefaultOutputDirVariable(OutputDir, WorkspaceDir) : OutputDir ?? WorkspaceDir) is not { } dir)
            {
                return Environment;
            }

            return [.. Environment, new(ApptainerCommandBuilder.OutputDirVariable, dir)];
        }
    }

    /// <summary>A name for people; backends sanitise it for their own rules.</summary>
    public string JobName { get; init; } = "ccat-job";

    /// <summary>The indices of a job array (one job per index); null for a single job.</summary>
    public ArrayIndexSpec? ArrayIndex { get; init; }

    /// <summary>At most this many elements of the array run at once; null for no limit.</summary>
    public int? ThrottleLimit { get; init; }

    /// <summary>The jobs this one waits for, and on what condition; null for none.</summary>
    public JobDependency? Dependency { get; init; }

    /// <summary>Per-job scheduler options (partition, account, QOS, extra directives, namespace), each overriding its setting for this job.</summary>
    public JobSchedulerOptions SchedulerOptions { get; init; } = JobSchedulerOptions.None;

    /// <summary>For a re-run of an array's failed elements (Submit-CcatJob -RetryFailed): the original array's id, recorded with the new array.</summary>
    public string? RetryOf { get; init; }

    /// <summary>The retry policy (Submit-CcatJob -RetryOn); null for none. docs/retries.md.</summary>
    public Retries.RetryPolicy? Retry { get; init; }

    /// <summary>
    /// Validates environment variable names: no empty name, no '=' and no NUL, in names or
    /// (NUL) values. Values are otherwise passed through exactly. Throws
    /// <see cref="CcatErrorId.InvalidEnvironmentVariable"/> naming the variable.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ValidateEnvironment(IDictionary? values)
    {
        if (values is null || values.Count == 0)
        {
            return [];
        }

        var list = new List<KeyValuePair<string, string>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in values)
        {
            var name = Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "";
            if (name.Length == 0 || string.IsNullOrWhiteSpace(name))
            {
                throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, "An environment variable has an empty name.");
            }

            if (name.Contains('='))
            {
                throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, $"Environment variable name '{name}' contains '='.");
            }

            if (HasLoneSurrogate(name))
            {
                throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, $"Environment variable name '{Printable(name)}' is not valid Unicode (a lone UTF-16 surrogate).");
            }

            if (name.Contains('\0'))
            {
                throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, $"Environment variable name '{name.Replace("\0", "\\0")}' contains a NUL character.");
            }

            var value = entry.Value switch
            {
                null => "",
                SecureString secure => Reveal(secure),
                _ => Convert.ToString(entry.Value, CultureInfo.InvariantCulture) ?? "",
            };
            if (HasLoneSurrogate(value))
            {
                throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, $"The value of environment variable '{name}' is not valid Unicode (a lone UTF-16 surrogate).");
            }

            if (value.Contains('\0'))
            {
                throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, $"The value of environment variable '{name}' contains a NUL character.");
            }

            if (!seen.Add(name))
            {
                throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, $"Environment variable '{name}' is given twice.");
            }

            list.Add(new(name, value));
        }

        return list;
    }

    /// <summary>
    /// True when <paramref name="text"/> holds a UTF-16 surrogate without its pair: such text has
    /// no UTF-8 form, so no script, manifest or environment can carry it.
    /// </summary>
    public static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return true;
        }

        return false;
    }

    private static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsSurrogate(c) || c == '\0' ? $"\\u{(int)c:X4}" : c.ToString()));

    /// <summary>The text of a <see cref="SecureString"/>, for the one hand-over to the backend.</summary>
    private static string Reveal(SecureString secure)
    {
        var ptr = Marshal.SecureStringToGlobalAllocUnicode(secure);
        try
        {
            return Marshal.PtrToStringUni(ptr, secure.Length);
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(ptr);
        }
    }

    /// <summary>Checks the submission as a whole before any backend sees it.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ExecutionCommand))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "The execution command is empty.");
        }

        if (HasLoneSurrogate(ExecutionCommand) || HasLoneSurrogate(JobName ?? ""))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "The execution command or the job name is not valid Unicode (a lone UTF-16 surrogate).");
        }

        if (ExecutionCommand.Contains('\0'))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "The execution command contains a NUL character.");
        }

        if (string.IsNullOrWhiteSpace(JobName))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "The job name is empty.");
        }

        if (JobName.Length > 200 || JobName.Any(char.IsControl))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, "The job name must be at most 200 characters with no control characters.");
        }

        ArrayIndexSpec.ValidateThrottle(ThrottleLimit, ArrayIndex);
        if (Dependency is { ParentIds.Count: 0 })
        {
            throw new CcatException(CcatErrorId.InvalidDependency, "-DependsOn names no job.");
        }

        if (SecretEnvironment.FirstOrDefault(s => Environment.Any(e => e.Key == s.Key)) is { Key: { } both })
        {
            throw new CcatException(CcatErrorId.InvalidEnvironmentVariable,
                $"Environment variable '{both}' is given both in -Environment and in -SecretEnvironment; give it once.");
        }

        foreach (var (label, path) in new[] { ("InputDir", InputDir), ("OutputDir", OutputDir), ("WorkspaceDir", WorkspaceDir), ("ManifestPath", ManifestPath), ("SifPath", SifPath), ("WorkingDirectory", WorkingDirectory) })
        {
            if (path is not null && (path.Length == 0 || path.Contains('\0') || path.Contains('\n')))
            {
                throw new CcatException(CcatErrorId.InvalidSubmission, $"{label} '{path.Replace("\0", "\\0")}' is not a usable path.");
            }
        }

        var o = SchedulerOptions;
        foreach (var (label, value) in new[] { ("Partition", o.Partition), ("Account", o.Account), ("Qos", o.Qos), ("Namespace", o.Namespace) }.Concat(o.Directives.Select(d => ("SchedulerOption", (string?)d))))
        {
            if (JobSchedulerOptions.IsUnusable(value))
            {
                throw new CcatException(CcatErrorId.InvalidSubmission, $"-{label} '{value!.Replace("\0", "\\0", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}' is empty or holds a control character; nothing was submitted.");
            }
        }

        if (WorkingDirectory is not null && !Path.IsPathRooted(WorkingDirectory))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, $"WorkingDirectory '{WorkingDirectory}' must be an absolute path (the job does not run in the caller's directory).");
        }
    }
}
