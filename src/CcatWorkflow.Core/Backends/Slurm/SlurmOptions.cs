using System.Text.RegularExpressions;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>How GPUs are requested.</summary>
public enum SlurmGpuDirective
{
    /// <summary><c>--gpus=N</c>.</summary>
    Gpus,
    /// <summary><c>--gres=gpu:N</c> (sites without the gpus option's accounting).</summary>
    Gres,
}

/// <summary>
/// The Slurm settings, validated once when the backend is built. Values that end up on
/// <c>#SBATCH</c> lines are checked here, because sbatch reads those lines with its own simple
/// word splitting: no quoting can carry a space or a newline there.
/// </summary>
public sealed partial record SlurmOptions
{
    /// <summary>The tag every job of the module carries (<c>--comment</c>), read back by sacct and squeue.</summary>
    public const string Tag = "ccat-workflow";

    /// <summary>SLURM_PARTITION; empty = the cluster's default.</summary>
    public string Partition { get; init; } = "";

    /// <summary>SLURM_ACCOUNT; empty = none.</summary>
    public string Account { get; init; } = "";

    /// <summary>SLURM_QOS; empty = none.</summary>
    public string Qos { get; init; } = "";

    /// <summary>SLURM_EXTRA_DIRECTIVES, each a whole option such as <c>--constraint=avx2</c>.</summary>
    public IReadOnlyList<string> ExtraDirectives { get; init; } = [];

    /// <summary>SLURM_GPU_DIRECTIVE.</summary>
    public SlurmGpuDirective GpuDirective { get; init; } = SlurmGpuDirective.Gpus;

    /// <summary>
    /// The absolute directory holding one folder per job (script, logs, metadata). It must be
    /// on a file system the compute nodes share: Slurm opens the log files there on the node.
    /// </summary>
    public required string JobDirectory { get; init; }

    [GeneratedRegex(@"^[A-Za-z0-9_.,+@-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    // The job directory appears in #SBATCH --output/--error/--chdir lines: no white space or
    // quotes (sbatch splits those lines itself), no '%' (sbatch expands %j, %x… in file names)
    // and no backslash (it switches that expansion off).
    [GeneratedRegex(@"^/[A-Za-z0-9_.,+@=:~/-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex DirectoryPattern();

    /// <summary>Reads and validates the settings; a bad value is <see cref="CcatErrorId.InvalidConfiguration"/> naming the setting.</summary>
    public static SlurmOptions FromSettings(CcatSettings settings)
    {
        var jobDir = settings.GetString("SLURM_JOB_DIR").Trim();
        if (jobDir.Length == 0)
        {
            jobDir = Path.Combine(settings.GetString("PIPELINE_BASE_DIR").Trim(), ".ccat-slurm");
        }

        var gpu = settings.GetString("SLURM_GPU_DIRECTIVE").Trim().ToLowerInvariant() switch
        {
            "gpus" or "" => SlurmGpuDirective.Gpus,
            "gres" => SlurmGpuDirective.Gres,
            var other => throw Invalid("SLURM_GPU_DIRECTIVE", $"is '{other}'; it must be gpus or gres"),
        };

        return Validated(new SlurmOptions
        {
            Partition = settings.GetString("SLURM_PARTITION").Trim(),
            Account = settings.GetString("SLURM_ACCOUNT").Trim(),
            Qos = settings.GetString("SLURM_QOS").Trim(),
            ExtraDirectives = settings.GetStringList("SLURM_EXTRA_DIRECTIVES"),
            GpuDirective = gpu,
            JobDirectory = jobDir,
        });
    }

    /// <summary>Checks every value and normalises the job directory and the extra directives.</summary>
    public static SlurmOptions Validated(SlurmOptions o)
    {
        foreach (var (name, value) in new[] { ("SLURM_PARTITION", o.Partition), ("SLURM_ACCOUNT", o.Account), ("SLURM_QOS", o.Qos) })
        {
            if (NameProblem(value) is { } problem) throw Invalid(name, problem);
        }

        var extras = NormalizeDirectives(o.ExtraDirectives, (_, problem) => Invalid("SLURM_EXTRA_DIRECTIVES", problem));

        if (!o.JobDirectory.StartsWith('/'))
        {
            throw Invalid("SLURM_JOB_DIR", $"is '{o.JobDirectory}'; it must be an absolute path on a file system the compute nodes share");
        }

        // The cluster's path: POSIX even when this machine is Windows (SSH and REST transports).
        var dir = NormalizePosix(o.JobDirectory);
        if (!DirectoryPattern().IsMatch(dir))
        {
            throw Invalid("SLURM_JOB_DIR", $"is '{dir}'; it may hold only letters, digits and _ . , + @ = : ~ / - (sbatch cannot carry spaces, quotes, % or \\ in its log paths)");
        }

        return o with { ExtraDirectives = extras, JobDirectory = dir };
    }

    /// <summary>
    /// These options with one job's own (-Partition, -Account, -Qos replace the settings;
    /// -SchedulerOption adds directives after SLURM_EXTRA_DIRECTIVES), checked by the same rules
    /// as the settings: a bad value is <see cref="CcatErrorId.InvalidSubmission"/> naming the parameter.
    /// </summary>
    public SlurmOptions ForJob(Submission.JobSchedulerOptions job)
    {
        ArgumentNullException.ThrowIfNull(job);
        foreach (var (name, value) in new[] { ("Partition", job.Partition), ("Account", job.Account), ("Qos", job.Qos) })
        {
            if (value is not null && NameProblem(value.Trim()) is { } problem) throw InvalidParameter(name, problem);
        }

        return this with
        {
            Partition = job.Partition?.Trim() ?? Partition,
            Account = job.Account?.Trim() ?? Account,
            Qos = job.Qos?.Trim() ?? Qos,
            ExtraDirectives = [.. ExtraDirectives, .. NormalizeDirectives(job.Directives, (_, problem) => InvalidParameter("SchedulerOption", problem))],
        };
    }

    // The one rule for a name on an #SBATCH line (partition, account, QOS): sbatch splits those
    // lines itself, so no quoting can carry a space or a quote there.
    private static string? NameProblem(string value) =>
        NamePattern().IsMatch(value) ? null : $"is '{value}'; it may hold only letters, digits and _ . , + @ -";

    // The one rule for extra directives, from SLURM_EXTRA_DIRECTIVES or -SchedulerOption: each one
    // sbatch option on one line ('#SBATCH' in front is dropped, empty entries skipped).
    private static List<string> NormalizeDirectives(IEnumerable<string> raw, Func<string, string, CcatException> invalid)
    {
        var list = new List<string>();
        foreach (var entry in raw)
        {
            var d = entry.Trim();
            if (d.StartsWith("#SBATCH", StringComparison.Ordinal)) d = d["#SBATCH".Length..].Trim();
            if (d.Length == 0) continue;
            if (!d.StartsWith('-') || d.Any(char.IsControl))
            {
                throw invalid(entry, $"holds '{entry.Replace("\n", "\\n", StringComparison.Ordinal)}'; each entry must be one sbatch option such as --constraint=avx2, on one line");
            }

            list.Add(d);
        }

        return list;
    }

    private static CcatException InvalidParameter(string parameter, string what) =>
        new(CcatErrorId.InvalidSubmission, $"-{parameter} {what}; nothing was submitted.");

    /// <summary>An absolute POSIX path with '.', '..' and repeated or trailing '/' resolved.</summary>
    public static string NormalizePosix(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }

    private static CcatException Invalid(string setting, string what) =>
        new(CcatErrorId.InvalidConfiguration, $"Setting {setting} {what}.");
}
