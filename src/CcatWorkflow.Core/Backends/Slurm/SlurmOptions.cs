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
/// The Slurm settings, typed. Their rules (values that end up on <c>#SBATCH</c> lines, which
/// sbatch reads with its own simple word splitting: no quoting can carry a space or a newline
/// there) are the settings' own, in <see cref="SlurmBackendDescriptor"/>, checked when the
/// settings load; this record only reads and normalises them.
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

    /// <summary>Reads the settings (already checked by their rules when they loaded).</summary>
    public static SlurmOptions FromSettings(CcatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Normalized(new SlurmOptions
        {
            Partition = settings.GetString("SLURM_PARTITION").Trim(),
            Account = settings.GetString("SLURM_ACCOUNT").Trim(),
            Qos = settings.GetString("SLURM_QOS").Trim(),
            ExtraDirectives = settings.GetStringList("SLURM_EXTRA_DIRECTIVES"),
            GpuDirective = settings.GetString("SLURM_GPU_DIRECTIVE").Trim().Equals("gres", StringComparison.OrdinalIgnoreCase)
                ? SlurmGpuDirective.Gres : SlurmGpuDirective.Gpus,
            JobDirectory = EffectiveJobDirectory(settings),
        });
    }

    /// <summary>SLURM_JOB_DIR, or <c>&lt;PIPELINE_BASE_DIR&gt;/.ccat-slurm</c> when it is empty.</summary>
    internal static string EffectiveJobDirectory(CcatSettings settings)
    {
        var jobDir = settings.GetString("SLURM_JOB_DIR").Trim();
        return jobDir.Length > 0 ? jobDir : Path.Combine(settings.GetString("PIPELINE_BASE_DIR").Trim(), ".ccat-slurm");
    }

    /// <summary>The job directory in the cluster's form (<see cref="NormalizePosix"/>) and the extra directives without "#SBATCH" and empty entries.</summary>
    public static SlurmOptions Normalized(SlurmOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        // The cluster's path: POSIX even when this machine is Windows (SSH and REST transports).
        return o with { ExtraDirectives = Directives(o.ExtraDirectives), JobDirectory = o.JobDirectory.StartsWith('/') ? NormalizePosix(o.JobDirectory) : o.JobDirectory };
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
            if (value is not null && NameProblem(value) is { } problem) throw InvalidParameter(name, $"is '{value.Trim()}'; it {problem}");
        }

        if (DirectivesProblem(job.Directives) is { } bad) throw InvalidParameter("SchedulerOption", bad);
        return this with
        {
            Partition = job.Partition?.Trim() ?? Partition,
            Account = job.Account?.Trim() ?? Account,
            Qos = job.Qos?.Trim() ?? Qos,
            ExtraDirectives = [.. ExtraDirectives, .. Directives(job.Directives)],
        };
    }

    // Directives as sbatch gets them: '#SBATCH' in front dropped, empty entries skipped.
    private static List<string> Directives(IEnumerable<string> raw) =>
        raw.Select(StripDirective).Where(d => d.Length > 0).ToList();

    private static string StripDirective(string raw)
    {
        var d = raw.Trim();
        return d.StartsWith("#SBATCH", StringComparison.Ordinal) ? d["#SBATCH".Length..].Trim() : d;
    }

    private static CcatException InvalidParameter(string parameter, string what) =>
        new(CcatErrorId.InvalidSubmission, $"-{parameter} {what}; nothing was submitted.");

    // ---- the one rule of each value on an #SBATCH line, for the settings (SlurmBackendDescriptor)
    // and for one job's own options (ForJob): null = good, else what is wrong.

    /// <summary>SLURM_PARTITION, SLURM_ACCOUNT, SLURM_QOS: a name sbatch can carry.</summary>
    internal static string? NameProblem(string value) =>
        NamePattern().IsMatch(value.Trim()) ? null : "may hold only letters, digits and _ . , + @ -";

    /// <summary>SLURM_EXTRA_DIRECTIVES (and -SchedulerOption): each entry one sbatch option on one line.</summary>
    internal static string? DirectivesProblem(IReadOnlyList<string> values)
    {
        foreach (var raw in values)
        {
            var d = StripDirective(raw);
            if (d.Length > 0 && (!d.StartsWith('-') || d.Any(char.IsControl)))
            {
                return $"holds '{raw.Replace("\n", "\\n", StringComparison.Ordinal)}'; each entry must be one sbatch option such as --constraint=avx2, on one line";
            }
        }

        return null;
    }

    /// <summary>SLURM_JOB_DIR (or the folder under PIPELINE_BASE_DIR it defaults to): absolute, and a path sbatch can carry.</summary>
    internal static string? JobDirectoryProblem(CcatSettings settings)
    {
        var dir = EffectiveJobDirectory(settings);
        var what = settings.GetString("SLURM_JOB_DIR").Trim().Length == 0 ? $"is empty, so <PIPELINE_BASE_DIR>/.ccat-slurm '{dir}' is used, but that " : "";
        if (!dir.StartsWith('/')) return what + "must be an absolute path on a file system the compute nodes share";
        return DirectoryPattern().IsMatch(NormalizePosix(dir)) ? null
            : what + "may hold only letters, digits and _ . , + @ = : ~ / - (sbatch cannot carry spaces, quotes, % or \\ in its log paths)";
    }

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
}
