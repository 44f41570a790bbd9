using System.Text.RegularExpressions;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Slurm job ids as the module accepts and reads them: <c>123</c>, array tasks <c>123_4</c>,
/// heterogeneous components <c>123+0</c>; sacct's step rows add <c>.batch</c>, <c>.extern</c>, <c>.0</c>….
/// </summary>
public static partial class SlurmJobId
{
    [GeneratedRegex(@"^[0-9]{1,10}(_[0-9]{1,10})?(\+[0-9]{1,5})?$", RegexOptions.CultureInvariant)]
    private static partial Regex JobIdPattern();

    /// <summary>True when <paramref name="id"/> is a job id the commands can be given (no step, no array range).</summary>
    public static bool IsValid(string? id) => id is not null && JobIdPattern().IsMatch(id);

    /// <summary>
    /// Splits a sacct JobID into the job part and the step part:
    /// <c>123.batch</c> → (<c>123</c>, <c>batch</c>); <c>123_4</c> → (<c>123_4</c>, null).
    /// </summary>
    public static (string Job, string? Step) SplitStep(string jobId)
    {
        var dot = jobId.IndexOf('.');
        return dot < 0 ? (jobId, null) : (jobId[..dot], jobId[(dot + 1)..]);
    }

    /// <summary>
    /// The output of <c>sbatch --parsable</c>: <c>id</c> or <c>id;cluster</c>, possibly after lines
    /// of other text from site wrappers; the id is on the last non-empty line. Null when no id is there.
    /// </summary>
    public static string? ParseSbatchOutput(string stdout)
    {
        var line = stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (line is null) return null;
        var id = line.Split(';')[0].Trim();
        return IsValid(id) ? id : null;
    }
}
