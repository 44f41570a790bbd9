using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// A job's own cgroup, <c>&lt;pids hierarchy&gt;/ccat-workflow/&lt;job id&gt;</c>, where one can be made
/// (cgroup v1 with a writable <c>pids</c> hierarchy: root, or a delegated tree). The runner moves
/// itself in before it starts the job, so every process of the job — whatever it does with
/// sessions, parents or its environment (<c>setsid env -i</c>) — stays a member; only someone
/// allowed to write the cgroup can add or remove one, so membership is a mark no other user can
/// forge. Where none can be made, the runner's inherited marker fd does the same job less
/// completely (see <see cref="JobSessionKiller"/>).
/// </summary>
internal static class JobCgroup
{
    /// <summary>The folder under which job cgroups are made, in each hierarchy.</summary>
    public const string Parent = "ccat-workflow";

    /// <summary>The cgroup v1 pids hierarchy.</summary>
    public const string Hierarchy = "/sys/fs/cgroup/pids";

    /// <summary>The job's cgroup folder (it may not exist).</summary>
    public static string PathOf(string jobId) => Path.Combine(Hierarchy, Parent, jobId);

    /// <summary>
    /// Makes the job's cgroup and moves the calling process into it. Returns its path, or null
    /// (with the reason) when no cgroup can be made here.
    /// </summary>
    public static string? TryEnter(string jobId, out string? why)
    {
        why = null;
        try
        {
            if (!File.Exists(Path.Combine(Hierarchy, "cgroup.procs")))
            {
                why = $"no cgroup v1 pids hierarchy at {Hierarchy}";
                return null;
            }

            var path = PathOf(jobId);
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "cgroup.procs"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = e.Message;
            return null;
        }
    }

    /// <summary>Moves the calling process back to the hierarchy's root and removes the job's cgroup (when empty).</summary>
    public static void TryLeaveAndRemove(string jobId)
    {
        try
        {
            File.WriteAllText(Path.Combine(Hierarchy, "cgroup.procs"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            Directory.Delete(PathOf(jobId));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a member that survived KILL (uninterruptible sleep) keeps it; harmless
        }
    }

    /// <summary>Removes the empty job cgroups (pids, memory, cpu) left by a runner that died.</summary>
    public static void TryRemove(string jobId)
    {
        try
        {
            if (Directory.Exists(PathOf(jobId))) Directory.Delete(PathOf(jobId));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        JobMemoryCgroup.TryRemove(jobId);
        JobCpuCgroup.TryRemove(jobId);
    }

    /// <summary>
    /// The pids in the job's cgroups (empty when there is none): its pids cgroup, its memory
    /// cgroup (<see cref="JobMemoryCgroup"/>) and its CPU cgroup (<see cref="JobCpuCgroup"/>),
    /// which only root (or the delegated tree's owner) can join either.
    /// </summary>
    public static List<int> Members(string jobId)
    {
        var list = ReadProcs(Path.Combine(PathOf(jobId), "cgroup.procs"));
        foreach (var pid in JobMemoryCgroup.Members(jobId).Concat(JobCpuCgroup.Members(jobId)))
        {
            if (!list.Contains(pid)) list.Add(pid);
        }

        return list;
    }

    /// <summary>
    /// The pids a <c>cgroup.procs</c> file lists (empty when it cannot be read). Read through a
    /// small buffer without a cap (a job may have any number of processes) and parsed in place:
    /// the runner calls this at every sample, so it must not allocate by the file's size.
    /// A kernel file under the root-owned cgroup mount: no symlink or FIFO can stand in for it.
    /// </summary>
    public static List<int> ReadProcs(string procsFile)
    {
        var list = new List<int>();
        try
        {
            using var stream = new FileStream(procsFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
            Span<byte> buffer = stackalloc byte[4096];
            var pid = 0;
            var digits = 0;
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                foreach (var b in buffer[..n])
                {
                    if (b is >= (byte)'0' and <= (byte)'9' && digits < 10)
                    {
                        pid = pid * 10 + (b - '0');
                        digits++;
                    }
                    else
                    {
                        if (digits > 0) list.Add(pid);
                        pid = 0;
                        digits = 0;
                    }
                }
            }

            if (digits > 0) list.Add(pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return list;
    }

    /// <summary>
    /// What a job submitted here gets (shown by Get-CcatConfiguration as LOCAL_CGROUP_IN_USE):
    /// "v1 pids+memory+cpu", "v1 pids", "v2 memory+cpu" … or "none", and where (or why not).
    /// Writable means: this process may make folders there (root, or a delegated tree).
    /// </summary>
    public static (string Kind, string Location) Describe(string mount = CgroupFiles.Mount)
    {
        var parts = new List<(string, int)>();
        var where = new List<string>();
        if (File.Exists(Path.Combine(Hierarchy, "cgroup.procs")) && CgroupNative.IsWritable(Hierarchy))
        {
            parts.Add(("pids", 1));
            where.Add(Path.Combine(Hierarchy, Parent));
        }

        foreach (var (controller, hierarchy) in new[] { ("memory", CgroupFiles.MemoryHierarchy(mount)), ("cpu", CgroupFiles.CpuHierarchy()) })
        {
            if (hierarchy is null || !CgroupNative.IsWritable(hierarchy.Root)) continue;
            parts.Add((controller, hierarchy.Version));
            var folder = Path.Combine(hierarchy.Root, Parent);
            if (!where.Contains(folder)) where.Add(folder);
        }

        return parts.Count == 0
            ? (UseText([]), $"no writable cgroup hierarchy under {mount}: job memory limits are checked by sampling, not enforced by the kernel, and cpu is not limited")
            : (UseText(parts), string.Join(", ", where));
    }

    /// <summary>
    /// How the record's <c>cgroup</c> field and LOCAL_CGROUP_IN_USE spell a set of job cgroups,
    /// each a controller and its cgroup version: "v1 pids+memory+cpu", "v2 memory+cpu", one of
    /// another version than the first marked "memory (v2)"; "none" for none.
    /// </summary>
    public static string UseText(IReadOnlyList<(string Controller, int Version)> parts)
    {
        if (parts.Count == 0) return "none";
        var version = parts[0].Version;
        return $"v{version} " + string.Join('+', parts.Select(p => p.Version == version ? p.Controller : $"{p.Controller} (v{p.Version})"));
    }
}
