using System.Globalization;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Reads <c>sacct --parsable2 --noheader --format=</c><see cref="Format"/> output. The format is
/// always given explicitly (a user's SACCT_FORMAT cannot change the columns), the free-text
/// columns come last so a <c>|</c> inside them cannot shift the others, and timestamps are epoch
/// seconds (the module runs sacct with <c>SLURM_TIME_FORMAT=%s</c>).
/// </summary>
public static class SacctParser
{
    /// <summary>The columns the module asks for, in order.</summary>
    public const string Format =
        "JobID,JobIDRaw,State,ExitCode,Submit,Start,End,ElapsedRaw,TotalCPU,CPUTimeRAW,MaxRSS,AllocCPUS,Reason,WorkDir,JobName,Comment";

    private const int FieldCount = 16;

    /// <summary>
    /// Parses the output into jobs, steps folded into their job, in the order the jobs appear.
    /// Lines that are not rows of this format (warnings, blank lines) are skipped.
    /// </summary>
    public static IReadOnlyList<SacctJob> Parse(string output)
    {
        var order = new List<string>();
        var rows = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var steps = new Dictionary<string, List<string[]>>(StringComparer.Ordinal);
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var f = line.Split('|');
            if (f.Length < FieldCount) continue;
            if (f.Length > FieldCount)
            {
                // A '|' inside a name or comment: WorkDir stays put, Comment is the last field, the name takes the rest.
                f = [.. f[..14], string.Join('|', f[14..^1]), f[^1]];
            }

            var (job, step) = SlurmJobId.SplitStep(f[0]);
            if (job.Length == 0 || !char.IsAsciiDigit(job[0])) continue;
            if (step is null)
            {
                if (!rows.ContainsKey(job)) order.Add(job);
                rows[job] = f;
            }
            else
            {
                if (!steps.TryGetValue(job, out var list)) steps[job] = list = [];
                list.Add(f);
            }
        }

        var jobs = new List<SacctJob>(order.Count);
        foreach (var id in order)
        {
            var f = rows[id];
            var stepRows = steps.GetValueOrDefault(id) ?? [];
            long? maxRss = null;
            var stepCpu = TimeSpan.Zero;
            var anyStepCpu = false;
            foreach (var s in stepRows)
            {
                if (SlurmMemory.ParseBytes(s[10]) is { } rss && (maxRss is null || rss > maxRss)) maxRss = rss;
                if (SlurmTime.ParseDuration(s[8]) is { } cpu)
                {
                    stepCpu += cpu;
                    anyStepCpu = true;
                }
            }

            // MaxRSS never appears on the allocation row in the versions we know; take it if one does.
            if (SlurmMemory.ParseBytes(f[10]) is { } own && (maxRss is null || own > maxRss)) maxRss = own;

            jobs.Add(new SacctJob
            {
                JobId = id,
                JobIdRaw = Text(f[1]),
                State = f[2].Trim(),
                ExitCode = SlurmExitCode.Parse(f[3]),
                Submit = SlurmTime.ParseTimestamp(f[4]),
                Start = SlurmTime.ParseTimestamp(f[5]),
                End = SlurmTime.ParseTimestamp(f[6]),
                ElapsedSeconds = Long(f[7]),
                TotalCpu = SlurmTime.ParseDuration(f[8]) ?? (anyStepCpu ? stepCpu : null),
                CpuTimeRawSeconds = Long(f[9]),
                MaxRssBytes = maxRss,
                AllocCpus = (int?)Long(f[11]),
                Reason = Text(f[12]),
                WorkDir = Text(f[13]),
                JobName = Text(f[14]),
                Comment = Text(f[15]),
                StepCount = stepRows.Count,
            });
        }

        return ExpandCompressed(jobs);
    }

    // The pending part of an array is one row "123_[8-99]" until its elements start: one row per
    // element instead, pending like the row (the raw id belongs to one element only, so it is dropped).
    private static IReadOnlyList<SacctJob> ExpandCompressed(List<SacctJob> jobs)
    {
        if (!jobs.Any(j => SlurmArrayIds.IsCompressed(j.JobId))) return jobs;
        var seen = jobs.Where(j => !SlurmArrayIds.IsCompressed(j.JobId)).Select(j => j.JobId).ToHashSet(StringComparer.Ordinal);
        var expanded = new List<SacctJob>(jobs.Count);
        foreach (var job in jobs)
        {
            if (!SlurmArrayIds.IsCompressed(job.JobId))
            {
                expanded.Add(job);
                continue;
            }

            // An element with a row of its own is described by that row, not by the compressed one.
            expanded.AddRange(SlurmArrayIds.Expand(job.JobId).Where(seen.Add).Select(job.ForUnsplitElement));
        }

        return expanded;
    }

    private static string? Text(string s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static long? Long(string s) =>
        long.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
}
