using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Writes the sbatch script of a submission. Nothing from the caller is pasted into it as code:
/// the job name is sanitised, every environment value and the execution command are single
/// shell words made by <see cref="Word"/> (<see cref="ShellQuoting.Quote"/>), and the command
/// runs as <c>exec /bin/sh -c &lt;word&gt;</c>, so /bin/sh parses the caller's text exactly once —
/// when the job runs — the same way on every backend.
/// </summary>
public static class SbatchScriptBuilder
{
    /// <summary>The longest job name the module gives Slurm.</summary>
    public const int MaxJobNameLength = 128;

    // Names bash (the /bin/sh of some distributions) keeps read-only: "export UID=…" would end
    // the script. They are set with env instead, like names that are not shell identifiers.
    private static readonly HashSet<string> ReadOnlyInBash = new(StringComparer.Ordinal)
    {
        "BASHOPTS", "BASH_VERSINFO", "EUID", "PPID", "SHELLOPTS", "UID",
    };

    /// <summary>
    /// The script for <paramref name="submission"/> whose logs go to <paramref name="jobFolder"/>
    /// (absolute, already validated by <see cref="SlurmOptions"/>).
    /// </summary>
    public static string Build(JobSubmission submission, SlurmOptions options, string jobFolder)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/sh\n");
        foreach (var option in Directives(submission, options, jobFolder))
        {
            sb.Append("#SBATCH ").Append(option).Append('\n');
        }

        sb.Append("#\n");
        sb.Append("# Written by CcatWorkflow. The job's environment is set below, then its command runs with\n");
        sb.Append("# /bin/sh -c; every value is one single-quoted shell word, exactly as given.\n");
        if (submission.SecretEnvironment.Count > 0)
        {
            // Names only (ExportOption, run above, refused control characters in them): the values reach the job through sbatch's own environment (--export), never this file.
            sb.Append("# Secret variables, passed by sbatch from the submitting process's environment, not written here:\n");
            foreach (var (name, _) in submission.SecretEnvironment)
            {
                sb.Append("#   ").Append(name).Append('=').Append(JobSubmission.SecretPlaceholder).Append('\n');
            }
        }

        var viaEnv = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in submission.EffectiveEnvironment)
        {
            if (ShellQuoting.IsShellIdentifier(name) && !ReadOnlyInBash.Contains(name))
            {
                sb.Append("export ").Append(name).Append('=').Append(Word(value)).Append('\n');
            }
            else
            {
                viaEnv.Add(new(name, value));
            }
        }

        if (submission.ArrayIndex is not null)
        {
            // Written by us, not from the caller: each element sees its index under our name too.
            sb.Append("export ").Append(ArrayElementId.IndexVariable).Append("=\"$SLURM_ARRAY_TASK_ID\"\n");
        }

        if (submission.WorkingDirectory is { } cwd)
        {
            // Not --chdir: that stays the job's folder, which sacct records as WorkDir and by
            // which the module tells its jobs from others. A directory missing on the node fails
            // the job here, where --chdir would quietly run it in /tmp.
            sb.Append("cd -- ").Append(Word(cwd)).Append(" || exit 1\n");
        }

        sb.Append("exec ");
        if (viaEnv.Count > 0)
        {
            sb.Append("env --");
            foreach (var (name, value) in viaEnv)
            {
                sb.Append(" \\\n  ").Append(Word(name + "=" + value));
            }

            sb.Append(" \\\n  ");
        }

        sb.Append("/bin/sh -c ").Append(Word(submission.ExecutionCommand)).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// The options of the script's <c>#SBATCH</c> lines, in order. Site-wide extra directives
    /// come first: the module's own lines after them win where they overlap (sbatch keeps the
    /// last value of an option), so a job's own cpu/memory/time request is never overridden by
    /// a site default.
    /// </summary>
    public static IReadOnlyList<string> Directives(JobSubmission submission, SlurmOptions options, string jobFolder)
    {
        var list = new List<string>(options.ExtraDirectives)
        {
            "--job-name=" + SanitizeJobName(submission.JobName),
            "--comment=" + SlurmOptions.Tag,
            "--chdir=" + jobFolder,
            "--output=" + Path.Combine(jobFolder, SlurmJobDirectory.StdoutFileOf(submission.ArrayIndex is null ? null : SlurmJobDirectory.ArrayIndexPattern)),
            "--error=" + Path.Combine(jobFolder, SlurmJobDirectory.StderrFileOf(submission.ArrayIndex is null ? null : SlurmJobDirectory.ArrayIndexPattern)),
        };
        list.AddRange(ArrayOptions(submission));
        list.AddRange(ResourceOptions(submission.Resources, options.GpuDirective));
        if (options.Partition.Length > 0) list.Add("--partition=" + options.Partition);
        if (options.Account.Length > 0) list.Add("--account=" + options.Account);
        if (options.Qos.Length > 0) list.Add("--qos=" + options.Qos);
        if (ExportOption(submission, options, Environment.GetEnvironmentVariable(SbatchExportVariable)) is { } export) list.Add(export);
        // Under a retry policy the module is the only one to run a job again (docs/retries.md):
        // Slurm's own requeue would restart it under the same id, uncounted and ungrown.
        if (submission.Retry is not null) list.Add("--no-requeue");
        return list;
    }

    /// <summary>The variable sbatch reads its <c>--export</c> default from.</summary>
    public const string SbatchExportVariable = "SBATCH_EXPORT";

    /// <summary>
    /// The <c>--export</c> option that lets the job's secrets through sbatch, or null when the
    /// submission has none (then the site's choice stands untouched). The site's choice
    /// (<paramref name="sbatchExportVariable"/>, else the last <c>--export</c> of SLURM_EXTRA_DIRECTIVES)
    /// is kept: with ALL (or nothing: sbatch's default) every variable is exported anyway; with
    /// NONE or a list, the secrets' names are added, so sbatch exports their current values
    /// from its own environment (<c>--export=NAME</c>, never <c>NAME=value</c>: argv is public).
    /// </summary>
    public static string? ExportOption(JobSubmission submission, SlurmOptions options, string? sbatchExportVariable)
    {
        if (submission.SecretEnvironment.Count == 0) return null;
        foreach (var (name, _) in submission.SecretEnvironment)
        {
            if (name.Contains(',') || name.Any(char.IsControl) || name.Any(char.IsWhiteSpace))
            {
                throw new Errors.CcatException(Errors.CcatErrorId.InvalidEnvironmentVariable,
                    $"Secret variable name '{name}' cannot be passed by sbatch (--export takes a comma-separated list of names without blanks or control characters).");
            }
        }

        // sbatch ranks SBATCH_EXPORT above #SBATCH lines, so it is the site's choice when set.
        var site = (string.IsNullOrWhiteSpace(sbatchExportVariable) ? null : sbatchExportVariable.Trim())
            ?? options.ExtraDirectives.LastOrDefault(d => d.StartsWith("--export=", StringComparison.Ordinal))?["--export=".Length..];
        if (site is null) return "--export=ALL";
        var items = site.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (items.Any(i => i.Equals("ALL", StringComparison.OrdinalIgnoreCase))) return "--export=" + site;
        items.RemoveAll(i => i.Equals("NONE", StringComparison.OrdinalIgnoreCase) || i.Equals("NIL", StringComparison.OrdinalIgnoreCase));
        items.AddRange(submission.SecretEnvironment.Select(kv => kv.Key).Where(n => !items.Contains(n, StringComparer.Ordinal)));
        return "--export=" + string.Join(',', items);
    }

    /// <summary>
    /// The sbatch options of an array and of a dependency: <c>--array=0-99:2%4</c>;
    /// <c>--dependency=afterok:123:124_7</c> with <c>--kill-on-invalid-dep=yes</c>, so a job whose
    /// dependency can never be met is ended by Slurm instead of pending for ever.
    /// </summary>
    public static IReadOnlyList<string> ArrayOptions(JobSubmission submission)
    {
        var list = new List<string>();
        if (submission.ArrayIndex is { } array)
        {
            list.Add("--array=" + array.Text + (submission.ThrottleLimit is { } n ? string.Create(CultureInfo.InvariantCulture, $"%{n}") : ""));
        }

        if (submission.Dependency is { } dependency)
        {
            var type = dependency.Condition switch
            {
                DependencyCondition.AfterAny => "afterany",
                DependencyCondition.AfterNotOk => "afternotok",
                _ => "afterok",
            };
            list.Add("--dependency=" + type + ":" + string.Join(':', dependency.ParentIds));
            list.Add("--kill-on-invalid-dep=yes");
        }

        return list;
    }

    /// <summary>
    /// The sbatch options of a resource request, as the seed maps them:
    /// <c>{cpu: 4, memory_gb: 16, time_hours: 2}</c> → <c>--cpus-per-task=4 --mem=16G --time=02:00:00</c>;
    /// gpu → <c>--gpus=N</c> or <c>--gres=gpu:N</c>.
    /// </summary>
    public static IReadOnlyList<string> ResourceOptions(ResourceRequirements resources, SlurmGpuDirective gpuDirective)
    {
        var list = new List<string>();
        if (resources.Cpu is { } cpu) list.Add(string.Create(CultureInfo.InvariantCulture, $"--cpus-per-task={cpu}"));
        if (resources.MemoryGb is { } mem) list.Add("--mem=" + SlurmMemory.FormatMem(mem));
        if (resources.TimeHours is { } hours) list.Add("--time=" + SlurmTime.FormatTimeLimit(hours));
        if (resources.Gpu is { } gpu)
        {
            list.Add(gpuDirective == SlurmGpuDirective.Gres
                ? string.Create(CultureInfo.InvariantCulture, $"--gres=gpu:{gpu}")
                : string.Create(CultureInfo.InvariantCulture, $"--gpus={gpu}"));
        }

        return list;
    }

    /// <summary>
    /// A job name Slurm and every tool that prints it handle: letters, digits, <c>. _ -</c>;
    /// any other character becomes <c>_</c>; at most <see cref="MaxJobNameLength"/> characters;
    /// never empty.
    /// </summary>
    public static string SanitizeJobName(string? name)
    {
        var sb = new StringBuilder();
        foreach (var c in (name ?? "").Trim())
        {
            if (sb.Length == MaxJobNameLength) break;
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }

        return sb.Length == 0 ? "ccat-job" : sb.ToString();
    }

    /// <summary>
    /// One shell word that expands to exactly <paramref name="value"/>, built by
    /// <see cref="ShellQuoting.Quote"/>. sbatch refuses any script that contains the two bytes
    /// CR LF ("DOS line breaks"), wherever they are; so a carriage return is written as
    /// <c>"$(printf '\r')"</c> between quoted pieces, and the word still expands to the same text.
    /// </summary>
    public static string Word(string value)
    {
        if (!value.Contains('\r'))
        {
            return ShellQuoting.Quote(value);
        }

        const string CarriageReturn = "\"$(printf '\\r')\"";
        return string.Join(CarriageReturn, value.Split('\r').Select(ShellQuoting.Quote));
    }
}
