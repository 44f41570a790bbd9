using System.Globalization;
using System.Text;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// Slurm's file name patterns (<c>%j</c>, <c>%A</c>, <c>%a</c>, <c>%x</c>, <c>%u</c>, <c>%%</c>) as
/// sbatch expands them: slurmrestd returns a job's output path unexpanded, squeue's and scontrol's
/// are expanded.
/// </summary>
public static class SlurmFilePattern
{
    /// <summary>Expands <paramref name="pattern"/> for <paramref name="job"/>; unknown patterns stay as written.</summary>
    public static string Expand(string pattern, SlurmApi.Job job)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(job);
        var sb = new StringBuilder(pattern.Length + 16);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '%' || i + 1 >= pattern.Length)
            {
                sb.Append(pattern[i]);
                continue;
            }

            var c = pattern[++i];
            var value = c switch
            {
                'j' => Number(job.JobId),
                'A' => Number(job.ArrayJobId is > 0 ? job.ArrayJobId : job.JobId),
                'a' => job.ArrayTaskId is { } t ? Number(t) : "4294967294",
                'x' => job.Name ?? "",
                'u' => job.UserName ?? "",
                '%' => "%",
                _ => null,
            };
            if (value is null) sb.Append('%').Append(c);
            else sb.Append(value);
        }

        return sb.ToString();
    }

    private static string Number(long? n) => (n ?? 0).ToString(CultureInfo.InvariantCulture);
}
