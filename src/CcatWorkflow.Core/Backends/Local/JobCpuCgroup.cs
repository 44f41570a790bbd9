using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// A job's CPU cgroup, <c>&lt;cpu hierarchy&gt;/ccat-workflow/&lt;job id&gt;</c>, made when the job
/// asks for CPUs (<c>cpu</c>) and the CPU controller's hierarchy is writable (root, or a
/// delegated tree): cgroup v1 (<c>cpu.cfs_period_us</c> and <c>cpu.cfs_quota_us</c>, in the
/// <c>cpu</c> mount or a co-mounted <c>cpu,cpuacct</c>) or cgroup v2 (<c>cpu.max</c>). The kernel
/// then lets the job's processes together use at most <c>cpu</c> CPUs' worth of time in each
/// period, as Slurm's and Kubernetes' CPU limits do, and counts in <c>cpu.stat</c> how often
/// and how long it held them back (<see cref="ReadEvidence"/>).
/// </summary>
internal sealed class JobCpuCgroup : JobLimitCgroup
{
    /// <summary>The enforcement period, in microseconds: the kernel's default (100 ms).</summary>
    public const long PeriodMicros = 100_000;

    /// <summary>The smallest quota the kernel accepts, in microseconds (1 ms).</summary>
    public const long MinQuotaMicros = 1_000;

    private JobCpuCgroup(CgroupHierarchy hierarchy, string path, long quotaMicros)
        : base(hierarchy, path, "cpu")
    {
        QuotaMicros = quotaMicros;
    }

    /// <summary>The quota set on it: CPU microseconds per <see cref="PeriodMicros"/>.</summary>
    public long QuotaMicros { get; }

    /// <summary>
    /// The quota for <paramref name="cpus"/> CPUs (fractions allowed: 0.5 is half of one CPU):
    /// <paramref name="cpus"/> × the period, rounded up so a request is never cut, and at least
    /// the kernel's minimum.
    /// </summary>
    public static long Quota(double cpus, long periodMicros = PeriodMicros) =>
        Math.Max(MinQuotaMicros, (long)Math.Ceiling(cpus * periodMicros));

    /// <summary>The v2 <c>cpu.max</c> text for a quota: "quota period".</summary>
    public static string CpuMaxText(long quotaMicros, long periodMicros = PeriodMicros) =>
        quotaMicros.ToString(CultureInfo.InvariantCulture) + " " + periodMicros.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Makes the job's CPU cgroup with a quota of <paramref name="cpus"/> CPUs. Returns it, or
    /// null with the reason when none can be made here (no CPU controller, not writable).
    /// <paramref name="mountsText"/> stands in for <c>/proc/self/mounts</c> (tests).
    /// </summary>
    public static JobCpuCgroup? TryCreate(string jobId, double cpus, out string? why, string? mountsText = null)
    {
        if (CgroupFiles.CpuHierarchy(mountsText) is not { } hierarchy)
        {
            why = "no cgroup cpu controller is mounted";
            return null;
        }

        var quota = Quota(cpus);
        var path = TryMake(hierarchy, jobId, "cpu", folder =>
        {
            if (hierarchy.Version == 1)
            {
                // The period first: the kernel checks the quota against the period in force.
                File.WriteAllText(System.IO.Path.Combine(folder, "cpu.cfs_period_us"), PeriodMicros.ToString(CultureInfo.InvariantCulture));
                File.WriteAllText(System.IO.Path.Combine(folder, "cpu.cfs_quota_us"), quota.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                File.WriteAllText(System.IO.Path.Combine(folder, "cpu.max"), CpuMaxText(quota));
            }
        }, out why);
        return path is null ? null : new JobCpuCgroup(hierarchy, path, quota);
    }

    /// <summary>The kernel's throttling counters for the job (read once its processes have ended, before <see cref="JobLimitCgroup.Remove"/>).</summary>
    public JobCpuEvidence ReadEvidence() =>
        JobCpuEvidence.Parse(CgroupFiles.ReadText(System.IO.Path.Combine(Path, "cpu.stat")), Version);

    /// <summary>The pids in the job's CPU cgroup (empty when there is none).</summary>
    public static List<int> Members(string jobId) =>
        CgroupFiles.CpuHierarchy() is { } h ? JobCgroup.ReadProcs(System.IO.Path.Combine(PathOf(h, jobId), "cgroup.procs")) : [];

    /// <summary>Removes an empty job CPU cgroup left by a runner that died.</summary>
    public static void TryRemove(string jobId)
    {
        if (CgroupFiles.CpuHierarchy() is { } h) TryRemoveFolder(PathOf(h, jobId));
    }
}
