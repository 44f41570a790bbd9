using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// A job's memory cgroup, <c>&lt;memory hierarchy&gt;/ccat-workflow/&lt;job id&gt;</c>, made when
/// the job asks for memory (<c>memory_gb</c>) and the memory controller's hierarchy is writable
/// (root, or a delegated tree): cgroup v1 (<c>memory.limit_in_bytes</c>, and
/// <c>memory.memsw.limit_in_bytes</c> where swap is accounted) or cgroup v2 (<c>memory.max</c>,
/// <c>memory.swap.max</c> 0). The kernel then enforces the request as Slurm and Kubernetes do:
/// past it, it reclaims the job's cache and then OOM-kills one of its processes, and it keeps
/// the evidence (<see cref="ReadEvidence"/>) from which the runner reads the job's peak and
/// whether it was killed for memory.
/// <para>
/// Only the job is charged, not its runner (<see cref="JobLimitCgroup"/>), so the kernel never
/// picks the runner to kill and its memory never counts against the job.
/// </para>
/// </summary>
internal sealed class JobMemoryCgroup : JobLimitCgroup
{
    private JobMemoryCgroup(CgroupHierarchy hierarchy, string path, long limitBytes)
        : base(hierarchy, path, "memory")
    {
        LimitBytes = limitBytes;
    }

    /// <summary>The memory limit set on it, in bytes.</summary>
    public long LimitBytes { get; }

    /// <summary>
    /// Makes the job's memory cgroup with a limit of <paramref name="limitBytes"/>. Returns it,
    /// or null with the reason when none can be made here (no memory controller, not writable).
    /// </summary>
    public static JobMemoryCgroup? TryCreate(string jobId, long limitBytes, out string? why, string mount = CgroupFiles.Mount)
    {
        if (CgroupFiles.MemoryHierarchy(mount) is not { } hierarchy)
        {
            why = $"no cgroup memory controller under {mount}";
            return null;
        }

        var limit = limitBytes.ToString(CultureInfo.InvariantCulture);
        var path = TryMake(hierarchy, jobId, "memory", folder =>
        {
            if (hierarchy.Version == 1)
            {
                File.WriteAllText(System.IO.Path.Combine(folder, "memory.limit_in_bytes"), limit);
                // With swap accounting, memory + swap too: the job may not spill past its request.
                var memsw = System.IO.Path.Combine(folder, "memory.memsw.limit_in_bytes");
                if (File.Exists(memsw)) File.WriteAllText(memsw, limit);
            }
            else
            {
                File.WriteAllText(System.IO.Path.Combine(folder, "memory.max"), limit);
                var swap = System.IO.Path.Combine(folder, "memory.swap.max");
                if (File.Exists(swap)) File.WriteAllText(swap, "0");
            }
        }, out why);
        return path is null ? null : new JobMemoryCgroup(hierarchy, path, limitBytes);
    }

    /// <summary>The kernel's counters for the job (read once its processes have ended).</summary>
    public JobMemoryEvidence ReadEvidence()
    {
        string F(string name) => System.IO.Path.Combine(Path, name);
        if (Version == 1)
        {
            return new JobMemoryEvidence(
                CgroupFiles.ParseNumber(CgroupFiles.ReadText(F("memory.max_usage_in_bytes"))),
                CgroupFiles.ParseKeyed(CgroupFiles.ReadText(F("memory.oom_control")), "oom_kill"),
                CgroupFiles.ParseNumber(CgroupFiles.ReadText(F("memory.failcnt"))));
        }

        var events = CgroupFiles.ReadText(F("memory.events"));
        return new JobMemoryEvidence(
            CgroupFiles.ParseNumber(CgroupFiles.ReadText(F("memory.peak"))),
            CgroupFiles.ParseKeyed(events, "oom_kill"),
            CgroupFiles.ParseKeyed(events, "max"));
    }

    /// <summary>The pids in the job's memory cgroup (empty when there is none).</summary>
    public static List<int> Members(string jobId, string mount = CgroupFiles.Mount) =>
        CgroupFiles.MemoryHierarchy(mount) is { } h ? JobCgroup.ReadProcs(System.IO.Path.Combine(PathOf(h, jobId), "cgroup.procs")) : [];

    /// <summary>Removes an empty job memory cgroup left by a runner that died.</summary>
    public static void TryRemove(string jobId, string mount = CgroupFiles.Mount)
    {
        if (CgroupFiles.MemoryHierarchy(mount) is { } h) TryRemoveFolder(PathOf(h, jobId));
    }
}
