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
/// Only the job is charged, not its runner: the runner enters the cgroup just to start the
/// job's shell (which inherits it) and goes back to its own cgroup at once, so the kernel never
/// picks the runner to kill and its memory never counts against the job.
/// </para>
/// </summary>
internal sealed class JobMemoryCgroup
{
    private readonly CgroupHierarchy _hierarchy;
    private string? _home;

    private JobMemoryCgroup(CgroupHierarchy hierarchy, string path, long limitBytes)
    {
        _hierarchy = hierarchy;
        Path = path;
        LimitBytes = limitBytes;
    }

    /// <summary>The cgroup's folder.</summary>
    public string Path { get; }

    /// <summary>The memory limit set on it, in bytes.</summary>
    public long LimitBytes { get; }

    /// <summary>The cgroup version of its hierarchy (1 or 2).</summary>
    public int Version => _hierarchy.Version;

    /// <summary>The job's memory cgroup folder in <paramref name="hierarchy"/> (it may not exist).</summary>
    public static string PathOf(CgroupHierarchy hierarchy, string jobId) => System.IO.Path.Combine(hierarchy.Root, JobCgroup.Parent, jobId);

    /// <summary>
    /// Makes the job's memory cgroup with a limit of <paramref name="limitBytes"/>. Returns it,
    /// or null with the reason when none can be made here (no memory controller, not writable).
    /// </summary>
    public static JobMemoryCgroup? TryCreate(string jobId, long limitBytes, out string? why, string mount = CgroupFiles.Mount)
    {
        why = null;
        if (CgroupFiles.MemoryHierarchy(mount) is not { } hierarchy)
        {
            why = $"no cgroup memory controller under {mount}";
            return null;
        }

        var path = PathOf(hierarchy, jobId);
        try
        {
            var parent = System.IO.Path.Combine(hierarchy.Root, JobCgroup.Parent);
            Directory.CreateDirectory(parent);
            if (hierarchy.Version == 2)
            {
                // v2 hands a controller down only where each parent enables it for its children.
                EnableMemory(hierarchy.Root);
                EnableMemory(parent);
            }

            Directory.CreateDirectory(path);
            var limit = limitBytes.ToString(CultureInfo.InvariantCulture);
            if (hierarchy.Version == 1)
            {
                File.WriteAllText(System.IO.Path.Combine(path, "memory.limit_in_bytes"), limit);
                // With swap accounting, memory + swap too: the job may not spill past its request.
                var memsw = System.IO.Path.Combine(path, "memory.memsw.limit_in_bytes");
                if (File.Exists(memsw)) File.WriteAllText(memsw, limit);
            }
            else
            {
                File.WriteAllText(System.IO.Path.Combine(path, "memory.max"), limit);
                var swap = System.IO.Path.Combine(path, "memory.swap.max");
                if (File.Exists(swap)) File.WriteAllText(swap, "0");
            }

            return new JobMemoryCgroup(hierarchy, path, limitBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = e.Message;
            TryRemoveFolder(path);
            return null;
        }
    }

    private static void EnableMemory(string cgroup)
    {
        var control = System.IO.Path.Combine(cgroup, "cgroup.subtree_control");
        if (CgroupFiles.ReadText(control)?.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Contains("memory") == true) return;
        File.WriteAllText(control, "+memory");
    }

    /// <summary>
    /// Moves the calling process into the cgroup, so that the next process it starts is born
    /// in it; <see cref="Leave"/> right after the start. False (with the reason) when the move failed.
    /// </summary>
    public bool Enter(out string? why)
    {
        why = null;
        try
        {
            _home = CgroupFiles.ReadText("/proc/self/cgroup") is { } text
                ? CgroupFiles.CgroupOf(text, _hierarchy.Version == 1 ? "memory" : null)
                : null;
            File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.procs"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = e.Message;
            return false;
        }
    }

    /// <summary>Moves the calling process back to the cgroup it came from (else the hierarchy's root). False when it could not.</summary>
    public bool Leave()
    {
        var self = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        foreach (var target in new[] { _home, "/" })
        {
            if (target is null) continue;
            try
            {
                File.WriteAllText(System.IO.Path.Combine(_hierarchy.Root + target.TrimEnd('/'), "cgroup.procs"), self);
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // its home is gone or closed to us: the root, then
            }
        }

        return false;
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

    /// <summary>Removes the cgroup once its processes have ended (the kernel refuses while any is left).</summary>
    public void Remove()
    {
        for (var i = 0; i < 20 && Directory.Exists(Path); i++)
        {
            if (TryRemoveFolder(Path)) return;
            Thread.Sleep(50); // the last member's exit is still being torn down
        }
    }

    /// <summary>The pids in the job's memory cgroup (empty when there is none).</summary>
    public static List<int> Members(string jobId, string mount = CgroupFiles.Mount) =>
        CgroupFiles.MemoryHierarchy(mount) is { } h ? JobCgroup.ReadProcs(System.IO.Path.Combine(PathOf(h, jobId), "cgroup.procs")) : [];

    /// <summary>Removes an empty job memory cgroup left by a runner that died.</summary>
    public static void TryRemove(string jobId, string mount = CgroupFiles.Mount)
    {
        if (CgroupFiles.MemoryHierarchy(mount) is { } h) TryRemoveFolder(PathOf(h, jobId));
    }

    private static bool TryRemoveFolder(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
