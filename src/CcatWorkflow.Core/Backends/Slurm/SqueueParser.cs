namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>One job as squeue reports it (the controller's live view).</summary>
/// <param name="JobId">%i: <c>123</c>, or <c>123_4</c> for an array task (the module passes <c>--array</c>).</param>
/// <param name="State">%T: the long state name.</param>
/// <param name="Reason">%r: why it waits (None when it does not).</param>
/// <param name="TimeUsed">%M: run time so far.</param>
/// <param name="Submit">%V: submit time.</param>
/// <param name="Start">%S: start time, or the expected start of a pending job.</param>
/// <param name="WorkDir">%Z: the working directory.</param>
/// <param name="Name">%j: the job name.</param>
public sealed record SqueueJob(string JobId, string State, string? Reason, TimeSpan? TimeUsed,
    DateTimeOffset? Submit, DateTimeOffset? Start, string? WorkDir, string? Name);

/// <summary>
/// Reads <c>squeue --noheader --format=</c><see cref="Format"/> output. The format is always
/// explicit (SQUEUE_FORMAT cannot change it), has no field widths (nothing is truncated), and
/// puts the free-text name last.
/// </summary>
public static class SqueueParser
{
    /// <summary>The format the module asks for.</summary>
    public const string Format = "%i|%T|%r|%M|%V|%S|%Z|%j";

    private const int FieldCount = 8;

    /// <summary>Parses the rows; lines that are not rows of this format are skipped.</summary>
    public static IReadOnlyList<SqueueJob> Parse(string output)
    {
        var jobs = new List<SqueueJob>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var f = line.Split('|', FieldCount);
            if (f.Length < FieldCount) continue;
            var id = f[0].Trim();
            if (id.Length == 0 || !char.IsAsciiDigit(id[0])) continue;
            // Without --array squeue prints pending elements compressed (123_[8-99%4]): one row each.
            jobs.AddRange(SlurmArrayIds.Expand(id).Select(element => new SqueueJob(
                element,
                f[1].Trim(),
                string.IsNullOrWhiteSpace(f[2]) ? null : f[2].Trim(),
                SlurmTime.ParseDuration(f[3]),
                SlurmTime.ParseTimestamp(f[4]),
                SlurmTime.ParseTimestamp(f[5]),
                string.IsNullOrWhiteSpace(f[6]) ? null : f[6].Trim(),
                f[7])));
        }

        return jobs;
    }
}
