using System.Globalization;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// The script's sbatch options as slurmrestd job properties. slurmrestd 22.05 ignores the
/// script's <c>#SBATCH</c> lines (checked on the test cluster: name, comment and time limit were
/// not applied), so every option the module writes there — and every SLURM_EXTRA_DIRECTIVES
/// option — must have a property; one that has none is refused before anything is submitted.
/// </summary>
public static class SlurmRestJobProperties
{
    /// <summary>The PATH the job starts with: REST sends no environment of the caller's machine.</summary>
    public const string JobPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// The properties for <paramref name="directives"/> (<c>--name=value</c> as the script carries
    /// them). The environment is PATH plus the job's secrets: the script sets everything else.
    /// </summary>
    public static SlurmApi.JobProperties From(IReadOnlyList<string> directives, IEnumerable<KeyValuePair<string, string>> secrets)
    {
        ArgumentNullException.ThrowIfNull(directives);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["PATH"] = JobPath };
        foreach (var (name, value) in secrets ?? []) environment[name] = value;
        var p = new SlurmApi.JobProperties { Environment = environment };
        foreach (var directive in directives)
        {
            var eq = directive.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? directive : directive[..eq];
            var value = eq < 0 ? "" : directive[(eq + 1)..];
            p = name switch
            {
                "--job-name" or "-J" => p with { Name = value },
                "--comment" => p with { Comment = value },
                "--chdir" or "-D" => p with { CurrentWorkingDirectory = value },
                "--output" or "-o" => p with { StandardOutput = value },
                "--error" or "-e" => p with { StandardError = value },
                "--array" or "-a" => p with { Array = value },
                "--dependency" or "-d" => p with { Dependency = value },
                "--kill-on-invalid-dep" => p with { KillOnInvalidDependency = !value.Equals("no", StringComparison.OrdinalIgnoreCase) },
                "--cpus-per-task" or "-c" => p with { CpusPerTask = Integer(directive, value) },
                "--mem" => p with { MemoryPerNode = Mebibytes(directive, value) },
                "--mem-per-cpu" => p with { MemoryPerCpu = Mebibytes(directive, value) },
                "--time" or "-t" => p with { TimeLimit = Minutes(directive, value) },
                "--gpus" or "-G" => p with { Gpus = value },
                "--gres" => p with { Gres = value },
                "--partition" or "-p" => p with { Partition = value },
                "--account" or "-A" => p with { Account = value },
                "--qos" or "-q" => p with { Qos = value },
                "--constraint" or "-C" => p with { Constraints = value },
                "--reservation" => p with { Reservation = value },
                "--ntasks" or "-n" => p with { Tasks = Integer(directive, value) },
                "--nice" => p with { Nice = Integer(directive, value) },
                "--wckey" => p with { Wckey = value },
                "--licenses" or "-L" => p with { Licenses = value },
                "--mail-type" => p with { MailType = value },
                "--mail-user" => p with { MailUser = value },
                "--requeue" => p with { Requeue = true },
                "--no-requeue" => p with { Requeue = false },
                "--exclusive" => p with { Exclusive = value.Length == 0 ? "true" : value },
                // The environment is explicit over REST (PATH and the secrets); there is nothing to export.
                "--export" => p,
                _ => throw new CcatException(CcatErrorId.InvalidConfiguration,
                    $"The sbatch option '{directive}' has no slurmrestd job property the module knows, and slurmrestd ignores #SBATCH lines: remove it from SLURM_EXTRA_DIRECTIVES, or use SLURM_TRANSPORT=ssh or cli."),
            };
        }

        return p;
    }

    private static long Integer(string directive, string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw Bad(directive, "a whole number");

    // --mem=1536M, 16G, 100 (MiB), 1T → MiB.
    private static long Mebibytes(string directive, string value)
    {
        var text = value.Trim();
        var unit = text.Length > 0 && char.IsAsciiLetter(text[^1]) ? char.ToUpperInvariant(text[^1]) : 'M';
        var digits = char.IsAsciiLetter(text.LastOrDefault()) ? text[..^1] : text;
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) throw Bad(directive, "a memory size (e.g. 1536M, 16G)");
        return unit switch
        {
            'K' => Math.Max(1, (n + 1023) / 1024),
            'M' => n,
            'G' => n * 1024,
            'T' => n * 1024 * 1024,
            _ => throw Bad(directive, "a memory size (e.g. 1536M, 16G)"),
        };
    }

    // --time=1-01:00:00, 02:00:00, 90 (minutes) → whole minutes, rounded up.
    private static long Minutes(string directive, string value)
    {
        if (value.Equals("infinite", StringComparison.OrdinalIgnoreCase) || value.Equals("unlimited", StringComparison.OrdinalIgnoreCase)) return 0xFFFFFFFE;
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var plain)) return plain;
        var span = SlurmTime.ParseDuration(value) ?? throw Bad(directive, "a time limit (e.g. 02:00:00, 1-01:00:00)");
        return (long)Math.Ceiling(span.TotalMinutes);
    }

    private static CcatException Bad(string directive, string what) =>
        new(CcatErrorId.InvalidConfiguration, $"The sbatch option '{directive}' is not {what}; slurmrestd needs it as a job property.");
}
